"""SCHEDULE_JITTER's offset: derived from the host name and the job, never drawn at random, so
it is the same at every start, differs between jobs, stays inside the window, and spreads a
fleet of hosts over it. The plan's schedules, and so every time built on them, carry it."""

import hashlib
from datetime import timedelta

from helper.workers import configuration, jitter

TEN_MINUTES = 600.0
ENVIRONMENT = {
    "RESTIC_PASSWORD": "unused",
    "BACKUP_ROOT_DIR": "/data",
    "BACKUP_CRON": "0 3 * * *",
    "ROTATE_LOG_CRON": "",
    "TZ": "UTC",
}


def test_the_same_host_and_job_always_get_the_same_offset():
    first = jitter.offset("nas", "backup", TEN_MINUTES)
    assert all(jitter.offset("nas", "backup", TEN_MINUTES) == first for _ in range(5))
    # A fixed digest, not Python's hash(), which changes with every interpreter start.
    digest = hashlib.sha256(b"nas/backup").digest()
    assert first == timedelta(seconds=int.from_bytes(digest[:8], "big") % 600)


def test_jobs_of_one_host_get_different_offsets():
    offsets = {job: jitter.offset("nas", job, TEN_MINUTES) for job in ("backup", "forget", "prune", "check")}
    assert len(set(offsets.values())) == 4, offsets


def test_every_offset_is_whole_seconds_inside_the_window():
    for index in range(200):
        offset = jitter.offset(f"host-{index}", "backup", 7.0)
        assert timedelta(0) <= offset < timedelta(seconds=7)
        assert offset.microseconds == 0


def test_ten_hosts_spread_over_the_window():
    offsets = [jitter.offset(f"node{number:02d}", "backup", TEN_MINUTES) for number in range(1, 11)]
    tenths = {int(offset.total_seconds() // (TEN_MINUTES / 10)) for offset in offsets}
    assert len(tenths) >= 5, offsets


def test_no_window_or_one_under_a_second_means_no_offset():
    assert jitter.offset("nas", "backup", 0) == timedelta(0)
    assert jitter.offset("nas", "backup", 0.5) == timedelta(0)


def test_the_plan_gives_each_schedule_its_hosts_offset():
    plan = configuration.load({**ENVIRONMENT, "HOSTNAME": "nas", "SCHEDULE_JITTER": "10m"})
    (backup,) = plan.schedules
    assert backup.offset == jitter.offset("nas", "backup", TEN_MINUTES)
    other = configuration.load({**ENVIRONMENT, "HOSTNAME": "nas2", "SCHEDULE_JITTER": "10m"}).schedules[0]
    assert other.offset == jitter.offset("nas2", "backup", TEN_MINUTES) != backup.offset
    off = configuration.load({**ENVIRONMENT, "HOSTNAME": "nas"}).schedules[0]
    assert off.offset == timedelta(0)


def test_a_negative_or_unreadable_jitter_is_a_problem_naming_it():
    for value in ("-5m", "ten minutes", "5x"):
        problems = configuration.load({**ENVIRONMENT, "SCHEDULE_JITTER": value}).problems
        assert [problem for problem in problems if problem.startswith("SCHEDULE_JITTER:")], (value, problems)


def test_a_jitter_wider_than_the_shortest_interval_is_a_warning_not_a_problem():
    plan = configuration.load({**ENVIRONMENT, "BACKUP_CRON": "*/5 * * * *", "SCHEDULE_JITTER": "10m"})
    assert plan.problems == ()
    assert [warning for warning in plan.warnings if warning.startswith("SCHEDULE_JITTER:")] == [
        "SCHEDULE_JITTER: 10m00s is longer than the 5m00s between two runs of backup (BACKUP_CRON): a "
        "window wider than the interval spreads hosts no further, and delays a run past the job's "
        "next cron time"
    ]
    narrow = configuration.load({**ENVIRONMENT, "BACKUP_CRON": "*/5 * * * *", "SCHEDULE_JITTER": "5m"})
    assert not [warning for warning in narrow.warnings if warning.startswith("SCHEDULE_JITTER:")]
