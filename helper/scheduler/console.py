"""The scheduler's stdout: one masked line at a time, stamped and prefixed with its source
(`[scheduler]`, `[probe]`, `[backup]`), so `docker logs` reads well."""

import sys

from helper.clock import SYSTEM
from helper.masking import Masker


class Console:
    """Writes `<local time> [<source>] <text>` lines to stdout, flushed one by one."""

    def __init__(self, masker: Masker, stream=None) -> None:
        self.masker = masker
        self.stream = stream or sys.stdout

    def line(self, source: str, text: str) -> None:
        stamp = SYSTEM.now().astimezone().isoformat(sep=" ", timespec="milliseconds")
        try:
            self.stream.write(f"{stamp} [{source}] {self.masker.mask(text.rstrip())}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stdout (docker logs detached) must never stop the scheduler

    def writer(self, source: str) -> "SourceWriter":
        """A file-like object for code that writes whole lines, such as RunLog's console."""
        return SourceWriter(self, source)


class SourceWriter:
    def __init__(self, console: Console, source: str) -> None:
        self.console = console
        self.source = source

    def write(self, text: str) -> int:
        for line in text.splitlines():
            self.console.line(self.source, line)
        return len(text)

    def flush(self) -> None:
        """Each line is flushed as it is written."""
