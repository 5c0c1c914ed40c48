"""`$LOG_DIR/scheduler.json`: the scheduler's pid, its jobs and when it next wakes, rewritten
atomically whenever that changes. The health check reads it and never runs restic.

The scheduler does not wake up between fires just to touch this file. Instead it promises
a time, `next_wake_at`: a scheduler that is alive and not past that promise is healthy.
"""

import contextlib
import json
import os
from datetime import datetime
from pathlib import Path

from helper import procfs
from helper.clock import SYSTEM
from helper.files import atomic_write_text

FILE_NAME = "scheduler.json"


def path_in(log_dir: str) -> Path:
    return Path(log_dir) / FILE_NAME


def process_start_ticks(pid: int) -> int | None:
    """Return the kernel's start time of `pid` (clock ticks since boot), or None when it is gone.
    With the pid it names one process, even after the pid is reused."""
    stat = procfs.read_stat(pid)
    return None if stat is None or stat.state == "Z" else stat.start_ticks


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone().isoformat(timespec="milliseconds") if moment else None


def identity(hostname: str) -> dict:
    """The fields that name this scheduler process, even across pid reuse."""
    return {"pid": os.getpid(), "process_start_ticks": process_start_ticks(os.getpid()), "hostname": hostname}


def write_phase(log_dir: str, hostname: str, state: str, promised: datetime | None) -> None:
    """Record a phase before or after the loop runs: `starting` (the probe) or `stopped`."""
    now = SYSTEM.now().astimezone()
    document = {**identity(hostname), "state": state, "written_at": iso(now), "next_wake_at": iso(promised)}
    with contextlib.suppress(OSError):  # the loop reports an unwritable LOG_DIR once it runs
        write(path_in(log_dir), document)


def write(path: Path, document: dict) -> None:
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def read(path: Path) -> dict | None:
    """Return the heartbeat document, or None when there is none or it cannot be read."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def verdict(document: dict | None, now: float, slack_seconds: float) -> tuple[bool, str]:
    """Given the heartbeat document and the time (epoch seconds), return (healthy, reason)."""
    if document is None:
        return False, "no readable heartbeat: is the scheduler running?"
    pid = document.get("pid")
    if not isinstance(pid, int) or process_start_ticks(pid) is None:
        return False, f"the scheduler (pid {pid}) is not running"
    if process_start_ticks(pid) != document.get("process_start_ticks"):
        return False, f"pid {pid} is another process now; the scheduler is gone"
    state = document.get("state")
    if state == "stopped":
        return False, "the scheduler has stopped"
    if state == "starting":
        # Services that wait for "healthy" count on the repository being there by then.
        return False, f"the scheduler (pid {pid}) is still starting: probing the repository"
    promised = document.get("next_wake_at")
    if promised:
        try:
            late = now - datetime.fromisoformat(promised).timestamp()
        except (TypeError, ValueError):
            return False, f"unreadable heartbeat: next_wake_at is {promised!r}"
        if late > slack_seconds:
            return False, f"the scheduler is {late:.0f}s late for its wake-up at {promised}"
    upcoming = f"next wake {promised}" if promised else "no job scheduled"
    return True, f"scheduler pid {pid} is {state}; {upcoming}"
