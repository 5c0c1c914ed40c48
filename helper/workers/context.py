"""What the envelope hands a worker, and what a worker hands back."""

import argparse
from dataclasses import dataclass, field

from helper.locks.session import RepositoryLocks
from helper.outcome import EXIT_CONFIG_ERROR, Outcome, Status
from helper.restic import Completed, Restic
from helper.settings import Settings


@dataclass(frozen=True)
class WorkerReport:
    """A worker's verdict on its run, plus its own summary fields for the result."""

    outcome: Outcome
    extras: dict = field(default_factory=dict)
    error: str | None = None


@dataclass
class RunContext:
    job: str
    settings: Settings
    options: argparse.Namespace
    # restic as it is; `locks.run` retries a repository lock conflict while the budget lasts.
    restic: Restic
    locks: RepositoryLocks


def config_error(message: str, extras: dict | None = None) -> WorkerReport:
    """Return the report of a run stopped before restic by a configuration problem (exit 2)."""
    return WorkerReport(Outcome(Status.FAILED, EXIT_CONFIG_ERROR, message), extras or {}, message)


def report_from(completed: Completed, extras: dict | None = None) -> WorkerReport:
    """Turn one restic call into a report, with restic's hint as the error when it failed."""
    outcome = completed.outcome
    failed = outcome.status not in (Status.OK, Status.SKIPPED)
    return WorkerReport(outcome, extras or {}, outcome.hint if failed and outcome.hint else None)
