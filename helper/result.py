"""The one result object of a run: every reporter (JSON, metrics, mail, webhook, hooks)
reads it, and nothing else."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from helper.outcome import Status

SCHEMA_VERSION = 1


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

    @property
    def duration_seconds(self) -> float:
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def succeeded(self) -> bool:
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
            **self.extras,
        }
