"""`$LOG_DIR/last-<job>.json`: the run document, written atomically."""

import json
from pathlib import Path

from helper.files import atomic_write_text
from helper.logs import RunLog
from helper.result import RunResult
from helper.settings import Settings


def state_path(log_dir: str, job: str) -> Path:
    return Path(log_dir) / f"last-{job}.json"


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    text = json.dumps(result.document(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(state_path(settings.log_dir, result.job), text)
