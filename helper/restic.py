"""The only code that starts restic.

restic runs in its own process group, and its output is read to the end (a closed pipe
kills restic with SIGPIPE and leaves its lock behind). A SIGTERM or SIGINT that reaches
this process reaches restic's group as SIGINT through the stop token, as a terminal's Ctrl-C
would, so restic removes its own lock.
"""

import bisect
import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import BinaryIO

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
from helper.settings import Settings
from helper.stop import TOKEN, StopToken

logger = logging.getLogger(__name__)

# restic reaches sftp and rclone repositories through a child that it moves out of its process
# group only when it runs on a terminal. A SIGINT to that child ends it before restic can remove
# its lock (seen: "Remove(<lock/...>) failed: ssh command exited: exit status 255").
TRANSPORTS = frozenset({"ssh", "sshpass", "rclone"})
# restic prints dozens of progress messages a second when stdout is no terminal.
QUIET_PROGRESS = {"RESTIC_PROGRESS_FPS": "0.0167"}
# A worker that shows progress (restore) reads about one message a second.
STATUS_PROGRESS = {"RESTIC_PROGRESS_FPS": "1"}

# Of STOP_GRACE_SECONDS, the share restic gets to honour a SIGINT before the worker kills it:
# the rest is the worker's, to write its report before the scheduler's own SIGKILL.
RESTIC_SHARE_OF_GRACE = 0.8


@dataclass(frozen=True)
class Completed:
    """What one restic call left behind: raw exit code, outcome, and its parsed output."""

    exit_code: int
    outcome: Outcome
    messages: tuple[dict, ...] = ()
    stdout: str = ""
    stderr: str = ""

    def listed(self) -> list | None:
        """The items of restic's top-level JSON list (`snapshots`, `forget`), or None when it
        printed none."""
        return next((m["items"] for m in self.messages if m.get("message_type") == "list"), None)


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
    """Runs restic with the helper's settings, streaming its output into the log at `level`.
    A restic still running `kill_after_seconds` after it was told to stop is killed."""

    def __init__(
        self,
        binary: str,
        environment: Mapping[str, str],
        kill_after_seconds: float,
        global_arguments: tuple[str, ...] = (),
        stop: StopToken = TOKEN,
        level: int = logging.INFO,
    ) -> None:
        self.binary = binary
        self.environment = {**QUIET_PROGRESS, **environment}
        self.kill_after_seconds = kill_after_seconds
        self.global_arguments = global_arguments
        self.stop = stop
        self.level = level

    def quiet(self) -> "Restic":
        """The same runner, logging below every sink (the listings a lock wait repeats)."""
        return Restic(
            self.binary, self.environment, self.kill_after_seconds, self.global_arguments, self.stop, QUIET
        )

    def run(
        self,
        *arguments: str,
        echo: bool = True,
        timeout_seconds: float = 0,
        on_status: Callable[[dict], None] | None = None,
        consume: Callable[[BinaryIO], None] | None = None,
    ) -> Completed:
        """Run `restic <arguments>` to completion. Given echo=False, keep stdout out of the log.
        Given timeout_seconds > 0, stop restic once that time has passed (exit 124). Given
        on_status, hand it restic's --json progress messages, about one a second.

        Given consume (`restic dump`), hand it restic's stdout whole as a binary stream, in a
        thread; when it raises, restic is stopped and, once restic has exited, the error is
        raised here (unless a stop signal explains it: then the run is interrupted)."""
        collected = restic_output.Collected(self.level, echo and consume is None, on_status)
        environment = {**self.environment, **STATUS_PROGRESS} if on_status else self.environment
        return self._execute(arguments, collected, environment, consume, timeout_seconds)

    def _execute(
        self,
        arguments: tuple[str, ...],
        collected: restic_output.Collected,
        environment: Mapping[str, str],
        consume: Callable[[BinaryIO], None] | None,
        timeout_seconds: float,
    ) -> Completed:
        if self.stop.stopped():
            hint = "interrupted before restic started"
            return Completed(EXIT_INTERRUPTED, outcome_for(Status.INTERRUPTED, hint))
        arguments = (*self.global_arguments, *arguments)
        # Quoted as a shell would need it: *_ARGS are split into shell words, so show the words.
        logger.log(self.level, "$ restic %s", shlex.join(arguments), extra=FILE_ONLY)
        try:
            process = self._start(arguments, environment)
        except OSError as error:
            hint = f"cannot start {self.binary}: {error.strerror}"
            outcome = Outcome(Status.FAILED, EXIT_CANNOT_START, hint)
            return Completed(EXIT_CANNOT_START, outcome, stderr=str(error))
        consumer = Consumer(process, consume) if consume else None
        exit_code, timed_out = self._follow(process, collected, consumer, timeout_seconds)
        failure = consumer.finish() if consumer is not None else None
        if failure is not None and not self.stop.stopped():
            raise failure  # a stop explains a broken stream; anything else is the worker's to report
        outcome = classify(exit_code, collected.stderr.text(), self.stop.stopped())
        if timed_out and not self.stop.stopped():
            exit_code = EXIT_TIMED_OUT
            outcome = outcome_for(Status.TIMEOUT, f"restic did not finish within {timeout_seconds:g}s")
        stdout, stderr = collected.stdout.text(), collected.stderr.text()
        return Completed(exit_code, outcome, tuple(collected.messages), stdout, stderr)

    def _follow(
        self,
        process: subprocess.Popen,
        collected: restic_output.Collected,
        consumer: "Consumer | None",
        timeout_seconds: float,
    ) -> tuple[int, bool]:
        """Read restic's output into the log until it exits; return its exit code and whether
        the timeout stopped it."""
        readers = [LineReader(process.stderr, collected.on_stderr)]
        if consumer is None:
            readers.append(LineReader(process.stdout, collected.on_stdout))
        timed_out: list[bool] = []
        timers: list[output.Timer] = []

        def kill_if_lingering() -> None:
            if process.poll() is None:
                logger.warning(
                    f"restic (pid {process.pid}) still runs {self.kill_after_seconds:g}s after it "
                    "was told to stop: killing it (SIGKILL); its lock may stay behind"
                )
                _kill_group(process.pid)

        def stop_restic(_group: int = 0) -> None:  # SIGINT first, so restic removes its lock
            interrupt_group(process.pid)
            when = SYSTEM.monotonic() + self.kill_after_seconds
            bisect.insort(timers, (when, kill_if_lingering), key=lambda timer: timer[0])

        def time_out() -> None:
            timed_out.append(True)
            stop_restic()

        if timeout_seconds > 0:
            timers.append((SYSTEM.monotonic() + timeout_seconds, time_out))
        # Registered from the start: a stop that came just before reaches restic at once.
        with self.stop.registered(process.pid, stop_restic):
            try:
                left_open = output.follow(process, readers, timers)
            finally:
                # Whatever went wrong above, restic ends on its own terms and is waited for.
                exit_code = output.wait(process, timers)
        if left_open:
            logger.warning("a process left by %s holds restic's output open; not waiting for it", self.binary)
        return exit_code, bool(timed_out)

    def _start(self, arguments: tuple[str, ...], environment: Mapping[str, str]) -> subprocess.Popen:
        return subprocess.Popen(
            [self.binary, *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )


def runner(settings: Settings, environment: Mapping[str, str] | None = None) -> Restic:
    """restic as the helper runs it: RESTIC_BIN, with the settings' environment (or another
    repository's) and RESTIC_STUCK_REQUEST_TIMEOUT, killed when it outlives a stop by its share
    of STOP_GRACE_SECONDS."""
    stuck = settings.restic_stuck_request_timeout
    return Restic(
        settings.restic_bin,
        settings.restic_environment if environment is None else environment,
        settings.stop_grace_seconds * RESTIC_SHARE_OF_GRACE,
        ("--stuck-request-timeout", f"{stuck:g}s") if stuck else (),
    )


class Consumer:
    """restic's stdout read whole by a worker's function in a thread (`restic dump` is binary).
    Whatever the function leaves unread is drained, so restic never dies of a closed pipe with
    its lock left behind; when the function fails, restic is stopped first."""

    def __init__(self, process: subprocess.Popen, consume: Callable[[BinaryIO], None]) -> None:
        self.process, self.consume = process, consume
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._read, name="restic-stdout", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        stream = self.process.stdout
        try:
            self.consume(stream)
        except BaseException as error:  # noqa: BLE001 - raised again in the caller's thread
            self.error = error
            interrupt_group(self.process.pid)
        while stream.read(output.CHUNK_BYTES):
            pass

    def finish(self) -> BaseException | None:
        """Wait for the reader; return what the worker's function raised, if anything."""
        self.thread.join()
        self.process.stdout.close()
        return self.error
