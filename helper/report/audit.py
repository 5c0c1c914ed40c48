"""The run's lines in `events.jsonl` (see helper/events.py): `started` as it starts, and as it
ends `finished` with its status, preceded by what else it was: `lock_wait`, `locked`,
`interrupted`, `timeout`, `skipped` (its pre-hook asked), `config_error`. A run that finds its previous
run's record still `running` with a dead pid records that run as `killed`: nothing else ever
will."""

from datetime import datetime

from helper import events
from helper.logs import RunLog
from helper.outcome import EXIT_CONFIG_ERROR, Status
from helper.report.state import state_path
from helper.result import RUNNING, RunResult
from helper.settings import Settings
from helper.workers import run_records

KINDS = {
    Status.LOCKED: "locked",
    Status.INTERRUPTED: "interrupted",
    Status.TIMEOUT: "timeout",
    Status.SKIPPED: "skipped",
}


def announce(job: str, settings: Settings, started_at: datetime) -> None:
    events.open_sink(settings.log_dir, settings.masker, settings.hostname)
    previous = run_records.read_document(state_path(settings.log_dir, job))
    if previous and previous.get("status") == RUNNING and not run_records.alive(previous, settings):
        events.emit("killed", job, killed_pid=previous.get("pid"), run_started_at=previous.get("started_at"))


def announced(job: str, settings: Settings, started_at: datetime) -> None:
    """The run has its `running` record: from here on, a kill shows in the next run."""
    events.emit("started", job)


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if result.lock_wait_seconds > 0:
        events.emit("lock_wait", result.job, seconds=round(result.lock_wait_seconds, 3))
    kind = KINDS.get(result.status)
    if kind is None and result.failed and result.exit_code == EXIT_CONFIG_ERROR:
        kind = "config_error"
    if kind:
        events.emit(kind, result.job, reason=result.reason)
    # A backup's snapshot id makes the stream an account of every snapshot a run reported.
    snapshot = {"snapshot_id": result.extras["snapshot_id"]} if result.extras.get("snapshot_id") else {}
    events.emit(
        "finished", result.job, status=str(result.status), exit_code=result.exit_code,
        duration_seconds=result.duration_seconds, error=result.error, **snapshot,
    )  # fmt: skip
