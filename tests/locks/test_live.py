"""A live lock is never removed, whatever the settings: a running holder on another host, a
SIGSTOPped one there, and a SIGSTOPped one on this very host."""

import pytest

from tests.locks.conftest import log_text, output

# Every knob at its most eager: clear at any age, a one-second observation window, retries
# every second, automatic unlock after failures, Docker evidence on.
EAGER = {
    "LOCK_FORCE_INACTIVE": "ON",
    "RESTIC_STALE_LOCK_AGE": "1s",
    "LOCK_OBSERVATION_WINDOW": "1s",
    "RESTIC_LOCK_RETRY_AFTER": "1s",
    "RESTIC_AUTO_UNLOCK": "ON",
    "LOCK_DOCKER_AWARE": "ON",
    "RESTIC_FORGET_ARGS": "--keep-last 1",
}


@pytest.mark.slow
def test_live_locks_survive_forget_unlock_and_auto_unlock_with_every_setting_eager(shared):
    running = shared.hold("host-a")
    stopped_elsewhere = shared.hold("host-c")
    stopped_elsewhere.stop()
    stopped_here = shared.hold("host-b")
    stopped_here.stop()
    holders = (running, stopped_elsewhere, stopped_here)
    ids = shared.locks()
    assert ids == {holder.lock_id for holder in holders}

    forget = shared.helper(
        "host-b", "forget", "--lock-wait", "3s", RESTIC_CALLS=shared.calls_file("b"), **EAGER
    )
    assert forget.returncode == 0, output(forget)
    assert shared.last_json("forget")["status"] == "skipped"
    unlock = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("b"), **EAGER)
    assert unlock.returncode == 0, output(unlock)
    assert {lock["verdict"] for lock in shared.last_json("unlock")["locks"]} == {"live"}
    failed = shared.helper(
        "host-b", "check", RESTIC_CHECK_ARGS="--no-such-flag", RESTIC_CALLS=shared.calls_file("b"), **EAGER
    )
    assert failed.returncode == 1, output(failed)
    assert "RESTIC_AUTO_UNLOCK=ON" in log_text(shared.sandbox, "check")

    assert shared.locks() == ids
    assert all(holder.process.poll() is None for holder in holders)
    assert "running restic on this host" in unlock.stdout
    # Plain `restic unlock` may run (it would remove none of these), never --remove-all.
    assert not any("--remove-all" in arguments for _, arguments in shared.calls("b"))
