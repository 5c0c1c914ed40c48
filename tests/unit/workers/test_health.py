"""The verdict of /bin/status, from documents and a time: staleness from any cron expression,
and each job's record judged."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from helper.workers import health

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # a Thursday
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAY = 86400


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("0 3 * * *", DAY),
        ("*/15 * * * *", 900),
        ("0 2 * * 1-5", 3 * DAY),  # over the weekend
        ("30 4 1 * *", 31 * DAY),
        ("*/30 * * * * *", 30),  # seconds first
        ("@weekly", 7 * DAY),
        ("0 0 31 2 *", None),  # never fires
    ],
)
def test_the_interval_is_the_longest_gap_of_the_schedule(expression, seconds):
    assert health.interval_seconds(expression, NOW, AMSTERDAM) == seconds


def test_a_day_with_a_clock_change_does_not_count_as_a_shorter_gap():
    # 2026-03-29 02:00 in Amsterdam skips an hour: that day's gap is 23 h; the longest is 24 h.
    assert health.interval_seconds("0 3 * * *", datetime(2026, 3, 27, tzinfo=UTC), AMSTERDAM) == DAY


def judged(document, age_of_success=None, limit=3 * DAY + 600):
    if document is not None and age_of_success is not None:
        document = {**document, "last_success_epoch": NOW.timestamp() - age_of_success}
    return health.judge_job("forget", document, NOW.timestamp(), limit)


OK_RUN = {"status": "ok", "exit_code": 0, "finished_epoch": NOW.timestamp() - 60}
SKIPPED_RUN = {"status": "skipped", "exit_code": 0, "finished_epoch": NOW.timestamp() - 60}


def test_a_recent_success_is_ok_and_a_missing_record_warns():
    assert judged(OK_RUN, age_of_success=60)[:2] == ("ok", health.OK)
    assert judged(OK_RUN)[:2] == ("ok", health.OK), "an ok run without the field is its own success"
    assert judged(None)[:2] == ("missing", health.WARN)


def test_a_skipped_run_does_not_hide_an_old_success():
    status, level, detail = judged(SKIPPED_RUN, age_of_success=4 * DAY)
    assert (status, level) == ("stale", health.WARN)
    assert detail == "forget last succeeded 4d 0h ago; its schedule expects a success within 3d 0h"
    assert judged(SKIPPED_RUN, age_of_success=7 * DAY)[:2] == ("stale", health.FAIL)
    assert judged(SKIPPED_RUN)[:2] == ("stale", health.WARN), "never succeeded"


def test_a_failed_run_fails_and_a_warning_warns():
    failed = {"status": "failed", "exit_code": 12, "error": "wrong password"}
    assert judged(failed) == ("fail", health.FAIL, "forget's last run ended failed (exit 12): wrong password")
    assert judged({"status": "warning", "exit_code": 3})[:2] == ("fail", health.WARN)


def test_a_schedule_that_never_fires_has_no_staleness():
    assert health.stale_after(None, 3) is None
    assert judged(SKIPPED_RUN, age_of_success=400 * DAY, limit=None)[:2] == ("ok", health.OK)


def test_ages_read_as_the_shell_image_wrote_them_and_the_verdict_takes_the_worst():
    assert [health.human_age(s) for s in (59, 3600 + 300, 2 * DAY + 3 * 3600, None)] == [
        "0m",
        "1h 5m",
        "2d 3h",
        "never",
    ]
    assert health.verdict([health.WARN, health.FAIL]) == health.FAIL
    assert health.verdict([health.WARN]) == health.WARN and health.verdict([]) == health.OK
