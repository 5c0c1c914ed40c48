"""The runs' records in LOG_DIR, as status, doctor and the event log read them: each job's
last-<job>.json, and whether a run that said it started is still alive."""

import json
from pathlib import Path

from helper import heartbeat, workers
from helper.settings import Settings


def read_document(path: Path) -> dict | None:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and document else None


def alive(document: dict | None, settings: Settings) -> bool:
    """Whether the run a `running` document names is still in progress: its pid, started when
    the document says. A run in another container (a shared logs volume) cannot be seen: it
    counts as alive."""
    if not document or document.get("status") != "running":
        return True
    if document.get("hostname") != settings.masker.mask(settings.hostname):
        return True
    pid, ticks = document.get("pid"), document.get("process_start_ticks")
    return isinstance(pid, int) and heartbeat.process_start_ticks(pid) == ticks


def recent_json(settings: Settings) -> list[dict]:
    """Every job's last-<job>.json, present or not, as the shell image listed them."""
    paths = [Path(settings.log_dir) / f"last-{name}.json" for name in workers.NAMES]
    return [
        {
            "path": str(path),
            "present": path.exists(),
            "size_bytes": path.stat().st_size if path.exists() else None,
        }
        for path in paths
    ]
