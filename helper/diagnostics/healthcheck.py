"""`healthcheck`: exit 0 when the scheduler is running and keeps its promise to wake, else 1.

Reads `$LOG_DIR/scheduler.json` and `/proc/1/cmdline` only; it never runs restic. For the
Dockerfile HEALTHCHECK, which also runs in one-shot containers (`docker run IMAGE prune`):
those have no scheduler to watch and are healthy while their worker runs.
"""

import argparse
import sys
from pathlib import Path

from helper import heartbeat, settings
from helper.clock import SYSTEM
from helper.command_names import one_shot_worker
from helper.outcome import EXIT_FAILED, EXIT_OK

# How late the scheduler may be on its own promised wake-up before it counts as stuck.
DEFAULT_SLACK_SECONDS = 120
# The container's main process. With Docker's `init: true` it is docker-init, whose command
# line still ends with the entrypoint and its arguments.
CONTAINER_INIT_PID = 1
ENTRY_WORDS = ("entry", "/bin/entry", "/usr/bin/entry")


def container_worker(pid: int = CONTAINER_INIT_PID) -> str:
    """Return the worker that process `pid` runs as a one-shot container, or "" when it runs
    the scheduler, something else, or cannot be read. A one-shot run writes no heartbeat, and
    must not write one: a `logs` volume may be shared with a scheduler's container."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return ""
    start = next((index for index, word in enumerate(words) if word in ENTRY_WORDS), None)
    if start is None:
        return ""
    return one_shot_worker([word for word in words[start + 1 :] if word])


def main(argv: list[str]) -> int:
    """Given `[--heartbeat PATH] [--slack SECONDS]`, print the verdict and return 0 or 1."""
    parser = argparse.ArgumentParser(prog="healthcheck", description=__doc__.splitlines()[0])
    parser.add_argument("--heartbeat", type=Path, help="default: $LOG_DIR/scheduler.json")
    parser.add_argument("--slack", type=float, default=DEFAULT_SLACK_SECONDS, metavar="SECONDS")
    options = parser.parse_args(argv)
    worker = container_worker()
    if worker:
        sys.stdout.write(f"healthy: a one-shot {worker} run, no scheduler in this container\n")
        return EXIT_OK
    path = options.heartbeat or heartbeat.path_in(settings.load()[0].log_dir)
    healthy, reason = heartbeat.verdict(heartbeat.read(path), SYSTEM.time(), options.slack)
    sys.stdout.write(f"{'healthy' if healthy else 'unhealthy'}: {reason}\n")
    return EXIT_OK if healthy else EXIT_FAILED
