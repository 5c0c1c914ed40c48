"""The per-run log: every line is masked, timestamped into `<job>-last.log`, echoed to the
console, and kept in a byte-capped tail for mail and webhook bodies.

A log that cannot be written (disk full, a file size limit) never stops a run: restic must
still be read to its end, or it dies of SIGPIPE and leaves its lock behind."""

import contextlib
import sys
import threading
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import TextIO

from helper.masking import Masker

TAIL_BYTES = 16 * 1024


class RunLog:
    """Writes masked lines to a file and the console; thread-safe for the two output readers."""

    def __init__(self, path: Path | None, masker: Masker, console: TextIO | None = None) -> None:
        self.path = path
        self.masker = masker
        self.console = console or sys.stdout
        self._file = None
        self._lock = threading.Lock()
        self._tail: deque[str] = deque()
        self._tail_bytes = 0
        self.tail_truncated = False
        # False once the file could not be opened or written: it then holds no complete log.
        self.intact = path is not None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("w", encoding="utf-8", errors="backslashreplace", buffering=1)
            except OSError as error:
                self.intact = False
                self._write_console(self.masker.mask(f"⚠️ cannot write the run log {path}: {error}"))

    def info(self, message: str) -> None:
        self.line(message)

    def warning(self, message: str) -> None:
        self.line(f"⚠️ {message}")

    def error(self, message: str) -> None:
        self.line(f"❌ {message}")

    def line(self, text: str, console: bool = True) -> None:
        """Record one line of our own or of a child's output."""
        masked = self.masker.mask(text.rstrip("\r\n"))
        with self._lock:
            if self._file is not None:
                stamp = datetime.now().astimezone().isoformat(timespec="seconds")
                try:
                    self._file.write(f"{stamp} {masked}\n")
                except (OSError, ValueError) as error:
                    self._give_up_file(error)
            self._remember(masked)
            if console:
                self._write_console(masked)

    def tail(self) -> str:
        with self._lock:
            return "\n".join(self._tail)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                try:
                    self._file.close()
                    self._file = None
                except (OSError, ValueError) as error:  # the last flush failed
                    self._give_up_file(error)

    def _give_up_file(self, error: Exception) -> None:
        """Stop writing the file after its first failure, and say so once on the console."""
        with contextlib.suppress(OSError, ValueError):
            if self._file is not None:
                self._file.close()
        self._file = None
        self.intact = False
        reason = getattr(error, "strerror", None) or error
        self._write_console(self.masker.mask(f"⚠️ cannot write the run log {self.path}: {reason}; going on"))

    def _remember(self, masked: str) -> None:
        self._tail.append(masked)
        self._tail_bytes += len(masked) + 1
        while self._tail_bytes > TAIL_BYTES and len(self._tail) > 1:
            self._tail_bytes -= len(self._tail.popleft()) + 1
            self.tail_truncated = True

    def _write_console(self, text: str) -> None:
        try:
            self.console.write(text + "\n")
            self.console.flush()
        except (OSError, ValueError):
            pass  # a closed console must never stop a backup
