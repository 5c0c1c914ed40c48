"""The loop's decision at each wake-up, driven by a fake clock: a due tick runs once, ticks
that passed meanwhile are not replayed, and a tick found too late is skipped."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from helper.schedule import parse
from helper.scheduler.state import LATE_LIMIT, advance, earliest, plan_jobs

ZONE = ZoneInfo("UTC")
START = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def jobs(**expressions):
    schedules = [parse(job, f"{job.upper()}_CRON", expression) for job, expression in expressions.items()]
    return plan_jobs(schedules, ZONE, START)


def test_nothing_runs_before_the_fire_time_and_the_wake_up_is_the_earliest_fire():
    planned = jobs(backup="*/5 * * * * *", check="0 13 * * *")
    assert earliest(planned) == START + timedelta(seconds=5)
    assert advance(planned, START + timedelta(seconds=4.9), ZONE) == ([], [])


def test_a_due_tick_runs_once_and_the_next_fire_moves_on():
    planned = jobs(backup="*/5 * * * * *")
    now = START + timedelta(seconds=5, milliseconds=3)
    run, missed = advance(planned, now, ZONE)
    assert [(job.schedule.job, scheduled) for job, scheduled in run] == [
        ("backup", START + timedelta(seconds=5))
    ]
    assert missed == []
    assert planned["backup"].next_fire == START + timedelta(seconds=10)
    assert advance(planned, now, ZONE) == ([], [])


def test_ticks_that_passed_while_the_loop_was_busy_are_not_replayed():
    planned = jobs(backup="* * * * * *")
    now = START + timedelta(seconds=7.5)
    run, _ = advance(planned, now, ZONE)
    assert len(run) == 1
    assert planned["backup"].next_fire == START + timedelta(seconds=8)


def test_a_tick_found_too_late_is_skipped_and_counted():
    planned = jobs(backup="0 12 * * *", check="*/10 * * * *")
    now = START + timedelta(days=1) + LATE_LIMIT + timedelta(seconds=1)
    run, missed = advance(planned, now, ZONE)
    assert [job.schedule.job for job, _ in run] == []
    assert sorted(job.schedule.job for job, _ in missed) == ["backup", "check"]
    assert planned["backup"].missed_ticks == 1
    assert planned["backup"].next_fire == datetime(2024, 5, 3, 12, 0, tzinfo=UTC)


def test_an_unchanged_schedule_keeps_its_state_on_reload():
    planned = jobs(backup="*/5 * * * * *", check="0 13 * * *")
    planned["backup"].ticks = 3
    schedules = [parse("backup", "BACKUP_CRON", "*/5 * * * * *"), parse("check", "CHECK_CRON", "0 14 * * *")]
    reloaded = plan_jobs(schedules, ZONE, START + timedelta(minutes=1), planned)
    assert reloaded["backup"] is planned["backup"]
    assert reloaded["check"].next_fire == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)
