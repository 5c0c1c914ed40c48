"""The only code that starts restic.

restic runs in its own process group, and its output is read to the end (a closed pipe
kills restic with SIGPIPE and leaves its lock behind). A SIGTERM or SIGINT that reaches
this process reaches restic's group as SIGINT through the stop token, as a terminal's Ctrl-C
would, so restic removes its own lock.
"""

import contextlib
import logging
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from helper import output, procfs, restic_output
from helper.clock import SYSTEM
from helper.logs import FILE_ONLY, QUIET
from helper.outcome import (
    EXIT_CANNOT_START,
    EXIT_INTERRUPTED,
    EXIT_TIMED_OUT,
    Outcome,
    Status,
    classify,
    outcome_for,
)
from helper.output import LineReader
from helper.stop import TOKEN, StopToken

logger = logging.getLogger(__name__)

# restic reaches sftp and rclone repositories through a child that it moves out of its process
# group only when it runs on a terminal. A SIGINT to that child ends it before restic can remove
# its lock (seen: "Remove(<lock/...>) failed: ssh command exited: exit status 255").
TRANSPORTS = frozenset({"ssh", "sshpass", "rclone"})
# restic prints dozens of progress messages a second when stdout is no terminal.
QUIET_PROGRESS = {"RESTIC_PROGRESS_FPS": "0.0167"}

# A timed-out restic gets this long to honour SIGINT before SIGKILL.
TIMEOUT_KILL_AFTER_SECONDS = 10


@dataclass(frozen=True)
class Completed:
    """What one restic call left behind: raw exit code, outcome, and its parsed output."""

    exit_code: int
    outcome: Outcome
    messages: tuple[dict, ...] = ()
    stdout: str = ""
    stderr: str = ""


def interrupt_group(leader: int) -> None:
    """SIGINT restic and the rest of its process group (its --stdin-from-command), but not the
    transport that restic needs to remove its lock."""
    _send_interrupt(leader)
    for member in procfs.group_members(leader):
        if member.pid != leader and not (member.parent == leader and member.name in TRANSPORTS):
            _send_interrupt(member.pid)


def _send_interrupt(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


class Restic:
    """Runs restic with the helper's settings, streaming its output into the log at `level`."""

    def __init__(
        self,
        binary: str,
        environment: Mapping[str, str],
        stop: StopToken = TOKEN,
        level: int = logging.INFO,
    ) -> None:
        self.binary = binary
        self.environment = {**QUIET_PROGRESS, **environment}
        self.stop = stop
        self.level = level

    def quiet(self) -> "Restic":
        """The same runner, logging below every sink (the listings a lock wait repeats)."""
        return Restic(self.binary, self.environment, self.stop, QUIET)

    def run(self, *arguments: str, echo: bool = True, timeout_seconds: float = 0) -> Completed:
        """Run `restic <arguments>` to completion. Given echo=False, keep stdout out of the log.
        Given timeout_seconds > 0, stop restic once that time has passed (exit 124)."""
        if self.stop.stopped():
            hint = "interrupted before restic started"
            return Completed(EXIT_INTERRUPTED, outcome_for(Status.INTERRUPTED, hint))
        # Quoted as a shell would need it: *_ARGS are split into shell words, so show the words.
        logger.log(self.level, "$ restic %s", shlex.join(arguments), extra=FILE_ONLY)
        try:
            process = self._start(arguments)
        except OSError as error:
            hint = f"cannot start {self.binary}: {error.strerror}"
            outcome = Outcome(Status.FAILED, EXIT_CANNOT_START, hint)
            return Completed(EXIT_CANNOT_START, outcome, stderr=str(error))
        # Registered from the start: a stop that came just before reaches restic at once.
        with self.stop.registered(process.pid, interrupt_group):
            exit_code, collected, timed_out = self._follow(process, echo, timeout_seconds)
        outcome = classify(exit_code, collected.stderr.text(), self.stop.stopped())
        if timed_out and not self.stop.stopped():
            exit_code = EXIT_TIMED_OUT
            hint = f"restic did not finish within {timeout_seconds:g}s"
            outcome = Outcome(Status.FAILED, EXIT_TIMED_OUT, hint)
        stdout, stderr = collected.stdout.text(), collected.stderr.text()
        return Completed(exit_code, outcome, tuple(collected.messages), stdout, stderr)

    def _follow(
        self, process: subprocess.Popen, echo: bool, timeout_seconds: float
    ) -> tuple[int, restic_output.Collected, bool]:
        """Read restic's output into the log until it exits; return its exit code, what was
        kept of its output, and whether the timeout stopped it."""
        collected = restic_output.Collected(self.level, echo)
        readers = [
            LineReader(process.stdout, collected.on_stdout),
            LineReader(process.stderr, collected.on_stderr),
        ]
        timed_out: list[bool] = []

        def interrupt() -> None:  # SIGINT first, so restic removes its lock
            timed_out.append(True)
            interrupt_group(process.pid)

        timers = []
        if timeout_seconds > 0:  # then SIGKILL, if restic lingers after the SIGINT
            at = SYSTEM.monotonic() + timeout_seconds
            timers = [(at, interrupt), (at + TIMEOUT_KILL_AFTER_SECONDS, lambda: _kill_group(process.pid))]
        try:
            left_open = output.follow(process, readers, timers)
        finally:
            # Whatever went wrong above, restic ends on its own terms and is waited for.
            exit_code = output.wait(process, timers)
        if left_open:
            logger.warning("a process left by %s holds restic's output open; not waiting for it", self.binary)
        return exit_code, collected, bool(timed_out)

    def _start(self, arguments: tuple[str, ...]) -> subprocess.Popen:
        process = subprocess.Popen(
            [self.binary, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.environment,
            start_new_session=True,
        )
        return process
