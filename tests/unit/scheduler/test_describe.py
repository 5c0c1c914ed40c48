"""Plain-English descriptions of the shapes people write, as cron-list shows them."""

import pytest

from helper.schedule import parse
from helper.scheduler.describe import describe


@pytest.mark.parametrize(
    ("expression", "sentence"),
    [
        ("0 */6 * * *", "every 6 hours at minute 0"),
        ("*/5 * * * * *", "every 5 seconds"),
        ("* * * * * *", "every second"),
        ("*/15 * * * *", "every 15 minutes"),
        ("30 2 * * *", "at 02:30 every day"),
        ("30 0 2 * * *", "at 02:00:30 every day"),
        ("0 3 * * 1-5", "at 03:00 on Monday through Friday"),
        ("0 3 * * SUN", "at 03:00 on Sunday"),
        ("0 1,13 * * *", "at 01:00 and 13:00 every day"),
        ("5 4 1 * *", "at 04:05 on day 1 of the month"),
        ("15 10 * JAN,JUL *", "at 10:15 in January and July"),
        ("0 0 1,15 * 1", "at 00:00 on day 1 and 15 of the month or on Monday"),
        ("0 9-17 * * MON-FRI", "at minute 0 of hour 9 through 17 on Monday through Friday"),
        ("*/10 * 9-17 * * *", "every 10 seconds of hour 9 through 17"),
        ("@daily", "once a day, at 00:00"),
    ],
)
def test_description(expression, sentence):
    assert describe(parse("backup", "BACKUP_CRON", expression)) == sentence
