"""The only code that starts rclone (the jobs of /bin/replicate).

As restic: rclone runs in its own process group, its output is read to the end into the run
log line by line as it comes (`helper.output`), and a SIGTERM or SIGINT to this process
reaches rclone's group as SIGINT through the stop token, so rclone ends as on a Ctrl-C and
cleans up after itself (bisync removes its lock file).
"""

import contextlib
import logging
import os
import re
import shlex
import signal
import subprocess
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from helper import output
from helper.logs import FILE_ONLY
from helper.outcome import EXIT_CANNOT_START, EXIT_INTERRUPTED
from helper.output import LineReader
from helper.stop import TOKEN, StopToken

logger = logging.getLogger(__name__)

# rclone's own log lines look like `2024/05/01 02:00:00 ERROR : path: message`; a fatal one
# starts `... Failed to <command>: message`.
ERROR_MARKERS = (" ERROR : ", " Failed to ", "CRITICAL")
# The run log stamps each line already; an error needs no label in an error message.
TIMESTAMP = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d(\.\d+)? (ERROR : )?")
# The lines kept of one call (its last error lines, and its last lines), without their stamps.
LINES_KEPT = 20


@dataclass(frozen=True)
class Finished:
    """How one rclone call ended: its exit code, its last error lines and its last lines."""

    exit_code: int
    errors: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()

    @property
    def last_error(self) -> str:
        return self.errors[-1] if self.errors else ""


def interrupt_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGINT)


@dataclass(frozen=True)
class Rclone:
    """Runs rclone with an environment; its lines go to every sink given `echo`, else to the
    run's log file only."""

    binary: str
    environment: Mapping[str, str]
    echo: bool = True
    stop: StopToken = TOKEN

    def run(self, *arguments: str) -> Finished:
        if self.stop.stopped():
            return Finished(EXIT_INTERRUPTED, ("interrupted before rclone started",))
        logger.info("$ rclone %s", shlex.join(arguments), extra=FILE_ONLY)
        try:
            process = subprocess.Popen(
                [self.binary, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=dict(self.environment),
                start_new_session=True,
            )
        except OSError as error:
            return Finished(EXIT_CANNOT_START, (f"cannot start {self.binary}: {error.strerror}",))
        errors: deque[str] = deque(maxlen=LINES_KEPT)
        lines: deque[str] = deque(maxlen=LINES_KEPT)
        reader = LineReader(process.stdout, lambda line: self._relay(line, errors, lines))
        with self.stop.registered(process.pid, interrupt_group):
            try:
                left_open = output.follow(process, [reader])
            finally:
                exit_code = output.wait(process, [])
        if left_open:
            logger.warning("a process left by %s holds rclone's output open; not waiting for it", self.binary)
        if self.stop.stopped():
            return Finished(EXIT_INTERRUPTED, ("interrupted by a signal",))
        # Killed by a signal nobody here sent: the shell's 128 + signal number.
        exit_code = 128 - exit_code if exit_code < 0 else exit_code
        return Finished(exit_code, tuple(errors), tuple(lines))

    def _relay(self, line: str, errors: deque[str], lines: deque[str]) -> None:
        logger.info(line, extra=None if self.echo else FILE_ONLY)
        lines.append(TIMESTAMP.sub("", line.strip()))
        if any(marker in line for marker in ERROR_MARKERS):
            errors.append(lines[-1])
