"""An operator at a terminal: questions, confirmations and a progress line. Without a
terminal nothing is asked, and progress goes to the log every PROGRESS_LOG_SECONDS."""

import logging
import sys

from helper.clock import SYSTEM, Clock
from helper.settings.kinds import format_bytes, format_duration

logger = logging.getLogger(__name__)

PROGRESS_LOG_SECONDS = 30.0


def interactive() -> bool:
    """Whether an operator can answer: stdin and stdout are both a terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask(question: str) -> str | None:
    """Ask at the terminal; return the stripped answer, or None at end of input (Ctrl-D)."""
    try:
        return input(question).strip()
    except EOFError:
        sys.stdout.write("\n")
        return None


def confirmed(question: str, expected: str = "y") -> bool:
    """Whether the operator answers `expected` (case-insensitive) to the question."""
    answer = ask(f"{question} ")
    return answer is not None and answer.lower() == expected.lower()


def describe(status: dict) -> str:
    """restic's restore or dump progress as one line: percent, bytes, files, time left."""
    done, total = status.get("bytes_restored", 0), status.get("total_bytes", 0)
    percent = 100 * float(status.get("percent_done", done / total if total else 0))
    line = f"{percent:5.1f}%  {format_bytes(done)} of {format_bytes(total)}"
    # restic leaves out a count that is still zero
    if total_files := status.get("total_files"):
        line += f", {status.get('files_restored', 0)} of {total_files} files"
    remaining = status.get("seconds_remaining")
    if remaining is None and 0 < percent < 100:
        remaining = status.get("seconds_elapsed", 0) * (100 - percent) / percent
    if remaining is not None and percent < 100:
        line += f", about {format_duration(remaining)} left"
    return line


class Progress:
    """Where restic's progress messages go: a line rewritten in place on a terminal, else a
    log line every PROGRESS_LOG_SECONDS. `last` keeps the newest message, for the audit of a
    run that was stopped half-way."""

    def __init__(self, label: str, on_terminal: bool, clock: Clock = SYSTEM) -> None:
        self.label, self.on_terminal, self.clock = label, on_terminal, clock
        self.last: dict = {}
        self.logged_at: float | None = None
        self.shown = False

    def __call__(self, status: dict) -> None:
        self.last = status
        if self.on_terminal:
            sys.stderr.write(f"\r{self.label}: {describe(status)}\x1b[K")
            sys.stderr.flush()
            self.shown = True
            return
        now = self.clock.monotonic()
        if self.logged_at is None:
            self.logged_at = now
        elif now - self.logged_at >= PROGRESS_LOG_SECONDS:
            self.logged_at = now
            logger.info(f"⏳ {self.label}: {describe(status)}")

    def finish(self) -> None:
        """End the terminal's progress line, so the log that follows starts on its own."""
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
            self.shown = False
