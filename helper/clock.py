"""The one clock: every reading of the time and every sleep goes through a `Clock`, so a test
hands one fake to the scheduler loop or to a lock wait and runs an hour of it in milliseconds.

    now()        an aware datetime in UTC: cron arithmetic and comparisons need no zone; a
                 caller that shows it converts it (`astimezone()`, `wall_time`)
    time()       epoch seconds: instants kept across runs (the lock sightings in LOCK_DIR)
    monotonic()  seconds for durations and deadlines within one process (waits, budgets)
    sleep(s)     the only pause; a fake one advances the fake time instead

A leaf: it imports only the standard library.
"""

import time as _time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

# How the scheduler and cron-list show an instant in TZ wall time.
WALL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


@dataclass(frozen=True)
class Clock:
    """Where "now" comes from, and how to wait. Fields are plain callables, called as methods."""

    now: Callable[[], datetime]
    time: Callable[[], float]
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]


def _utc_now() -> datetime:
    return datetime.now(UTC)


SYSTEM = Clock(now=_utc_now, time=_time.time, monotonic=_time.monotonic, sleep=_time.sleep)


def wall_time(moment: datetime, zone: tzinfo) -> str:
    """Given an aware instant, return it as `zone`'s wall time for people to read."""
    return f"{moment.astimezone(zone):{WALL_TIME_FORMAT}}"
