"""The scheduler's children: one worker process per tick, its output read line by line, and
every exit collected by one reaper, orphans included.

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

from helper.clock import Clock

# A line longer than this is passed on in pieces rather than held in memory.
LONGEST_LINE = 64 * 1024
PR_SET_CHILD_SUBREAPER = 36


@dataclass
class Child:
    """One worker run started by a tick."""

    job: str
    process: subprocess.Popen
    scheduled_for: datetime
    started_at: datetime
    pending: bytes = b""
    output_open: bool = True
    exit_code: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> int:
        return self.process.stdout.fileno()

    @property
    def finished(self) -> bool:
        return self.exit_code is not None and not self.output_open


def worker_command(job: str) -> list[str]:
    """The argv of one scheduled run: the same worker as /bin/<job>, with SCHEDULE_LOCK_WAIT."""
    return [sys.executable, "-m", "helper", job, "--scheduled"]


def spawn(job: str, environment: Mapping[str, str], scheduled_for: datetime, clock: Clock) -> Child:
    """Start the worker for `job`; `started_at` is the clock's now once the process exists.
    Raise OSError when it cannot start."""
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
    os.set_blocking(process.stdout.fileno(), False)
    return Child(job, process, scheduled_for, started_at)


def pump(child: Child, emit: Callable[[str, str], None]) -> None:
    """Pass on every complete line the child has written so far; at end of output, the rest."""
    while True:
        try:
            chunk = os.read(child.output, 65536)
        except BlockingIOError:
            break
        except OSError:
            chunk = b""
        if not chunk:
            if child.pending:
                emit(child.job, child.pending.decode("utf-8", "replace"))
            child.pending = b""
            child.output_open = False
            child.process.stdout.close()
            return
        child.pending += chunk
        *lines, child.pending = child.pending.split(b"\n")
        for line in lines:
            emit(child.job, line.decode("utf-8", "replace"))
        if len(child.pending) > LONGEST_LINE:
            emit(child.job, child.pending.decode("utf-8", "replace"))
            child.pending = b""


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


def descendants(root: int) -> list[int]:
    """Return the pids of every process below `root`, read from /proc."""
    children_of: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children_of.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        below = children_of.get(queue.pop(), [])
        found += below
        queue += below
    return found


def kill_tree(child: Child) -> None:
    """SIGKILL the worker and everything below it: restic and hooks run in groups of their own."""
    tree = descendants(child.pid)
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
