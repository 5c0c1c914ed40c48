"""/bin/unlock: the verdict table, its JSON, the audit trail and restic_locks.prom."""

import json

import pytest

from tests.conftest import PASSWORD
from tests.locks.conftest import log_text, output, read_metrics
from tests.locks.lockfiles import lock_time, write_lock


def three_locks(shared) -> dict[str, str]:
    """A killed backup of this host, a running backup of host-a, and host-c's exclusive lock
    written 40 minutes ago. Return verdict-to-be by lock id."""
    dead = shared.hold("host-b")
    dead.kill()
    running = shared.hold("host-a")
    old = write_lock(
        shared.repo_dir,
        PASSWORD,
        {"time": lock_time(40 * 60), "exclusive": True, "hostname": "host-c", "username": "ci", "pid": 77},
    )
    return {dead.lock_id: "stale", running.lock_id: "live", old: "stale"}


@pytest.mark.slow
def test_dry_run_shows_each_lock_with_its_verdict_and_removes_nothing(shared):
    expected = three_locks(shared)
    completed = shared.helper("host-b", "unlock", "--dry-run", RESTIC_CALLS=shared.calls_file("b"))
    assert completed.returncode == 0, output(completed)
    assert "ID        HOST    PID" in completed.stdout
    assert "no process" in completed.stdout and "refresh interval" in completed.stdout
    assert "past restic's 30-minute limit" in completed.stdout
    assert shared.locks() == set(expected)
    assert not any(arguments.startswith("unlock") for _, arguments in shared.calls("b"))
    document = shared.last_json("unlock")
    assert (document["dry_run"], document["locks_before"], document["locks_after"]) == (True, 3, 3)
    assert {lock["id"]: lock["verdict"] for lock in document["locks"]} == expected


@pytest.mark.slow
def test_json_output_is_the_table_as_json_and_metrics_count_the_locks(shared):
    expected = three_locks(shared)
    completed = shared.helper("host-b", "unlock", "--dry-run", "--json")
    assert completed.returncode == 0, output(completed)
    locks = json.loads(completed.stdout)  # the log went to stderr
    assert "unlock finished" in completed.stderr
    assert {lock["id"]: lock["verdict"] for lock in locks} == expected
    for lock in locks:
        assert {"id", "hostname", "pid", "age_seconds", "exclusive", "verdict", "reason"} <= set(lock)
    old = next(lock for lock in locks if lock["hostname"] == "host-c")
    assert (old["pid"], old["exclusive"]) == (77, True)
    assert 2390 < old["age_seconds"] < 2500
    metrics = read_metrics(shared.sandbox.metrics_dir / "restic_locks.prom")
    assert metrics["restic_locks_held"] == 3
    assert metrics["restic_locks_exclusive"] == 1
    assert metrics["restic_locks_stale"] == 2
    assert 2390 < metrics["restic_lock_oldest_age_seconds"] < 2500


@pytest.mark.slow
def test_unlock_removes_exactly_the_stale_locks_with_plain_restic_unlock(shared):
    expected = three_locks(shared)
    completed = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("b"))
    assert completed.returncode == 0, output(completed)
    live = {lock_id for lock_id, verdict in expected.items() if verdict == "live"}
    assert shared.locks() == live
    calls = [arguments for _, arguments in shared.calls("b")]
    assert [arguments for arguments in calls if arguments.startswith("unlock")] == ["unlock"]
    # Inspected to judge and again right before restic unlock; the locks left are the second
    # inspection less those removed (seen in the local backend), with no third inspection.
    assert sum("list locks" in arguments for arguments in calls) == 2, calls
    document = shared.last_json("unlock")
    assert (document["status"], document["locks_before"], document["locks_after"]) == ("ok", 3, 1)
    assert document["method"] == "restic unlock"
    assert set(document["removed"]) == set(expected) - live
    # events.jsonl is the audit log of every removal: which lock, whose, and why.
    lines = (shared.sandbox.log_dir / "events.jsonl").read_text().splitlines()
    removals = [event for event in map(json.loads, lines) if event["event"] == "lock_removed"]
    assert {event["lock_id"] for event in removals} == set(expected) - live
    assert {event["holder"] for event in removals} == {"host-b", "host-c"}
    assert all(event["verdict"] == "stale" and event["reason"] for event in removals)
    assert (
        read_metrics(shared.sandbox.metrics_dir / "restic_unlock.prom")["restic_unlock_last_locks_removed"]
        == 2
    )
    # The lock gauges describe the repository after the removal: only host-a's live lock.
    gauges = read_metrics(shared.sandbox.metrics_dir / "restic_locks.prom")
    assert (gauges["restic_locks_held"], gauges["restic_locks_stale"]) == (1, 0)
    assert gauges["restic_locks_exclusive"] == 0
    assert gauges["restic_lock_oldest_age_seconds"] < 60


@pytest.mark.slow
def test_an_automatic_clearance_leaves_lock_gauges_without_the_removed_lock(shared):
    # A killed backup of this host left its lock; prune meets it, LOCK_FORCE_INACTIVE removes
    # it, and restic_locks.prom must not go on showing it.
    dead = shared.hold("host-b")
    dead.kill()
    completed = shared.helper("host-b", "prune", LOCK_FORCE_INACTIVE="ON", RESTIC_STALE_LOCK_AGE="1s")
    assert completed.returncode == 0, output(completed)
    assert "removed stale lock" in completed.stdout
    assert shared.locks() == set()
    gauges = read_metrics(shared.sandbox.metrics_dir / "restic_locks.prom")
    assert (gauges["restic_locks_held"], gauges["restic_locks_stale"]) == (0, 0)


@pytest.mark.slow
def test_remove_all_is_the_operators_override_and_says_so(shared):
    three_locks(shared)
    completed = shared.helper("host-b", "unlock", "--remove-all", RESTIC_CALLS=shared.calls_file("b"))
    assert completed.returncode == 0, output(completed)
    assert shared.locks() == set()
    assert "also removing 1 lock(s) not proven stale" in completed.stdout
    assert any(arguments == "unlock --remove-all" for _, arguments in shared.calls("b"))
    assert shared.last_json("unlock")["method"] == "restic unlock --remove-all"


def test_a_lock_that_cannot_be_read_is_unknown_and_kept(shared):
    lock_id = "f" * 64
    (shared.repo_dir / "locks" / lock_id).write_bytes(b"\0" * 64)
    completed = shared.helper("host-b", "unlock", "--json")
    assert completed.returncode == 0, output(completed)
    (lock,) = json.loads(completed.stdout)
    assert (lock["id"], lock["verdict"], lock["removed"]) == (lock_id, "unknown", False)
    assert shared.locks() == {lock_id}
    assert "cannot be read" in log_text(shared.sandbox, "unlock")


def test_json_says_why_when_the_locks_cannot_be_listed(shared):
    completed = shared.helper("host-b", "unlock", "--json", RESTIC_PASSWORD="not-the-password")
    assert completed.returncode == 12, output(completed)
    document = json.loads(completed.stdout)  # an object, not the list of locks
    assert document["exit_code"] == 12 and document["locks"] is None
    assert "wrong password" in document["error"]
    assert shared.last_json("unlock")["error"] == document["error"]
