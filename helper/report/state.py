"""`$LOG_DIR/last-<job>.json`: the run document, written atomically, with the end of the last
run that succeeded carried over from the previous document: a forget that keeps being skipped
still shows how old its last success is (status reads it)."""

import json
from pathlib import Path

from helper.files import atomic_write_text
from helper.logs import RunLog
from helper.result import RunResult
from helper.settings import Settings


def state_path(log_dir: str, job: str) -> Path:
    return Path(log_dir) / f"last-{job}.json"


def last_success(result: RunResult, path: Path) -> dict:
    """This run's end when it succeeded, else the previous document's last success (or null)."""
    if result.succeeded:
        return {
            "last_success_at": result.finished_at.isoformat(timespec="seconds"),
            "last_success_epoch": int(result.finished_at.timestamp()),
        }
    try:
        previous = json.loads(path.read_text())
        at, epoch = previous["last_success_at"], previous["last_success_epoch"]
    except (OSError, ValueError, KeyError, TypeError):
        at, epoch = None, None
    return {"last_success_at": at, "last_success_epoch": epoch}


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    path = state_path(settings.log_dir, result.job)
    document = {**result.document(), **last_success(result, path)}
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
