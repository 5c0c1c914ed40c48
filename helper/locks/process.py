"""What /proc says about a PID on this host, without sending it any signal
(restic's own check sends SIGHUP, which kills unrelated processes)."""

from pathlib import Path

PROC = Path("/proc")


def process_state(pid: int) -> str:
    """Return "alive", "zombie" or "gone" for a PID of this PID namespace."""
    if pid <= 0:
        return "gone"
    try:
        status = (PROC / str(pid) / "status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return "gone"
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
