"""The one result object of a run: every reporter (JSON, metrics, mail, webhook, hooks)
reads it, and nothing else."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from helper.outcome import EXIT_OK, Status

SCHEMA_VERSION = 1
# The status of a last-<job>.json written when a run starts, before its final report.
RUNNING = "running"


@dataclass(frozen=True)
class RunResult:
    """One finished run. Strings in it are already masked."""

    job: str
    hostname: str
    release: str
    repository: str
    started_at: datetime
    finished_at: datetime
    status: Status
    exit_code: int
    error: str | None = None
    lock_wait_seconds: float = 0.0
    extras: Mapping[str, object] = field(default_factory=dict)
    log_tail: str = ""
    # True when the run log held more than the tail keeps; the full log is `<job>-last.log`.
    log_tail_truncated: bool = False
    # The repository's locks at the run's last inspection (counts, oldest age, when), or None
    # when the run did not look at them.
    locks: Mapping[str, object] | None = None
    # The end of the last successful run before this one (from the previous document), which
    # a run that fails or skips carries over: status measures staleness from it.
    previous_success: datetime | None = None
    # False for a job that is itself a notification (notify-test): mail and webhook stay quiet.
    notify: bool = True
    # Why the run ended as it did, also when that is no error (a skip, a warning); masked.
    reason: str | None = None

    @property
    def last_success(self) -> datetime | None:
        return self.finished_at if self.succeeded else self.previous_success

    @property
    def duration_seconds(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def failed(self) -> bool:
        """The shell image's rule, which mail, webhook and the error log act on: a non-zero exit.
        A skip exits 0 and stays quiet."""
        return self.exit_code != EXIT_OK

    @property
    def succeeded(self) -> bool:
        """Whether the job did its work, which resets the last-success clock. A skipped or
        warning run did not: a retention that keeps being skipped must still show its age."""
        return self.status is Status.OK

    def document(self) -> dict:
        """Return the `last-<job>.json` document, which is also the webhook payload."""
        return {
            "schema_version": SCHEMA_VERSION,
            "job": self.job,
            "hostname": self.hostname,
            "release": self.release,
            "repository": self.repository,
            "started_at": self.started_at.isoformat(timespec="seconds"),
            "finished_at": self.finished_at.isoformat(timespec="seconds"),
            "started_epoch": int(self.started_at.timestamp()),
            "finished_epoch": int(self.finished_at.timestamp()),
            "duration_seconds": self.duration_seconds,
            "status": str(self.status),
            "exit_code": self.exit_code,
            "error": self.error,
            "lock_wait_seconds": round(self.lock_wait_seconds, 3),
            "repository_locks": dict(self.locks) if self.locks is not None else None,
            **self.extras,
            "last_success_at": self.last_success.isoformat(timespec="seconds") if self.last_success else None,
            "last_success_epoch": int(self.last_success.timestamp()) if self.last_success else None,
        }
