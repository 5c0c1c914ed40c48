"""What /proc says about a PID on this host, without sending it any signal
(restic's own check sends SIGHUP, which kills unrelated processes)."""

import contextlib
import os
from collections.abc import Iterable

from helper import procfs
from helper.locks.verdict import Holder
from helper.procfs import PROC

# The kernel keeps only the first 15 bytes of a command name in /proc/<pid>/comm.
COMM_LENGTH = 15


def exists(pid: int) -> bool:
    """Whether the PID has a process, asked of the kernel: kill(pid, 0) sends no signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def process_state(pid: int) -> str:
    """Return "alive", "zombie" or "gone" for a PID of this PID namespace."""
    if pid <= 0:
        return "gone"
    try:
        status = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        # /proc mounted with hidepid hides other users' processes: only the kernel knows.
        return "alive" if exists(pid) else "gone"
    except OSError:
        return "alive"  # it exists, we just may not read it
    for line in status.splitlines():
        if line.startswith("State:"):
            return "zombie" if line.split()[1] in ("Z", "X") else "alive"
    return "alive"


def process_name(pid: int) -> str:
    try:
        return (PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return ""


def program_names(pid: int) -> set[str]:
    """Return the names a process goes by: its comm, and the base names of argv[0] and its executable."""
    names = {process_name(pid)}
    try:
        argv0 = (PROC / str(pid) / "cmdline").read_bytes().split(b"\0", 1)[0]
        names.add(os.path.basename(argv0.decode(errors="replace")))
    except OSError:
        pass
    with contextlib.suppress(OSError):
        names.add(os.path.basename(os.readlink(PROC / str(pid) / "exe")).removesuffix(" (deleted)"))
    return {name for name in names if name}


def signal_permitted(pid: int) -> bool:
    """Whether kill(pid, sig) from this process would pass the kernel's permission check."""
    if os.geteuid() == 0:
        return True
    try:
        status = (PROC / str(pid) / "status").read_text()
        real, _effective, saved = next(
            line.split()[1:4] for line in status.splitlines() if line.startswith("Uid:")
        )
    except (OSError, StopIteration, ValueError):
        return False
    return bool({str(os.getuid()), str(os.geteuid())} & {real, saved})


def holder_facts(pid: int, restic_names: Iterable[str]) -> Holder:
    """Given a PID recorded in a lock of this host, return /proc's facts about it."""
    state = process_state(pid)
    if state != "alive":
        return Holder(state, signal_permitted=state == "zombie" and signal_permitted(pid))
    names = program_names(pid)
    wanted = {name for given in restic_names for name in (given, given[:COMM_LENGTH])}
    is_restic = bool(names & wanted) if names else None
    return Holder(
        "alive",
        is_restic=is_restic,
        name=process_name(pid) or next(iter(names), ""),
        started_at=procfs.start_time(pid),
        signal_permitted=signal_permitted(pid),
    )
