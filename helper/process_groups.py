"""Who is in a process group, read from /proc (restic's group holds its helpers too)."""

import os
from pathlib import Path


def members(group: int) -> list[tuple[int, int, str]]:
    """Return (pid, parent pid, command name) of every process in a process group."""
    found = []
    for entry in os.scandir("/proc"):
        try:
            stat = Path(entry.path, "stat").read_text() if entry.name.isdigit() else ""
        except OSError:
            continue
        # The command name sits in parentheses and may hold spaces; state, ppid, pgrp follow it.
        name, _, rest = stat.partition(" (")[2].rpartition(") ")
        fields = rest.split()
        if len(fields) > 2 and fields[2] == str(group):
            found.append((int(entry.name), int(fields[1]), name))
    return found
