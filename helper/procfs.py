"""The one reader of `/proc/<pid>/stat`: who a process is, its parent, its group and when it
started. The command name sits in parentheses and may hold spaces or parentheses itself, so
the fields are read after the last ")"."""

import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessStat:
    pid: int
    name: str
    state: str  # one letter: R, S, D, Z, X, ...
    parent: int
    group: int
    start_ticks: int  # clock ticks after boot


def read_stat(pid: int) -> ProcessStat | None:
    """Return the process's stat, or None when it is gone or unreadable."""
    try:
        text = (PROC / str(pid) / "stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    head, _, rest = text.rpartition(")")
    fields = rest.split()
    try:
        return ProcessStat(
            pid, head.partition("(")[2], fields[0], int(fields[1]), int(fields[2]), int(fields[19])
        )
    except (IndexError, ValueError):
        return None


def all_processes() -> list[ProcessStat]:
    """Every process this PID namespace shows."""
    stats = (read_stat(int(entry.name)) for entry in os.scandir(PROC) if entry.name.isdigit())
    return [stat for stat in stats if stat is not None]


def group_members(group: int) -> list[ProcessStat]:
    """Every process in a process group (restic's holds its helpers too)."""
    return [stat for stat in all_processes() if stat.group == group]


def descendants(root: int) -> list[int]:
    """The pids of every process below `root`."""
    children_of: dict[int, list[int]] = {}
    for stat in all_processes():
        children_of.setdefault(stat.parent, []).append(stat.pid)
    found, queue = [], [root]
    while queue:
        below = children_of.get(queue.pop(), [])
        found += below
        queue += below
    return found


def boot_time() -> float | None:
    """When this machine booted (epoch seconds), from /proc/stat."""
    try:
        lines = (PROC / "stat").read_text().splitlines()
        return next(float(line.split()[1]) for line in lines if line.startswith("btime "))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


def start_time(pid: int) -> float | None:
    """When the process started (epoch seconds), or None."""
    stat, boot = read_stat(pid), boot_time()
    if stat is None or boot is None:
        return None
    return boot + stat.start_ticks / os.sysconf("SC_CLK_TCK")
