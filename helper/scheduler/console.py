"""The scheduler's stdout: one masked line at a time, stamped and prefixed with its source
(`[scheduler]`, `[probe]`, `[backup]`), so `docker logs` reads well.

Each line also goes to LOG_DIR/cron.log, where the shell image's crond wrote its jobs' output:
its users `tail` that file and probe for it. The file is opened for each line, in append mode,
so /bin/rotate_log can truncate or remove it at any time.
"""

import sys
from pathlib import Path

from helper.clock import SYSTEM
from helper.masking import Masker


class Console:
    """Writes `<local time> [<source>] <text>` lines to stdout, flushed one by one."""

    def __init__(self, masker: Masker, stream=None, cron_log: Path | None = None) -> None:
        self.masker = masker
        self.stream = stream or sys.stdout
        self.cron_log = cron_log

    def line(self, source: str, text: str) -> None:
        stamp = SYSTEM.now().astimezone().isoformat(sep=" ", timespec="milliseconds")
        line = f"{stamp} [{source}] {self.masker.mask(text.rstrip())}\n"
        try:
            self.stream.write(line)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed stdout (docker logs detached) must never stop the scheduler
        if self.cron_log is not None:
            try:
                with open(self.cron_log, "a", encoding="utf-8", errors="surrogateescape") as handle:
                    handle.write(line)
            except OSError:
                pass  # a full or read-only LOG_DIR costs the copy, never the scheduler

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
