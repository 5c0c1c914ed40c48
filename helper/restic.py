"""The only code that starts restic.

restic runs in its own process group, and its output is read to the end (a closed pipe
kills restic with SIGPIPE and leaves its lock behind). A SIGTERM or SIGINT that reaches
this process is forwarded to restic's group as SIGINT, as a terminal's Ctrl-C would be, so
restic removes its own lock.
"""

import contextlib
import json
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from helper.outcome import Outcome, Status, classify
from helper.runlog import RunLog

# restic reaches sftp and rclone repositories through a child that it moves out of its process
# group only when it runs on a terminal. A SIGINT to that child ends it before restic can remove
# its lock (seen: "Remove(<lock/...>) failed: ssh command exited: exit status 255").
TRANSPORTS = frozenset({"ssh", "sshpass", "rclone"})
STDERR_KEPT_BYTES = 64 * 1024
# restic prints dozens of progress messages a second when stdout is no terminal.
QUIET_PROGRESS = {"RESTIC_PROGRESS_FPS": "0.0167"}
PROGRESS_TYPES = ('"message_type":"status"', '"message_type":"verbose_status"')

# A timed-out restic gets this long to honour SIGINT before SIGKILL; 124 as GNU timeout says.
TIMEOUT_KILL_AFTER_SECONDS = 10
EXIT_TIMED_OUT = 124

_running: set[subprocess.Popen] = set()
_interrupted = threading.Event()


@dataclass(frozen=True)
class Completed:
    """What one restic call left behind: raw exit code, outcome, and its parsed output."""

    exit_code: int
    outcome: Outcome
    messages: tuple[dict, ...] = ()
    stdout: str = ""
    stderr: str = ""
    arguments: tuple[str, ...] = field(default=())


def interrupted() -> bool:
    return _interrupted.is_set()


def forward_interrupt(signum: int, _frame: object = None) -> None:
    """Signal handler: remember the interrupt and pass SIGINT to every running restic."""
    _interrupted.set()
    for process in list(_running):
        interrupt_group(process.pid)


def interrupt_group(leader: int) -> None:
    """SIGINT restic and the rest of its process group (its --stdin-from-command), but not the
    transport that restic needs to remove its lock."""
    _send_interrupt(leader)
    for pid, parent, name in _group_members(leader):
        if pid != leader and not (parent == leader and name in TRANSPORTS):
            _send_interrupt(pid)


def _send_interrupt(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGINT)


def _group_members(group: int) -> list[tuple[int, int, str]]:
    """Return (pid, parent pid, command name) of every process in a process group, from /proc."""
    members = []
    for entry in os.scandir("/proc"):
        try:
            stat = Path(entry.path, "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        # The command name sits in parentheses and may hold spaces; state, ppid, pgrp follow it.
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        fields = rest.split()
        if len(fields) > 2 and fields[2] == str(group):
            members.append((int(entry.name), int(fields[1]), name))
    return members


def stop_on_timeout(process: subprocess.Popen, timed_out: threading.Event) -> None:
    """Timer callback: SIGINT first, so restic removes its lock; SIGKILL if it lingers."""
    timed_out.set()
    interrupt_group(process.pid)
    try:
        process.wait(TIMEOUT_KILL_AFTER_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)


def install_signal_forwarding() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward_interrupt)


def parse_json_line(line: str) -> dict | list | None:
    if not line.startswith(("{", "[")):
        return None
    try:
        return json.loads(line)
    except ValueError:
        return None


class Restic:
    """Runs restic with the helper's settings, streaming masked output into the run log."""

    def __init__(self, binary: str, environment: Mapping[str, str], log: RunLog) -> None:
        self.binary = binary
        self.environment = {**QUIET_PROGRESS, **environment}
        self.log = log

    def run(self, *arguments: str, echo: bool = True, timeout_seconds: float = 0) -> Completed:
        """Run `restic <arguments>` to completion. Given echo=False, keep stdout out of the log.
        Given timeout_seconds > 0, stop restic once that time has passed (exit 124)."""
        if interrupted():
            outcome = Outcome(Status.INTERRUPTED, 130, "interrupted before restic started")
            return Completed(130, outcome, arguments=arguments)
        # Quoted as a shell would need it: *_ARGS are split into shell words, so show the words.
        self.log.line("$ restic " + shlex.join(arguments), console=False)
        try:
            process = subprocess.Popen(
                [self.binary, *arguments],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.environment,
                start_new_session=True,
                text=True,
                errors="replace",
            )
        except OSError as error:
            outcome = Outcome(Status.FAILED, 127, f"cannot start {self.binary}: {error.strerror}")
            return Completed(127, outcome, stderr=str(error), arguments=arguments)
        _running.add(process)
        if interrupted():  # the signal came between the check above and Popen
            forward_interrupt(signal.SIGINT)
        timed_out = threading.Event()
        timer = threading.Timer(timeout_seconds, stop_on_timeout, (process, timed_out))
        if timeout_seconds > 0:
            timer.start()
        try:
            messages, stdout, stderr = self._drain(process, echo)
            exit_code = process.wait()
        finally:
            timer.cancel()
            _running.discard(process)
        outcome = classify(exit_code, stderr, interrupted())
        if timed_out.is_set() and not interrupted():
            exit_code = EXIT_TIMED_OUT
            hint = f"restic did not finish within {timeout_seconds:g}s"
            outcome = Outcome(Status.FAILED, EXIT_TIMED_OUT, hint)
        return Completed(exit_code, outcome, tuple(messages), stdout, stderr, arguments)

    def _drain(self, process: subprocess.Popen, echo: bool) -> tuple[list[dict], str, str]:
        errors: list[str] = []
        reader = threading.Thread(target=self._read_stderr, args=(process.stderr, errors))
        reader.start()
        messages: list[dict] = []
        stdout: list[str] = []
        for line in process.stdout:
            if line.startswith(PROGRESS_TYPES, 1):
                continue
            parsed = parse_json_line(line)
            if isinstance(parsed, dict):
                messages.append(parsed)
            elif isinstance(parsed, list):
                messages.append({"message_type": "list", "items": parsed})
            stdout.append(line)
            if echo and parsed is None:
                self.log.line(line, console=False)
        reader.join()
        return messages, "".join(stdout), "".join(errors)[-STDERR_KEPT_BYTES:]

    def _read_stderr(self, stream, errors: list[str]) -> None:
        for line in stream:
            text = error_text(line).replace("\x1b[2K", "").rstrip("\n")
            errors.append(text + "\n")
            # A --json error message holds several lines; each gets its own log stamp.
            for part in text.splitlines() or [""]:
                self.log.line(part)


def error_text(line: str) -> str:
    """Return the human message of a stderr line, unwrapping restic's --json error objects."""
    parsed = parse_json_line(line)
    if not isinstance(parsed, dict):
        return line
    nested = parsed.get("error")
    if isinstance(nested, dict) and "message" in nested:
        return str(nested["message"])
    return str(parsed.get("message", line))
