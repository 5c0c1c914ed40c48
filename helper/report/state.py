"""`$LOG_DIR/last-<job>.json`: the run document, written atomically. The previous document
also tells when the job last succeeded, which a run that fails or skips carries over."""

import json
from datetime import datetime
from pathlib import Path

from helper.files import atomic_write_text
from helper.logs import RunLog
from helper.result import RunResult
from helper.settings import Settings


def state_path(log_dir: str, job: str) -> Path:
    return Path(log_dir) / f"last-{job}.json"


def previous_success(log_dir: str, job: str) -> datetime | None:
    """The end of the last successful run, as the previous document recorded it, or None."""
    try:
        return datetime.fromisoformat(json.loads(state_path(log_dir, job).read_text())["last_success_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    text = json.dumps(result.document(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(state_path(settings.log_dir, result.job), text)
