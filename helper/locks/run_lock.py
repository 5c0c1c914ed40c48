"""The local run lock (`locked_run`): one flock held for a whole run, hooks included, so a
cron tick and a manual `docker exec` never overlap. Independent of restic's repository locks."""

import fcntl
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helper.locks.budget import WaitBudget
from helper.locks.process import process_state

# Set by `locked_run` for its child: that path is already locked by an inherited descriptor.
HELD_LOCK_VARIABLE = "RESTIC_HELPER_HELD_LOCK"
POLL_SECONDS = 0.1
RUN_LOCK_NAME = "run.lock"


@dataclass
class RunLock:
    path: Path
    descriptor: int | None  # None when a parent process holds it for us
    took_over_from: dict | None = None
    waited: float = 0.0  # seconds spent waiting for it

    def release(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None


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


def _try_lock(path: Path) -> int | None:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def _record_holder(descriptor: int, job: str) -> None:
    holder = {
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "job": job,
        "started_at": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(holder).encode(), 0)


def _holder_is_gone(holder: dict) -> bool:
    """True when the recorded holder ran on this host and its process no longer lives."""
    if holder.get("hostname") != socket.gethostname() or not isinstance(holder.get("pid"), int):
        return False
    return process_state(holder["pid"]) != "alive"


def _take_over(path: Path) -> int | None:
    """Replace a lock file whose holder is gone; a straggler keeps only the unlinked inode."""
    path.unlink(missing_ok=True)
    return _try_lock(path)


def acquire(
    path: Path,
    job: str,
    budget: WaitBudget,
    force_inactive: bool = False,
    cancelled: Callable[[], bool] = lambda: False,
) -> RunLock | Busy:
    """Lock `path` for this run, waiting while the budget lasts and nobody `cancelled` the run.
    Return the lock or Busy."""
    if os.environ.get(HELD_LOCK_VARIABLE) == str(path):
        return RunLock(path, None)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    while True:
        descriptor = _try_lock(path)
        took_over_from = None
        if descriptor is None and force_inactive:
            holder = read_holder(path)
            if _holder_is_gone(holder):
                descriptor = _take_over(path)
                took_over_from = holder
        if descriptor is not None:
            waited = time.monotonic() - started
            budget.charge(waited)
            _record_holder(descriptor, job)
            return RunLock(path, descriptor, took_over_from, waited)
        waited = time.monotonic() - started
        if waited >= budget.remaining() or cancelled():
            budget.charge(waited)
            return Busy(path, read_holder(path), waited)
        time.sleep(min(POLL_SECONDS, budget.remaining() - waited))


def default_path(lock_dir: str) -> Path:
    return Path(lock_dir) / RUN_LOCK_NAME
