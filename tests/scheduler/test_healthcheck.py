"""bin/healthcheck reads the heartbeat only: alive, the same process, and not late for the
wake-up it promised. It never runs restic."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

from helper.scheduler.heartbeat import process_start_ticks


def heartbeat(path, **fields) -> None:
    document = {
        "pid": os.getpid(),
        "process_start_ticks": process_start_ticks(os.getpid()),
        "state": "running",
        "next_wake_at": (datetime.now(UTC) + timedelta(hours=6)).isoformat(),
        **fields,
    }
    path.write_text(json.dumps(document))


def healthcheck(sandbox, *arguments):
    # An empty PATH: were it to start restic, it could not find it.
    return sandbox.helper("healthcheck", *arguments, RESTIC_BIN="restic", PATH="/nonexistent")


def test_a_live_scheduler_that_keeps_its_promise_is_healthy(sandbox):
    heartbeat(sandbox.log_dir / "scheduler.json")
    completed = healthcheck(sandbox)
    assert completed.returncode == 0, completed.stdout
    assert completed.stdout.startswith("healthy: scheduler pid ")


def test_no_heartbeat_is_unhealthy(sandbox):
    completed = healthcheck(sandbox)
    assert (completed.returncode, completed.stdout.split(":")[0]) == (1, "unhealthy")


def test_a_scheduler_late_for_its_wake_up_is_unhealthy(sandbox):
    late = datetime.now(UTC) - timedelta(minutes=5)
    heartbeat(sandbox.log_dir / "scheduler.json", next_wake_at=late.isoformat())
    completed = healthcheck(sandbox)
    assert completed.returncode == 1
    assert "late for its wake-up" in completed.stdout
    assert healthcheck(sandbox, "--slack", "600").returncode == 0


def test_a_dead_or_replaced_process_is_unhealthy(sandbox):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    heartbeat(sandbox.log_dir / "scheduler.json", pid=gone.pid)
    assert "is not running" in healthcheck(sandbox).stdout
    heartbeat(sandbox.log_dir / "scheduler.json", process_start_ticks=1)
    assert "is another process now" in healthcheck(sandbox).stdout


def test_a_stopped_scheduler_is_unhealthy_and_no_jobs_is_fine(sandbox):
    heartbeat(sandbox.log_dir / "scheduler.json", state="stopped")
    assert healthcheck(sandbox).returncode == 1
    heartbeat(sandbox.log_dir / "scheduler.json", next_wake_at=None)
    started = time.monotonic()
    assert healthcheck(sandbox).returncode == 0
    assert time.monotonic() - started < 5
