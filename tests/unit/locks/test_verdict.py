"""The verdict and the removal plan as pure functions: one test per rule of the issue."""

import pytest

from helper.locks.access import Blocker, blocker_from, parse_time
from helper.locks.verdict import (
    LIVE,
    MINIMUM_OBSERVATION_WINDOW,
    STALE,
    UNKNOWN,
    Holder,
    JudgedLock,
    LockRecord,
    Sighting,
    Verdict,
    judge,
    plan_removal,
    refusals,
    restic_removes,
)
from helper.outcome import classify
from helper.restic import Completed

NOW = 2_000_000_000.0
HERE = "host-b"
RESTIC = Holder("alive", is_restic=True, name="restic", started_at=NOW - 86400)


def lock(hostname=HERE, pid=4242, age=60.0, exclusive=False, lock_id="a" * 64) -> LockRecord:
    return LockRecord(lock_id, hostname, pid, "root", None if age is None else NOW - age, exclusive)


def verdict_of(record, holder=None, sighting=None, container=None, window=25 * 60.0) -> Verdict:
    return judge(record, NOW, HERE, holder, sighting, container, window)


# --- same host: /proc decides, never a signal ------------------------------------------------


def test_same_host_lock_without_a_process_is_stale():
    assert verdict_of(lock(), Holder("gone")).verdict == STALE


def test_same_host_lock_of_a_zombie_is_stale():
    result = verdict_of(lock(), Holder("zombie"))
    assert result.verdict == STALE and "zombie" in result.reason


def test_same_host_lock_whose_pid_is_now_another_program_is_stale():
    result = verdict_of(lock(), Holder("alive", is_restic=False, name="sleep"))
    assert result.verdict == STALE and "'sleep', not restic" in result.reason


def test_same_host_lock_whose_pid_is_a_restic_started_later_is_stale():
    result = verdict_of(lock(age=600), Holder("alive", is_restic=True, started_at=NOW - 60))
    assert result.verdict == STALE and "after the lock was written" in result.reason


def test_same_host_lock_of_a_running_restic_is_live_even_past_30_minutes():
    assert verdict_of(lock(age=7200), RESTIC).verdict == LIVE


def test_a_forward_clock_step_does_not_make_a_running_restic_look_like_a_reused_pid():
    # The lock written at 12:00:00, then NTP stepped the clock 30 s forward: /proc's boot time
    # moved with it, so the holder now seems to have started 29 s after its own lock.
    stepped = Holder("alive", is_restic=True, name="restic", started_at=NOW - 600 + 29)
    assert verdict_of(lock(age=600), stepped).verdict == LIVE
    reused = Holder("alive", is_restic=True, name="restic", started_at=NOW - 600 + 120)
    assert verdict_of(lock(age=600), reused).verdict == STALE


def test_same_host_lock_whose_command_cannot_be_read_is_unknown():
    assert verdict_of(lock(), Holder("alive", is_restic=None)).verdict == UNKNOWN


def test_same_host_lock_with_a_pid_that_is_no_process_id_is_unknown():
    assert verdict_of(lock(pid=0), Holder("gone")).verdict == UNKNOWN


# --- other hosts: age, observation, Docker -----------------------------------------------------


def test_young_lock_of_another_host_is_live():
    result = verdict_of(lock("host-a", age=120))
    assert result.verdict == LIVE and "refresh interval" in result.reason


def test_lock_of_another_host_past_restics_30_minutes_is_stale():
    assert verdict_of(lock("host-a", age=31 * 60)).verdict == STALE
    assert verdict_of(lock("host-a", age=29 * 60)).verdict == UNKNOWN


@pytest.mark.parametrize("age", [-60, -3600, -10 * 86400])
def test_a_lock_time_in_the_future_is_never_stale_by_age(age):
    result = verdict_of(lock("host-a", age=age))
    assert result.verdict == UNKNOWN and "future" in result.reason


def test_another_hosts_lock_unchanged_across_the_window_is_stale():
    watched = Sighting(first_seen=NOW - 26 * 60)
    assert verdict_of(lock("host-a", age=27 * 60), sighting=watched).verdict == STALE
    # Watched long enough, but a clock-skewed (future) time: the observation alone proves it.
    assert verdict_of(lock("host-a", age=-3600), sighting=watched).verdict == STALE


def test_observation_shorter_than_the_window_proves_nothing():
    result = verdict_of(lock("host-a", age=15 * 60), sighting=Sighting(NOW - 300))
    assert result.verdict == UNKNOWN and "observed for 5m00s of 25m00s" in result.reason


def test_a_holder_paused_for_less_than_restics_refreshability_timeout_keeps_its_lock():
    # Paused (SIGSTOP, docker pause) 24 minutes after its last refresh: on resuming, restic
    # refreshes without looking for its old lock, so that lock must still be there.
    paused = Sighting(first_seen=NOW - 24 * 60)
    for window in (1.0, 600.0, 24 * 60.0):  # a shorter window than the minimum counts as the minimum
        result = verdict_of(lock("host-a", age=24 * 60), sighting=paused, window=window)
        assert result.verdict == UNKNOWN, window
        assert "of 25m00s" in result.reason
    assert MINIMUM_OBSERVATION_WINDOW > 22.5 * 60


def test_a_lock_from_a_host_whose_clock_is_behind_is_not_condemned_by_its_age():
    # A live lock written a minute ago by a host whose clock is 20 minutes behind looks 21
    # minutes old; this helper has watched it for seconds. Only its own watch may prove it stale.
    behind = lock("host-a", age=21 * 60)
    for window in (1.0, 25 * 60.0):
        assert verdict_of(behind, sighting=Sighting(NOW - 5), window=window).verdict == UNKNOWN


def test_a_lock_that_replaced_its_holders_older_lock_is_live():
    result = verdict_of(lock("host-a", age=20 * 60), sighting=Sighting(NOW - 100, refreshed=True))
    assert result.verdict == LIVE and "rewrote" in result.reason


@pytest.mark.parametrize(
    ("container", "expected"), [("stopped", STALE), ("destroyed", STALE), ("running", LIVE)]
)
def test_docker_engine_evidence(container, expected):
    assert verdict_of(lock("c0ffee123456", age=60), container=container).verdict == expected


# --- restic's rule and the guard ---------------------------------------------------------------


def judged(record, holder=None, observed=None) -> JudgedLock:
    return JudgedLock(record, verdict_of(record, holder), holder, observed)


def test_restic_removes_old_locks_and_same_host_locks_whose_pid_does_not_answer():
    assert restic_removes(lock("host-a", age=31 * 60), NOW, HERE, None)
    assert not restic_removes(lock("host-a", age=60), NOW, HERE, None)
    assert restic_removes(lock(), NOW, HERE, Holder("gone"))
    assert not restic_removes(lock(), NOW, HERE, Holder("zombie"))  # kill() reaches a zombie
    assert restic_removes(lock(), NOW, HERE, Holder("alive", True, signal_permitted=False))  # EPERM


def test_restic_unlock_runs_when_it_removes_only_stale_locks():
    plan = plan_removal([judged(lock(), Holder("gone"))], NOW, HERE)
    assert plan.restic_unlock and plan.restic_removes == ("a" * 64,) and not plan.refusals


def test_restic_unlock_is_refused_when_its_sighup_would_hit_another_program():
    record = lock()
    plan = plan_removal([judged(record, Holder("alive", is_restic=False, name="sleep"))], NOW, HERE)
    assert not plan.restic_unlock
    assert "SIGHUP to pid 4242 (sleep)" in plan.refusals[0]
    assert plan.left == ("a" * 64,)  # stale, but nothing can remove it without direct access
    direct = plan_removal(
        [judged(record, Holder("alive", is_restic=False, name="sleep"))], NOW, HERE, 0, True
    )
    assert direct.direct == ("a" * 64,) and not direct.left


def test_restic_unlock_is_refused_for_a_live_lock_about_to_pass_30_minutes():
    # A SIGSTOPped restic of this host: live, 29m30s old now, past 30 minutes by the time
    # `restic unlock` has derived its key and listed the locks.
    stopped = Holder("alive", is_restic=True, started_at=NOW - 3600)
    almost = lock(age=30 * 60 - 30)
    assert restic_removes(almost, NOW, HERE, stopped)
    reasons = refusals([judged(almost, stopped)], NOW, HERE)
    assert reasons and "restic would remove it, but it is live" in reasons[0]
    assert not refusals([judged(lock(age=28 * 60), stopped)], NOW, HERE)
    # Another host's lock in the same minute: unknown by the verdict, so no restic unlock either.
    assert refusals([judged(lock("host-a", age=30 * 60 - 30))], NOW, HERE)


def test_restic_unlock_is_refused_when_it_would_remove_a_live_lock():
    # Another uid's live restic on this host: restic's probe gets EPERM and calls it dead.
    other_uid = Holder("alive", is_restic=True, started_at=NOW - 3600, signal_permitted=False)
    reasons = refusals([judged(lock(), other_uid)], NOW, HERE)
    assert reasons and "restic would remove it, but it is live" in reasons[0]


def test_only_locks_old_enough_are_eligible():
    young = judged(lock(age=60, lock_id="b" * 64), Holder("gone"))
    old = judged(lock(age=3 * 3600, lock_id="c" * 64), Holder("gone"))
    plan = plan_removal([young, old], NOW, HERE, minimum_age=7200)
    assert plan.eligible == ("c" * 64,)


def test_nothing_to_do_means_no_restic_unlock_unless_asked():
    assert not plan_removal([judged(lock("host-a"))], NOW, HERE).restic_unlock
    assert plan_removal([judged(lock("host-a"))], NOW, HERE, unlock_when_safe=True).restic_unlock


# --- reading restic -------------------------------------------------------------------------------


def test_lock_times_with_nanoseconds_and_zones_are_read():
    assert parse_time("2026-11-21T22:07:10.526136725Z") == pytest.approx(1795298830.526136)
    assert parse_time("2026-11-21T23:07:10+01:00") == 1795298830.0
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_the_blocking_lock_is_read_from_restics_message():
    stderr = (
        "unable to create lock in backend: repository is already locked exclusively by PID 15859 on "
        "host-a by root (UID 0, GID 0)\nlock was created at 2026-11-21 22:07:10 (12.8s ago)\n"
        "storage ID a679cb9c\nthe `unlock` command can be used to remove stale locks\n"
    )
    completed = Completed(11, classify(11, stderr, False), stderr=stderr)
    assert blocker_from(completed) == Blocker("a679cb9c", "host-a", 15859, True)
