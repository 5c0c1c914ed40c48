"""Logging, through the standard `logging` module: every module logs to its own logger, and the
handlers installed here are the sinks. Each carries the masking filter, so no line reaches a
file, the console or a mail body unmasked.

A run has three sinks: `<job>-last.log` with a timestamp on every line, the console, and a
byte-capped tail for mail and webhook bodies. A line meant for the file alone (the restic
command, restic's plain stdout, a traceback) is logged with `extra=FILE_ONLY`. Listings that
a lock wait repeats hundreds of times are logged at QUIET, below every sink.

A log file that cannot be written (disk full, a file size limit) never stops a run: restic must
still be read to its end, or it dies of SIGPIPE and leaves its lock behind.
"""

import contextlib
import logging
import sys
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import TextIO

from helper.masking import Masker

QUIET = logging.DEBUG
FILE_ONLY = {"console": False}
TAIL_BYTES = 16 * 1024
PREFIXES = {logging.WARNING: "⚠️ ", logging.ERROR: "❌ "}


class MaskingFilter(logging.Filter):
    """Masks a record's text once, whichever sink sees it first, and prefixes warnings and
    errors with their sign."""

    def __init__(self, masker: Masker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "masked", False):
            text = self.masker.mask(record.getMessage().rstrip("\r\n"))
            record.msg, record.args, record.masked = PREFIXES.get(record.levelno, "") + text, (), True
        return True


class ConsoleHandler(logging.Handler):
    """The masked line alone, as `docker logs` shows it; a closed console never stops a backup."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(logging.INFO)
        self.stream = stream or sys.stdout

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "console", True):
            self.write(record.getMessage())

    def write(self, text: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.stream.write(text + "\n")
            self.stream.flush()


class FileHandler(logging.Handler):
    """`<job>-last.log`, line-buffered, each line stamped. After its first failure it stops
    writing and says so once on the console; `intact` then tells the file is incomplete."""

    def __init__(self, path: Path, console: ConsoleHandler, masker: Masker) -> None:
        super().__init__(logging.INFO)
        self.path, self.console, self.masker = path, console, masker
        self.intact, self.file = True, None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.file = path.open("w", encoding="utf-8", errors="backslashreplace", buffering=1)
        except OSError as error:
            self._give_up(error, "")

    def emit(self, record: logging.LogRecord) -> None:
        if self.file is None:
            return
        stamp = datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="seconds")
        try:
            self.file.write(f"{stamp} {record.getMessage()}\n")
        except (OSError, ValueError) as error:
            self._give_up(error, "; going on")

    def close(self) -> None:
        if self.file is not None:
            try:
                self.file.close()
                self.file = None
            except (OSError, ValueError) as error:  # the last flush failed
                self._give_up(error, "")
        super().close()

    def _give_up(self, error: Exception, going_on: str) -> None:
        with contextlib.suppress(OSError, ValueError):
            if self.file is not None:
                self.file.close()
        self.file, self.intact = None, False
        reason = getattr(error, "strerror", None) or error
        message = f"{PREFIXES[logging.WARNING]}cannot write the run log {self.path}: {reason}{going_on}"
        self.console.write(self.masker.mask(message))


class TailHandler(logging.Handler):
    """The last TAIL_BYTES of the run's lines, for mail and webhook bodies."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque()
        self.size = 0
        self.truncated = False

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage()
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > TAIL_BYTES and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1
            self.truncated = True

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.lines)


def install(handlers: list[logging.Handler], masker: Masker) -> None:
    """Make `handlers` the root logger's sinks, each behind the masking filter."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    masking = MaskingFilter(masker)
    for handler in handlers:
        handler.addFilter(masking)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.raiseExceptions = False  # a sink's own failure never prints a traceback


class RunLog:
    """The sinks of one run, for those who read them afterwards: the tail for mail and
    webhook, the file for the error-log copy."""

    def __init__(self, path: Path | None, masker: Masker, console: TextIO | None = None) -> None:
        self.console = ConsoleHandler(console)
        self.tail = TailHandler()
        self.file = FileHandler(path, self.console, masker) if path is not None else None
        install([self.console, self.tail, *([self.file] if self.file else [])], masker)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
