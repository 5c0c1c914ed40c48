"""`$LOG_DIR/last-<job>.json`: the run document, written atomically. The previous document
also tells when the job last succeeded, which a run that fails or skips carries over."""

import json
import os
from datetime import datetime
from pathlib import Path

from helper import heartbeat
from helper.files import atomic_write_text
from helper.logs import RunLog
from helper.result import RUNNING, SCHEMA_VERSION, RunResult
from helper.settings import Settings


def state_path(log_dir: str, job: str) -> Path:
    return Path(log_dir) / f"last-{job}.json"


def previous_success(log_dir: str, job: str) -> datetime | None:
    """The end of the last successful run, as the previous document recorded it, or None."""
    try:
        return datetime.fromisoformat(json.loads(state_path(log_dir, job).read_text())["last_success_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def announce(job: str, settings: Settings, started_at: datetime) -> None:
    """Say that a run has started, before it does anything: a run killed outright (SIGKILL, the
    OOM killer) then leaves `status: running` with a pid that is gone, which status reports as
    killed, instead of the previous run's document looking current. The last run's other fields
    stay until this run's report replaces them, as its gauges do in the textfile (replicate
    reads which of its jobs failed last time from them)."""
    path = state_path(settings.log_dir, job)
    try:
        previous = json.loads(path.read_text())
    except (OSError, ValueError):
        previous = {}
    document = {
        **(previous if isinstance(previous, dict) else {}),
        "schema_version": SCHEMA_VERSION,
        "job": job,
        "hostname": settings.masker.mask(settings.hostname),
        "release": settings.restic_backup_helper_release,
        "repository": settings.masker.mask(settings.restic_repository),
        "started_at": started_at.isoformat(timespec="seconds"),
        "started_epoch": int(started_at.timestamp()),
        "status": RUNNING,
        "exit_code": None,
        "error": None,
        # The pid and its start time name this process even after the pid is reused.
        "pid": os.getpid(),
        "process_start_ticks": heartbeat.process_start_ticks(os.getpid()),
    }
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    text = json.dumps(result.document(), indent=2, ensure_ascii=False) + "\n"
    atomic_write_text(state_path(settings.log_dir, result.job), text)
