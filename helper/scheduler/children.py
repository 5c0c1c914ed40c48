"""The scheduler's children: one worker process per tick, its output read line by line (by the
one reader, helper.output), and every exit collected by one reaper, orphans included.

A worker runs in its own process group, so a terminal's Ctrl-C reaches only PID 1, which
decides what the workers get. The worker, not PID 1, passes SIGINT on to restic.
"""

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from helper import procfs
from helper.clock import Clock
from helper.output import LineReader

PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Child:
    """One worker run started by a tick."""

    job: str
    process: subprocess.Popen
    scheduled_for: datetime
    started_at: datetime
    reader: LineReader
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output_open(self) -> bool:
        return self.reader.open

    @property
    def finished(self) -> bool:
        return self.exit_code is not None and not self.reader.open


def worker_command(job: str) -> list[str]:
    """The argv of one scheduled run: the same worker as /bin/<job>, with SCHEDULE_LOCK_WAIT."""
    return [sys.executable, "-m", "helper", job, "--scheduled"]


def spawn(
    job: str,
    environment: Mapping[str, str],
    scheduled_for: datetime,
    clock: Clock,
    emit: Callable[[str, str], None],
) -> Child:
    """Start the worker for `job`, whose lines go to `emit(job, line)`; `started_at` is the
    clock's now once the process exists. Raise OSError when it cannot start."""
    process = subprocess.Popen(
        worker_command(job),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**environment, "PYTHONUNBUFFERED": "1"},
        process_group=0,
        bufsize=0,
    )
    started_at = clock.now()
    return Child(
        job, process, scheduled_for, started_at, LineReader(process.stdout, lambda line: emit(job, line))
    )


def reap(children: Mapping[int, Child]) -> int:
    """Collect every exited child without blocking. A tracked worker gets its exit code (the
    one reaper, so Popen never races it); return how many untracked orphans were reaped."""
    orphans = 0
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return orphans
        if pid == 0:
            return orphans
        exit_code = os.waitstatus_to_exitcode(status)
        child = children.get(pid)
        if child is None:
            orphans += 1
            continue
        child.exit_code = exit_code
        child.process.returncode = exit_code


def interrupt(child: Child) -> None:
    """Ask the worker to stop: SIGINT to its group; the worker hands it on to restic."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGINT)


def kill_tree(child: Child) -> None:
    """SIGKILL the worker and everything below it: restic and hooks run in groups of their own."""
    tree = procfs.descendants(child.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def become_subreaper() -> bool:
    """Outside a container's PID 1, adopt orphaned descendants as PID 1 would (Linux only)."""
    if os.getpid() == 1:
        return True
    try:
        import ctypes  # only here: PID 1 in the image never needs it

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
