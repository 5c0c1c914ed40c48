"""The local run lock (`locked_run`): one flock held for a whole run, hooks included, so a
cron tick and a manual `docker exec` never overlap. Independent of restic's repository locks.

The kernel drops an flock when its last descriptor closes, so a dead run never blocks the next
one. The lock stays held after its recorded holder died only when a process that inherited the
descriptor lives on (a command of `locked_run` that left a child behind). LOCK_FORCE_INACTIVE
takes such a lock over by replacing the file: the straggler keeps the old, unlinked one.

Every attempt runs under a second flock, the guard, held for a moment: taking the lock and
writing its holder happen together, so a takeover always reads the record of the process that
holds the lock, never one that has just finished or not yet written its own. An attempt that
cannot get the guard within GUARD_WAIT_SECONDS (its holder is stopped or hung) finds the run
lock busy, and a stop signal ends the wait for the guard as it ends the wait for the lock.
"""

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from helper.clock import Clock
from helper.locks.budget import WaitBudget
from helper.locks.process import process_state

# Set by `locked_run` for its child: that path is already locked by an inherited descriptor.
HELD_LOCK_VARIABLE = "RESTIC_HELPER_HELD_LOCK"
POLL_SECONDS = 0.1
RUN_LOCK_NAME = "run.lock"
GUARD_SUFFIX = ".guard"
# The guard is held for a few system calls; seconds mean its holder is stuck.
GUARD_WAIT_SECONDS = 5.0
GUARD_POLL_SECONDS = 0.01
# A lock file replaced this often while we hold the guard is being replaced by hand, in a loop.
REPLACED_TRIES = 10


@dataclass
class RunLock:
    path: Path
    descriptor: int | None  # None when a parent process holds it for us
    took_over_from: dict | None = None
    waited: float = 0.0  # seconds spent waiting for it

    def release(self) -> None:
        if self.descriptor is not None:
            # Emptied while still held, so the record never names a run that has finished.
            with contextlib.suppress(OSError):
                os.ftruncate(self.descriptor, 0)
            os.close(self.descriptor)
            self.descriptor = None

    def takeover_message(self) -> str:
        return (
            f"took over the run lock {self.path} from {self.took_over_from}, "
            "whose process is gone (LOCK_FORCE_INACTIVE)"
        )


@dataclass(frozen=True)
class Busy:
    path: Path
    holder: dict
    waited: float


def read_holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return {}


def guard_path(path: Path) -> Path:
    return path.with_name(path.name + GUARD_SUFFIX)


@contextlib.contextmanager
def _guard(path: Path, cancelled: Callable[[], bool], clock: Clock) -> Iterator[bool]:
    """Hold the guard of `path` and yield True; yield False when it stays busy for
    GUARD_WAIT_SECONDS or the run is cancelled. Only our own attempts take it, each for a
    moment, never across a fork (the descriptor is not inherited)."""
    # Read-only, since flock needs no write access: a guard created by another user (root's
    # `docker exec`, with its umask) still serves everyone who can use the lock directory.
    descriptor = os.open(guard_path(path), os.O_RDONLY | os.O_CREAT, 0o666)
    try:
        yield _flock_within(descriptor, GUARD_WAIT_SECONDS, cancelled, clock)
    finally:
        os.close(descriptor)


def _flock_within(descriptor: int, seconds: float, cancelled: Callable[[], bool], clock: Clock) -> bool:
    deadline = clock.monotonic() + seconds
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if cancelled() or clock.monotonic() >= deadline:
                return False
        clock.sleep(GUARD_POLL_SECONDS)


def _names_the_same_file(path: Path, descriptor: int) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (on_disk.st_dev, on_disk.st_ino) == (opened.st_dev, opened.st_ino)


def _try_lock(path: Path) -> int | None:
    """Lock the file at `path` without blocking; None when it is busy. A file replaced between
    the open and the flock (by a takeover, or by hand) is not the lock any more: try again."""
    for _ in range(REPLACED_TRIES):
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            return None
        if _names_the_same_file(path, descriptor):
            return descriptor
        os.close(descriptor)
    return None


def _record_holder(descriptor: int, job: str, clock: Clock) -> None:
    """Replace the record with ours. Emptying the file must work: a record left naming a run
    that has finished would let LOCK_FORCE_INACTIVE take the lock from us. Writing ours is
    best-effort (a full disk): an empty or cut-off record names nobody, so nobody takes over."""
    os.ftruncate(descriptor, 0)
    holder = {
        "pid": os.getpid(),
        "hostname": os.uname().nodename,
        "job": job,
        "started_at": clock.now().astimezone().isoformat(timespec="seconds"),
    }
    with contextlib.suppress(OSError):
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)


def _holder_is_gone(holder: dict) -> bool:
    """True when the recorded holder ran on this host and its process no longer lives."""
    if holder.get("hostname") != os.uname().nodename or not isinstance(holder.get("pid"), int):
        return False
    return process_state(holder["pid"]) != "alive"


def _attempt(
    path: Path, job: str, force_inactive: bool, cancelled: Callable[[], bool], clock: Clock
) -> RunLock | None:
    """Take the lock (over, when allowed and its holder is gone) and record us; None when busy."""
    with _guard(path, cancelled, clock) as guarded:
        if not guarded:
            return None
        descriptor = _try_lock(path)
        took_over_from = None
        if descriptor is None and force_inactive:
            holder = read_holder(path)
            if _holder_is_gone(holder):
                path.unlink(missing_ok=True)
                descriptor = _try_lock(path)
                took_over_from = holder
        if descriptor is None:
            return None
        try:
            _record_holder(descriptor, job, clock)
        except OSError:
            os.close(descriptor)
            raise
        return RunLock(path, descriptor, took_over_from)


def acquire(
    path: Path,
    job: str,
    budget: WaitBudget,
    force_inactive: bool = False,
    cancelled: Callable[[], bool] = lambda: False,
) -> RunLock | Busy:
    """Lock `path` for this run, waiting while the budget lasts and nobody `cancelled` the run.
    Return the lock or Busy. The budget's clock paces every wait here, the guard's included."""
    if os.environ.get(HELD_LOCK_VARIABLE) == str(path):
        return RunLock(path, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    clock = budget.clock
    started = clock.monotonic()
    try:
        while True:
            lock = _attempt(path, job, force_inactive, cancelled, clock)
            if lock is not None:
                lock.waited = clock.monotonic() - started
                return lock
            budget.start(started)
            if budget.remaining() <= 0 or cancelled():
                return Busy(path, read_holder(path), clock.monotonic() - started)
            clock.sleep(min(POLL_SECONDS, budget.remaining()))
    finally:
        budget.stop()


def default_path(lock_dir: str) -> Path:
    return Path(lock_dir) / RUN_LOCK_NAME
