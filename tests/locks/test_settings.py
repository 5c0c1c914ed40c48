"""Lock settings: durations, config errors that name the variable, and the two zeros that turn
restic lock management off."""

import time

import pytest

from helper.settings.kinds import parse_duration
from tests.locks.conftest import output

LOCK_DURATIONS = (
    "SCHEDULE_LOCK_WAIT",
    "RESTIC_LOCK_RETRY_AFTER",
    "RESTIC_STALE_LOCK_AGE",
    "LOCK_OBSERVATION_WINDOW",
)


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("5m", 300), ("2h", 7200), ("1h30m", 5400)])
def test_durations_read_like_restics(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("name", LOCK_DURATIONS)
def test_a_bad_duration_is_a_config_error_naming_the_variable(sandbox, name):
    completed = sandbox.helper("unlock", "--dry-run", **{name: "5 minutes"})
    assert completed.returncode == 2
    assert f"{name}: expected a duration such as 90s, 5m, 2h or 1h30m, got '5 minutes'" in output(completed)
    assert "Traceback" not in output(completed)


def test_lock_wait_takes_the_same_durations_and_names_itself_when_wrong(sandbox):
    assert sandbox.helper("check", "--lock-wait", "1h30m").returncode == 0
    assert sandbox.last_json("check")["status"] == "ok"
    wrong = sandbox.helper("check", "--lock-wait", "1x")
    assert wrong.returncode == 2 and "--lock-wait" in wrong.stderr


@pytest.mark.slow
def test_retry_after_zero_turns_off_retrying(shared):
    shared.hold("host-a", "exclusive")
    started = time.monotonic()
    completed = shared.helper(
        "host-b",
        "prune",
        "--lock-wait",
        "30s",
        RESTIC_LOCK_RETRY_AFTER="0",
        RESTIC_CALLS=shared.calls_file("b"),
    )
    assert completed.returncode == 11, output(completed)
    assert time.monotonic() - started < 10
    assert [arguments for _, arguments in shared.calls("b")] == ["prune"]
    assert shared.last_json("prune")["lock_wait_seconds"] == 0


def test_stale_lock_age_zero_turns_off_stale_removal(shared):
    holder = shared.hold("host-b")
    holder.kill()
    completed = shared.helper(
        "host-b",
        "prune",
        "--lock-wait",
        "30s",
        LOCK_FORCE_INACTIVE="ON",
        RESTIC_STALE_LOCK_AGE="0",
        RESTIC_CALLS=shared.calls_file("b"),
    )
    assert completed.returncode == 11, output(completed)
    assert shared.locks() == {holder.lock_id}
    assert [arguments for _, arguments in shared.calls("b")] == ["prune"]


def test_a_stale_lock_younger_than_the_stale_age_is_left_alone(shared):
    holder = shared.hold("host-b")
    holder.kill()
    completed = shared.helper(
        "host-b", "prune", LOCK_FORCE_INACTIVE="ON", RESTIC_CALLS=shared.calls_file("b")
    )
    assert completed.returncode == 11, output(completed)  # RESTIC_STALE_LOCK_AGE is 2h by default
    assert shared.locks() == {holder.lock_id}
    assert not any(arguments.startswith("unlock") for _, arguments in shared.calls("b"))
