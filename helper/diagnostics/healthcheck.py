"""`healthcheck`: exit 0 when the scheduler is alive and keeps its promise to wake, else 1.

Reads `$LOG_DIR/scheduler.json` only; it never runs restic. For the Dockerfile HEALTHCHECK.
"""

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from helper import settings
from helper.scheduler import heartbeat

# How late the scheduler may be on its own promised wake-up before it counts as stuck.
DEFAULT_SLACK_SECONDS = 120
EXIT_UNHEALTHY = 1


def verdict(document: dict | None, now: float, slack_seconds: float) -> tuple[bool, str]:
    """Given the heartbeat document and the time (epoch seconds), return (healthy, reason)."""
    if document is None:
        return False, "no readable heartbeat: is the scheduler running?"
    pid = document.get("pid")
    if not isinstance(pid, int) or heartbeat.process_start_ticks(pid) is None:
        return False, f"the scheduler (pid {pid}) is not running"
    if heartbeat.process_start_ticks(pid) != document.get("process_start_ticks"):
        return False, f"pid {pid} is another process now; the scheduler is gone"
    if document.get("state") == "stopped":
        return False, "the scheduler has stopped"
    promised = document.get("next_wake_at")
    if promised:
        late = now - datetime.fromisoformat(promised).timestamp()
        if late > slack_seconds:
            return False, f"the scheduler is {late:.0f}s late for its wake-up at {promised}"
    upcoming = f"next wake {promised}" if promised else "no job scheduled"
    return True, f"scheduler pid {pid} is {document.get('state')}; {upcoming}"


def main(argv: list[str]) -> int:
    """Given `[--heartbeat PATH] [--slack SECONDS]`, print the verdict and return 0 or 1."""
    parser = argparse.ArgumentParser(prog="healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeat", type=Path, help="default: $LOG_DIR/scheduler.json")
    parser.add_argument("--slack", type=float, default=DEFAULT_SLACK_SECONDS, metavar="SECONDS")
    options = parser.parse_args(argv)
    path = options.heartbeat or heartbeat.path_in(settings.load()[0].log_dir)
    healthy, reason = verdict(heartbeat.read(path), time.time(), options.slack)
    sys.stdout.write(f"{'healthy' if healthy else 'unhealthy'}: {reason}\n")
    return 0 if healthy else EXIT_UNHEALTHY
