"""The one table that maps restic's exit codes to run outcomes."""

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


# The helper's own exit code for each status; "failed" keeps restic's code instead.
STATUS_EXIT_CODES = {
    Status.OK: 0,
    Status.WARNING: 3,
    Status.SKIPPED: 0,
    Status.LOCKED: 11,
    Status.INTERRUPTED: 130,
}

EXIT_LOCKED = 11
EXIT_INTERRUPTED = 130


@dataclass(frozen=True)
class Outcome:
    status: Status
    exit_code: int
    hint: str = ""


RESTIC_EXIT_OUTCOMES: dict[int, tuple[Status, str]] = {
    0: (Status.OK, ""),
    3: (Status.WARNING, "some source data could not be read; the snapshot was saved anyway"),
    10: (Status.FAILED, "the repository does not exist: check RESTIC_REPOSITORY or run restic init"),
    11: (Status.LOCKED, "the repository is locked: run /bin/unlock --dry-run to see who holds it"),
    12: (Status.FAILED, "wrong password or no key found: check RESTIC_PASSWORD"),
    130: (Status.INTERRUPTED, "interrupted by a signal"),
}

# Lock conflicts before restic 0.17 exit 1; the message has been stable since 0.8.3.
LOCK_CONFLICT = re.compile(
    r"repository is already locked (?P<exclusive>exclusively )?by PID (?P<pid>\d+) "
    r"on (?P<hostname>\S*) by (?P<username>.*?) \(UID \d+, GID \d+\)"
)


def classify(exit_code: int, error_text: str, signalled: bool) -> Outcome:
    """Given restic's exit code, its stderr and whether we forwarded a signal, return the outcome."""
    if signalled and exit_code not in (0, 3):
        # Once told to stop, how restic ended is a consequence: a backup says "context canceled"
        # and exits 1, and its --stdin-from-command child may die of the same SIGINT first.
        exit_code = EXIT_INTERRUPTED
    elif exit_code == 1 and LOCK_CONFLICT.search(error_text):
        exit_code = EXIT_LOCKED
    if exit_code < 0 or (signalled and exit_code > 128):
        return Outcome(Status.INTERRUPTED, EXIT_INTERRUPTED, "restic was stopped by a signal")
    status, hint = RESTIC_EXIT_OUTCOMES.get(
        exit_code, (Status.FAILED, f"restic failed with exit code {exit_code}")
    )
    return Outcome(status, exit_code, hint)
