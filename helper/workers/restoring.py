"""One `restic restore` for restore and restore-test: its argv, its progress (a terminal line or
a log line every 30 s) and its counts, also when a stop signal cut it short."""

import sys
from dataclasses import dataclass
from pathlib import Path

from helper.restic import Completed
from helper.workers import terminal
from helper.workers.context import RunContext

COUNTS = ("files_restored", "bytes_restored", "total_files", "total_bytes")


@dataclass(frozen=True)
class Request:
    snapshot: str
    target: Path
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    verify: bool = False
    dry_run: bool = False


def command(request: Request) -> tuple[str, ...]:
    words = ["restore", request.snapshot, "--target", str(request.target), "--json"]
    words += [word for pattern in request.includes for word in ("--include", pattern)]
    words += [word for pattern in request.excludes for word in ("--exclude", pattern)]
    words += ["--verify"] * request.verify + ["--dry-run"] * request.dry_run
    return tuple(words)


def counts(completed: Completed, progress: terminal.Progress) -> dict:
    """Counts from restic's summary, or from its last progress message when it was stopped."""
    summary = next((m for m in completed.messages if m.get("message_type") == "summary"), progress.last)
    # restic leaves out a count that is zero; no message at all leaves every count unknown
    return {key: summary.get(key, 0) if summary else None for key in COUNTS}


def restore(context: RunContext, request: Request, label: str) -> tuple[Completed, dict]:
    """Run the restore with its progress shown; return restic's result and the counts."""
    progress = terminal.Progress(label, sys.stderr.isatty())
    try:
        completed = context.locks.run(*command(request), on_status=progress)
    finally:
        progress.finish()
    return completed, counts(completed, progress)
