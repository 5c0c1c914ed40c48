"""bin/healthcheck as the Dockerfile runs it: it reads the heartbeat only and never runs restic,
and a one-shot container is healthy. The verdict's every case is in tests/unit/diagnostics."""

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from helper.heartbeat import process_start_ticks


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
    return sandbox.helper("healthcheck", *arguments, RESTIC_BIN=sandbox.root / "restic")


@pytest.fixture(autouse=True)
def restic_that_leaves_a_marker(sandbox):
    """RESTIC_BIN for these tests: a restic that leaves a marker file when it is started."""
    marker = sandbox.root / "restic-was-run"
    script = sandbox.root / "restic"
    script.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sandbox.env["RESTIC_BIN"]}" "$@"\n')
    script.chmod(0o755)
    yield
    assert not marker.exists(), "the health check ran restic"


def test_a_live_scheduler_that_keeps_its_promise_is_healthy(sandbox):
    heartbeat(sandbox.log_dir / "scheduler.json")
    completed = healthcheck(sandbox)
    assert completed.returncode == 0, completed.stdout
    assert completed.stdout.startswith("healthy: scheduler pid ")


def test_the_marker_restic_does_leave_its_marker(sandbox):
    """The guard of every test here works: this restic, once started, is noticed."""
    marker = sandbox.root / "restic-was-run"
    subprocess.run([sandbox.root / "restic", "version"], check=True, capture_output=True)
    assert marker.exists()
    marker.unlink()


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


def in_a_container(sandbox, *arguments: str) -> subprocess.CompletedProcess:
    """Run bin/entry with `arguments` as PID 1 of a new PID namespace, as in a container."""
    namespace = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"]
    return subprocess.run(
        [*namespace, sys.executable, "-m", "helper", "entry", *arguments],
        env=sandbox.env,
        text=True,
        capture_output=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_a_one_shot_container_is_healthy_while_its_worker_runs(sandbox):
    health = sandbox.root / "health.txt"
    # The pre-hook runs inside the one-shot "container", while PID 1 is the prune worker.
    sandbox.hook(
        "pre-prune.sh", f'{sys.executable} -m helper healthcheck > "{health}"\necho "exit $?" >> "{health}"\n'
    )
    completed = in_a_container(sandbox, "prune")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert health.read_text() == "healthy: a one-shot prune run, no scheduler in this container\nexit 0\n"
    assert not (sandbox.log_dir / "scheduler.json").exists()


def test_a_container_running_anything_else_is_still_unhealthy_without_a_scheduler(sandbox):
    completed = in_a_container(sandbox, "sh", "-c", f"{sys.executable} -m helper healthcheck")
    assert (completed.returncode, completed.stdout) == (
        1,
        "unhealthy: no readable heartbeat: is the scheduler running?\n",
    ), completed.stderr
