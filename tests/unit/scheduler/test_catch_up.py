"""MISSED_RUN_POLICY's decision, as pure functions of the records, the schedules and the time:
one catch-up per job for its latest missed tick, never twice, and none for a job whose last
fire is unknown."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from helper.schedule import parse
from helper.scheduler import fires
from helper.scheduler.catch_up import latest_fire, missed_ticks

ZONE = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2024, 5, 3, 12, 0, 30, tzinfo=UTC)
DAILY = parse("backup", "BACKUP_CRON", "0 3 * * *")  # 01:00 UTC in May
HOURLY = parse("check", "CHECK_CRON", "15 * * * *")


def fired(schedule, at: datetime) -> dict[str, fires.Fire]:
    return {schedule.job: fires.Fire(schedule.expression, at)}


def test_a_job_without_a_record_is_not_caught_up():
    assert missed_ticks({}, (DAILY, HOURLY), NOW, ZONE) == {}


def test_a_job_whose_latest_tick_passed_unstarted_is_caught_up_once_for_that_tick():
    a_week_ago = datetime(2024, 4, 26, 1, 0, tzinfo=UTC)
    records = fired(DAILY, a_week_ago) | fired(HOURLY, NOW - timedelta(days=7))
    # Seven daily ticks and many hourly ones passed: one catch-up each, for the latest tick.
    assert missed_ticks(records, (DAILY, HOURLY), NOW, ZONE) == {
        "backup": datetime(2024, 5, 3, 1, 0, tzinfo=UTC),
        "check": datetime(2024, 5, 3, 11, 15, tzinfo=UTC),
    }


def test_a_caught_up_tick_recorded_as_the_last_fire_is_never_caught_up_twice():
    records = fired(DAILY, datetime(2024, 5, 1, 1, 0, tzinfo=UTC))
    (tick,) = missed_ticks(records, (DAILY,), NOW, ZONE).values()
    after_catch_up = fired(DAILY, tick)
    assert missed_ticks(after_catch_up, (DAILY,), NOW + timedelta(minutes=5), ZONE) == {}
    # The next tick that passes unstarted is missed again, and caught up again.
    next_day = NOW + timedelta(days=1)
    assert missed_ticks(after_catch_up, (DAILY,), next_day, ZONE) == {"backup": tick + timedelta(days=1)}


def test_a_job_that_ran_its_latest_tick_missed_nothing():
    records = fired(DAILY, datetime(2024, 5, 3, 1, 0, tzinfo=UTC)) | fired(HOURLY, NOW - timedelta(minutes=1))
    assert missed_ticks(records, (DAILY, HOURLY), NOW, ZONE) == {}


def test_a_record_of_another_expression_tells_nothing():
    records = {"backup": fires.Fire("0 4 * * *", datetime(2024, 4, 1, tzinfo=UTC))}
    assert missed_ticks(records, (DAILY,), NOW, ZONE) == {}


def test_a_record_in_the_future_after_a_clock_step_back_catches_nothing_up():
    assert missed_ticks(fired(HOURLY, NOW + timedelta(hours=3)), (HOURLY,), NOW, ZONE) == {}


def test_a_tick_due_exactly_now_counts_as_passed():
    at_tick = datetime(2024, 5, 3, 11, 15, tzinfo=UTC)
    assert missed_ticks(fired(HOURLY, at_tick - timedelta(hours=2)), (HOURLY,), at_tick, ZONE) == {
        "check": at_tick
    }


def test_with_jitter_a_tick_is_missed_only_once_its_delayed_time_passed():
    delayed = parse("backup", "BACKUP_CRON", "0 3 * * *", offset=timedelta(minutes=7))
    records = fired(delayed, datetime(2024, 5, 2, 1, 7, tzinfo=UTC))
    between = datetime(2024, 5, 3, 1, 3, tzinfo=UTC)  # after the cron instant, before its fire
    assert missed_ticks(records, (delayed,), between, ZONE) == {}
    assert missed_ticks(records, (delayed,), NOW, ZONE) == {"backup": datetime(2024, 5, 3, 1, 7, tzinfo=UTC)}


def test_a_long_absence_of_a_frequent_job_is_found_in_few_steps():
    every_second = parse("backup", "BACKUP_CRON", "* * * * * *")
    started = time.monotonic()
    latest = latest_fire(every_second, NOW - timedelta(days=90), NOW + timedelta(microseconds=500), ZONE)
    assert latest == NOW
    assert time.monotonic() - started < 0.5
    rare = parse("check", "CHECK_CRON", "0 0 29 2 *")
    since = datetime(2019, 1, 1, tzinfo=UTC)
    assert latest_fire(rare, since, NOW, ZONE) == datetime(2024, 2, 28, 23, 0, tzinfo=UTC)
    assert latest_fire(rare, datetime(2024, 3, 1, tzinfo=UTC), NOW, ZONE) is None


def test_baseline_dates_unknown_jobs_now_keeps_known_ones_and_drops_unscheduled_ones():
    known = fires.Fire(DAILY.expression, datetime(2024, 5, 1, 1, 0, tzinfo=UTC))
    records = {
        "backup": known,
        "check": fires.Fire("0 * * * *", datetime(2024, 5, 1, tzinfo=UTC)),  # expression changed
        "prune": fires.Fire("0 5 * * 0", datetime(2024, 4, 28, 3, 0, tzinfo=UTC)),  # no longer scheduled
    }
    assert fires.baseline(records, (DAILY, HOURLY), NOW) == {
        "backup": known,
        "check": fires.Fire(HOURLY.expression, NOW),
    }


def test_the_records_survive_a_write_and_a_read(tmp_path):
    path = fires.path_in(str(tmp_path))
    records = fired(DAILY, datetime(2024, 5, 3, 1, 0, tzinfo=UTC)) | fired(HOURLY, NOW)
    fires.write(path, records)
    assert fires.read(path) == (records, None)
    assert fires.read(tmp_path / "none.json") == ({}, None)


def test_an_unreadable_record_file_is_a_problem_and_a_bad_entry_is_left_out(tmp_path):
    path = tmp_path / fires.FILE_NAME
    path.write_text("{not json")
    records, problem = fires.read(path)
    assert records == {} and problem.startswith(f"cannot read {path}")
    path.write_text('{"backup": {"expression": "0 3 * * *", "last_fire": "yesterday"}, "check": 5}')
    assert fires.read(path) == ({}, None)
