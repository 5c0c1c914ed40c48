"""The one table of exit codes: restic's codes, the helper's own, and the run outcome of each."""

import re
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILED = "failed"
    SKIPPED = "skipped"
    LOCKED = "locked"
    INTERRUPTED = "interrupted"
    # A job's *_TIMEOUT ran out, or a restic call's own time limit: stopped as a signal would.
    TIMEOUT = "timeout"


EXIT_OK = 0
# Any failure restic reports without a more specific code; the helper's internal errors; a
# scheduler that had to kill its workers; a repository the start-up probe cannot reach; an
# unhealthy health check.
EXIT_FAILED = 1
# Configuration and usage errors, as in the shell image.
EXIT_CONFIG_ERROR = 2
EXIT_WARNING = 3
EXIT_REPOSITORY_MISSING = 10
EXIT_LOCKED = 11
EXIT_WRONG_PASSWORD = 12
# A run, a restic call or a hook that ran out of time, as GNU timeout reports it.
EXIT_TIMED_OUT = 124
EXIT_CANNOT_EXECUTE = 126
# A command (restic, a hook, a worker, the operator's program) that cannot be started.
EXIT_CANNOT_START = 127
EXIT_INTERRUPTED = 130

# The exit code of each status that has a fixed one; "failed" carries the failure's own code.
STATUS_EXIT_CODES = {
    Status.OK: EXIT_OK,
    Status.WARNING: EXIT_WARNING,
    Status.SKIPPED: EXIT_OK,
    Status.LOCKED: EXIT_LOCKED,
    Status.INTERRUPTED: EXIT_INTERRUPTED,
    Status.TIMEOUT: EXIT_TIMED_OUT,
}


@dataclass(frozen=True)
class Outcome:
    status: Status
    exit_code: int
    hint: str = ""


def outcome_for(status: Status, hint: str = "") -> Outcome:
    """Return the outcome of a status with a fixed exit code (every one but FAILED)."""
    return Outcome(status, STATUS_EXIT_CODES[status], hint)


RESTIC_EXIT_OUTCOMES: dict[int, tuple[Status, str]] = {
    EXIT_OK: (Status.OK, ""),
    EXIT_WARNING: (Status.WARNING, "some source data could not be read; the snapshot was saved anyway"),
    EXIT_REPOSITORY_MISSING: (
        Status.FAILED,
        "the repository does not exist: check RESTIC_REPOSITORY or run restic init",
    ),
    EXIT_LOCKED: (
        Status.LOCKED,
        "the repository is locked: run /bin/unlock --dry-run to see who holds it",
    ),
    EXIT_WRONG_PASSWORD: (Status.FAILED, "wrong password or no key found: check RESTIC_PASSWORD"),
    EXIT_INTERRUPTED: (Status.INTERRUPTED, "interrupted by a signal"),
}

# Lock conflicts before restic 0.17 exit 1; the message has been stable since 0.8.3.
LOCK_CONFLICT = re.compile(
    r"repository is already locked (?P<exclusive>exclusively )?by PID (?P<pid>\d+) "
    r"on (?P<hostname>\S*) by (?P<username>.*?) \(UID \d+, GID \d+\)"
)
# A backup stopped by a signal exits 1 (its "unable to save snapshot" wrapping hides the
# cancellation) after saying which signal it got. A backup that cancels itself because it
# lost its lock also ends in "context canceled", but without this line: that one failed.
SIGNAL_RECEIVED = re.compile(r"signal (?:interrupt|terminated) received, cleaning up")


def classify(exit_code: int, error_text: str, signalled: bool) -> Outcome:
    """Given restic's exit code, its stderr and whether we forwarded a signal, return the outcome."""
    if exit_code == EXIT_FAILED and not signalled and SIGNAL_RECEIVED.search(error_text):
        # Someone else (docker stop to the whole container, a kill from the host) stopped it.
        signalled = "context canceled" in error_text
    if signalled and exit_code not in (EXIT_OK, EXIT_WARNING):
        # Once told to stop, how restic ended is a consequence: a backup says "context canceled"
        # and exits 1, and its --stdin-from-command child may die of the same SIGINT first.
        exit_code = EXIT_INTERRUPTED
    elif exit_code == EXIT_FAILED and LOCK_CONFLICT.search(error_text):
        exit_code = EXIT_LOCKED
    if exit_code < 0 or (signalled and exit_code > 128):
        return outcome_for(Status.INTERRUPTED, "restic was stopped by a signal")
    status, hint = RESTIC_EXIT_OUTCOMES.get(
        exit_code, (Status.FAILED, f"restic failed with exit code {exit_code}")
    )
    return Outcome(status, exit_code, hint)
