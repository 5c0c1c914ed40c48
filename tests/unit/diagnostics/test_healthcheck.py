"""The health verdict on a heartbeat document, at a given time: healthy only when the process
it names is alive, is the same process, has finished starting and keeps its promised wake-up."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from helper.heartbeat import process_start_ticks, verdict

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def document(**fields) -> dict:
    """A heartbeat written by this very process: alive and the same process."""
    return {
        "pid": os.getpid(),
        "process_start_ticks": process_start_ticks(os.getpid()),
        "state": "running",
        "next_wake_at": (NOW + timedelta(hours=6)).isoformat(),
        **fields,
    }


def judge(heartbeat: dict | None, slack: float = 120) -> tuple[bool, str]:
    return verdict(heartbeat, NOW.timestamp(), slack)


def test_a_running_scheduler_that_keeps_its_promise_is_healthy():
    healthy, reason = judge(document())
    assert healthy and reason.startswith(f"scheduler pid {os.getpid()} is running; next wake ")


def test_a_scheduler_with_no_job_promises_nothing_and_is_healthy():
    assert judge(document(next_wake_at=None)) == (
        True,
        f"scheduler pid {os.getpid()} is running; no job scheduled",
    )


def test_no_heartbeat_is_unhealthy():
    assert judge(None) == (False, "no readable heartbeat: is the scheduler running?")


def test_a_dead_process_is_unhealthy():
    # The kernel never hands out pid_max itself.
    gone = int(Path("/proc/sys/kernel/pid_max").read_text())
    assert judge(document(pid=gone)) == (False, f"the scheduler (pid {gone}) is not running")
    assert judge(document(pid="1"))[0] is False


def test_a_reused_pid_is_another_process():
    assert judge(document(process_start_ticks=1)) == (
        False,
        f"pid {os.getpid()} is another process now; the scheduler is gone",
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("stopped", "the scheduler has stopped"),
        ("starting", f"the scheduler (pid {os.getpid()}) is still starting: probing the repository"),
    ],
)
def test_a_stopped_or_starting_scheduler_is_unhealthy(state, reason):
    assert judge(document(state=state)) == (False, reason)


def test_lateness_counts_against_the_slack():
    late = document(next_wake_at=(NOW - timedelta(minutes=5)).isoformat())
    healthy, reason = judge(late, slack=120)
    assert not healthy and reason.startswith("the scheduler is 300s late for its wake-up at ")
    assert judge(late, slack=600)[0] is True


@pytest.mark.parametrize("promise", ["soon", 17, ["2024-05-01"]])
def test_an_unreadable_promise_is_unhealthy_not_a_crash(promise):
    assert judge(document(next_wake_at=promise)) == (
        False,
        f"unreadable heartbeat: next_wake_at is {promise!r}",
    )
