"""The only code that starts restic.

restic runs in its own process group, and its output is read to the end (a closed pipe
kills restic with SIGPIPE and leaves its lock behind). A SIGTERM or SIGINT that reaches
this process is forwarded to restic as SIGINT, so restic removes its own lock.
"""

import contextlib
import json
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from helper.outcome import Outcome, Status, classify
from helper.runlog import RunLog

STDERR_KEPT_BYTES = 64 * 1024
# restic prints dozens of progress messages a second when stdout is no terminal.
QUIET_PROGRESS = {"RESTIC_PROGRESS_FPS": "0.0167"}
PROGRESS_TYPES = ('"message_type":"status"', '"message_type":"verbose_status"')

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
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGINT)


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

    def run(self, *arguments: str, echo: bool = True) -> Completed:
        """Run `restic <arguments>` to completion. Given echo=False, keep stdout out of the log."""
        if interrupted():
            outcome = Outcome(Status.INTERRUPTED, 130, "interrupted before restic started")
            return Completed(130, outcome, arguments=arguments)
        self.log.line("$ restic " + " ".join(arguments), console=False)
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
        try:
            messages, stdout, stderr = self._drain(process, echo)
            exit_code = process.wait()
        finally:
            _running.discard(process)
        outcome = classify(exit_code, stderr, interrupted())
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
            self.log.line(text)


def error_text(line: str) -> str:
    """Return the human message of a stderr line, unwrapping restic's --json error objects."""
    parsed = parse_json_line(line)
    if not isinstance(parsed, dict):
        return line
    nested = parsed.get("error")
    if isinstance(nested, dict) and "message" in nested:
        return str(nested["message"])
    return str(parsed.get("message", line))
