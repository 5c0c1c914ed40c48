"""Next-fire logic with an injected clock: both cron forms, @keywords, and wall-clock rules
across daylight-saving changes, in whole-hour and half-hour zones."""

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helper.schedule import fire_times, next_fire, parse

AMSTERDAM = ZoneInfo("Europe/Amsterdam")  # 2024-03-31 02:00 -> 03:00, 2024-10-27 03:00 -> 02:00
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")  # moves by 30 minutes: 02:00 -> 01:30 on 2024-04-07


def fires(expression: str, start: datetime, count: int, zone: ZoneInfo = AMSTERDAM) -> list[str]:
    """Fire times after `start` (a naive local time in `zone`), as local ISO strings."""
    schedule = parse("backup", "BACKUP_CRON", expression)
    times = fire_times(schedule, start.replace(tzinfo=zone), zone, count)
    return [moment.astimezone(zone).isoformat() for moment in times]


def test_five_fields_fire_on_the_minute():
    assert fires("*/15 * * * *", datetime(2024, 5, 1, 12, 7, 30), 3) == [
        "2024-05-01T12:15:00+02:00",
        "2024-05-01T12:30:00+02:00",
        "2024-05-01T12:45:00+02:00",
    ]


def test_six_fields_put_seconds_first_as_go_cron_and_quartz_do():
    assert fires("*/5 * * * * *", datetime(2024, 5, 1, 12, 0, 3), 3) == [
        "2024-05-01T12:00:05+02:00",
        "2024-05-01T12:00:10+02:00",
        "2024-05-01T12:00:15+02:00",
    ]
    assert fires("30 0 2 * * *", datetime(2024, 5, 1, 12, 0), 1) == ["2024-05-02T02:00:30+02:00"]


@pytest.mark.parametrize(
    ("keyword", "expected"),
    [("@hourly", "2024-05-01T13:00:00+02:00"), ("@daily", "2024-05-02T00:00:00+02:00"),
     ("@weekly", "2024-05-05T00:00:00+02:00"), ("@monthly", "2024-06-01T00:00:00+02:00"),
     ("@yearly", "2025-01-01T00:00:00+01:00")],
)  # fmt: skip
def test_keywords(keyword, expected):
    assert fires(keyword, datetime(2024, 5, 1, 12, 0), 1) == [expected]


def test_the_next_fire_is_strictly_after_the_given_instant():
    schedule = parse("backup", "BACKUP_CRON", "0 3 * * *")
    at_fire = datetime(2024, 5, 1, 3, 0, tzinfo=AMSTERDAM)
    assert next_fire(schedule, at_fire, AMSTERDAM) == at_fire + timedelta(days=1)
    assert next_fire(schedule, at_fire - timedelta(microseconds=1), AMSTERDAM) == at_fire


def test_spring_forward_runs_a_job_in_the_skipped_hour_once_right_after_the_change():
    assert fires("30 2 * * *", datetime(2024, 3, 30, 12), 3) == [
        "2024-03-31T03:00:00+02:00",
        "2024-04-01T02:30:00+02:00",
        "2024-04-02T02:30:00+02:00",
    ]


def test_spring_forward_does_not_run_an_hourly_job_twice_at_three():
    assert fires("0 * * * *", datetime(2024, 3, 31, 0, 30), 3) == [
        "2024-03-31T01:00:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "2024-03-31T04:00:00+02:00",
    ]


def test_fall_back_runs_a_fixed_time_job_once_at_its_first_occurrence():
    assert fires("30 2 * * *", datetime(2024, 10, 26, 12), 3) == [
        "2024-10-27T02:30:00+02:00",
        "2024-10-28T02:30:00+01:00",
        "2024-10-29T02:30:00+01:00",
    ]


def test_fall_back_keeps_a_job_with_a_fixed_hour_out_of_the_second_pass():
    assert fires("*/20 2 * * *", datetime(2024, 10, 27, 1, 50), 4) == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:20:00+02:00",
        "2024-10-27T02:40:00+02:00",
        "2024-10-28T02:00:00+01:00",
    ]


def test_fall_back_lets_an_hour_wildcard_job_keep_its_rhythm_in_real_time():
    times = fires("*/20 * * * *", datetime(2024, 10, 27, 1, 50), 8)
    assert times == [
        "2024-10-27T02:00:00+02:00",
        "2024-10-27T02:20:00+02:00",
        "2024-10-27T02:40:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "2024-10-27T02:20:00+01:00",
        "2024-10-27T02:40:00+01:00",
        "2024-10-27T03:00:00+01:00",
        "2024-10-27T03:20:00+01:00",
    ]
    gaps = {datetime.fromisoformat(b) - datetime.fromisoformat(a) for a, b in itertools.pairwise(times)}
    assert gaps == {timedelta(minutes=20)}


def test_fall_back_from_inside_the_second_pass_continues_there():
    schedule = parse("backup", "BACKUP_CRON", "*/20 * * * *")
    second_pass_0210 = datetime(2024, 10, 27, 1, 10, tzinfo=UTC)
    assert next_fire(schedule, second_pass_0210, AMSTERDAM) == datetime(2024, 10, 27, 1, 20, tzinfo=UTC)
    fixed = parse("backup", "BACKUP_CRON", "30 2 * * *")
    assert next_fire(fixed, second_pass_0210, AMSTERDAM) == datetime(2024, 10, 28, 1, 30, tzinfo=UTC)


def test_half_hour_zone_changes_follow_the_same_rules():
    assert fires("15 2 * * *", datetime(2024, 4, 6, 12), 2, LORD_HOWE) == [
        "2024-04-07T02:15:00+10:30",
        "2024-04-08T02:15:00+10:30",
    ]
    assert fires("15 2 * * *", datetime(2024, 10, 5, 12), 2, LORD_HOWE) == [
        "2024-10-06T02:30:00+11:00",
        "2024-10-07T02:15:00+11:00",
    ]
    assert fires("*/20 * * * *", datetime(2024, 4, 7, 1, 25), 4, LORD_HOWE) == [
        "2024-04-07T01:40:00+11:00",
        "2024-04-07T01:40:00+10:30",
        "2024-04-07T02:00:00+10:30",
        "2024-04-07T02:20:00+10:30",
    ]


def test_an_expression_that_can_never_fire_has_no_next_fire():
    schedule = parse("check", "CHECK_CRON", "0 0 31 2 *")
    assert next_fire(schedule, datetime(2024, 1, 1, tzinfo=UTC), AMSTERDAM) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("61 * * * *", "the minute field '61' is not valid; it takes 0-59"),
        ("*/5 * 24 * * *", "the hour field '24' is not valid; it takes 0-23"),
        ("0 0 * * 8", "the day-of-week field '8' is not valid"),
        ("* * * *", "expected 5 fields, 6 with seconds first"),
        ("@every 5m", "expected 5 fields"),
        ("*/0 * * * *", "the minute field '*/0' is not valid"),
    ],
)
def test_invalid_expressions_are_rejected_with_the_field_named(expression, message):
    with pytest.raises(ValueError, match="not a valid cron expression") as raised:
        parse("prune", "PRUNE_CRON", expression)
    assert message in str(raised.value)


def test_an_offset_delays_every_fire_across_a_day_boundary():
    late = parse("backup", "BACKUP_CRON", "50 23 * * *", offset=timedelta(minutes=25))
    start = datetime(2024, 5, 1, 12, 0, tzinfo=AMSTERDAM)
    assert [moment.astimezone(AMSTERDAM).isoformat() for moment in fire_times(late, start, AMSTERDAM, 2)] == [
        "2024-05-02T00:15:00+02:00",
        "2024-05-03T00:15:00+02:00",
    ]


def test_with_an_offset_the_next_fire_is_the_first_delayed_instant_strictly_after():
    late = parse("backup", "BACKUP_CRON", "50 23 * * *", offset=timedelta(minutes=25))
    fire = datetime(2024, 5, 2, 0, 15, tzinfo=AMSTERDAM)
    # Between the cron instant (23:50) and its delayed fire, that fire is still to come.
    assert next_fire(late, datetime(2024, 5, 1, 23, 55, tzinfo=AMSTERDAM), AMSTERDAM) == fire
    assert next_fire(late, fire - timedelta(microseconds=1), AMSTERDAM) == fire
    assert next_fire(late, fire, AMSTERDAM) == fire + timedelta(days=1)


def test_a_zero_offset_changes_nothing_and_a_never_firing_expression_stays_never():
    plain = parse("backup", "BACKUP_CRON", "*/15 * * * *")
    delayed = parse("backup", "BACKUP_CRON", "*/15 * * * *", offset=timedelta(0))
    start = datetime(2024, 10, 26, 23, 50, tzinfo=UTC)
    assert plain == delayed
    assert fire_times(delayed, start, AMSTERDAM, 12) == fire_times(plain, start, AMSTERDAM, 12)
    never = parse("check", "CHECK_CRON", "0 0 31 2 *", offset=timedelta(minutes=5))
    assert next_fire(never, start, AMSTERDAM) is None
