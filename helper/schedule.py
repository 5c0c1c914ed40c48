"""When a job fires: a cron expression read by croniter and evaluated in TZ wall-clock time.

Two forms are accepted: standard 5-field cron (`0 */6 * * *`), and 6 fields whose first is
seconds, as in go-cron and Quartz (`*/5 * * * * *`). `@hourly`, `@daily` and the other
@keywords work too.

Daylight-saving changes follow Vixie cron:
- a wall time that does not exist (the spring-forward gap) fires once, at the first instant
  after the gap;
- a wall time that happens twice (the fall-back repeat) fires at its first occurrence only,
  unless the hour field is a wildcard (`*`, `*/2`): such a job follows the clock through the
  repeated hour, so an every-15-minutes job keeps its rhythm in real time.

A Schedule may carry an offset (SCHEDULE_JITTER): the job then fires that long after each
cron instant, and every time computed here already includes it.
"""

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

# croniter's own error class is a ValueError, and Debian trixie's croniter 2.0 does not
# export it from the package: catching ValueError covers every version.
from croniter import CroniterBadDateError, croniter

KEYWORDS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIELD_NAMES = (
    ("second", "0-59"),
    ("minute", "0-59"),
    ("hour", "0-23"),
    ("day-of-month", "1-31"),
    ("month", "1-12 or JAN-DEC"),
    ("day-of-week", "0-7 or SUN-SAT"),
)
ONE_MICROSECOND = timedelta(microseconds=1)
# croniter starts its messages by echoing the expression in brackets; ours quotes it already.
CRONITER_ECHO = re.compile(r"^\[[^\]]*\]\s*")


@dataclass(frozen=True)
class Schedule:
    """One job's schedule. `fields` is the expression with @keywords expanded; `offset` delays
    every fire after its cron instant (the job's SCHEDULE_JITTER share)."""

    job: str
    variable: str
    expression: str
    fields: tuple[str, ...]
    offset: timedelta = timedelta(0)

    @property
    def has_seconds(self) -> bool:
        return len(self.fields) == 6

    @property
    def follows_clock(self) -> bool:
        """True when the hour field is a wildcard, so a repeated hour runs the job twice."""
        return self.fields[2 if self.has_seconds else 1].startswith("*")


def parse(job: str, variable: str, expression: str, offset: timedelta = timedelta(0)) -> Schedule:
    """Given a cron expression (and the delay after each of its instants), return its Schedule.

    Raise ValueError, with a message that completes "<VARIABLE>: ...", when croniter rejects it.
    """
    text = " ".join(expression.split())
    fields = tuple(KEYWORDS.get(text.lower(), text).split(" "))
    if len(fields) not in (5, 6):
        raise ValueError(
            f"not a valid cron expression: {expression!r} (expected 5 fields, 6 with seconds first, "
            "or an @keyword such as @daily)"
        )
    schedule = Schedule(job, variable, text, fields, offset)
    try:
        _iterator(schedule.fields)
    except (ValueError, KeyError) as error:
        reason = bad_field(fields) or CRONITER_ECHO.sub("", str(error)) or type(error).__name__
        raise ValueError(f"not a valid cron expression: {expression!r} ({reason})") from None
    return schedule


def bad_field(fields: tuple[str, ...]) -> str | None:
    """Given fields croniter rejects, name the first one it rejects on its own, with its range."""
    names = FIELD_NAMES if len(fields) == 6 else FIELD_NAMES[1:]
    for index, field in enumerate(fields):
        alone = ["*"] * len(fields)
        alone[index] = field
        try:
            _iterator(tuple(alone))
        except (ValueError, KeyError):
            name, allowed = names[index]
            return f"the {name} field {field!r} is not valid; it takes {allowed}"
    return None


@functools.lru_cache(maxsize=64)
def _iterator(fields: tuple[str, ...]) -> croniter:
    """A parsed croniter for these fields; parsing costs ~0.2 ms, so it is done once."""
    start = datetime(2000, 1, 1)  # noqa: DTZ001 - croniter walks naive wall-clock times
    return croniter(" ".join(fields), start, second_at_beginning=len(fields) == 6)


def walls_after(schedule: Schedule, start: datetime) -> "WallTimes":
    """Given a naive wall time, return an iterator over matching wall times strictly after it."""
    return WallTimes(schedule.fields, start)


class WallTimes:
    """Matching naive wall times in increasing order; stops when none can ever come."""

    def __init__(self, fields: tuple[str, ...], start: datetime) -> None:
        self.iterator = _iterator(fields)
        self.current = start.replace(fold=0)

    def __iter__(self) -> "WallTimes":
        return self

    def __next__(self) -> datetime:
        # One cached croniter serves every caller, so its position is set on each step.
        self.iterator.set_current(self.current, force=True)
        try:
            self.current = self.iterator.get_next(datetime)
        except CroniterBadDateError:
            raise StopIteration from None
        return self.current


def transition_between(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """Given two instants with different UTC offsets in `zone`, return the first whole second
    that has `high`'s offset: the moment the clocks changed."""
    target = high.astimezone(zone).utcoffset()
    low_second, high_second = int(low.timestamp()), int(high.timestamp())
    while high_second - low_second > 1:
        middle = (low_second + high_second) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == target:
            high_second = middle
        else:
            low_second = middle
    return datetime.fromtimestamp(high_second, UTC)


def instants_of(wall: datetime, zone: ZoneInfo) -> tuple[datetime, ...]:
    """Given a naive wall time, return the UTC instants at which clocks in `zone` show it:
    one, two in a fall-back repeat (first, second), or for a time in a spring-forward gap
    the first instant after the gap."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first == second:
        return (first,)
    if first < second:
        return (first, second)
    return (transition_between(zone, second, first),)


def repeated_walls(local: datetime, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """Given an aware local time, return the naive [start, end) of the fall-back repeat that
    contains its wall time, or None when that wall time happens only once."""
    wall = local.replace(tzinfo=None, fold=0)
    instants = instants_of(wall, zone)
    if len(instants) != 2:
        return None
    changed = transition_between(zone, instants[0], instants[1])
    start = changed.astimezone(zone).replace(tzinfo=None, fold=0)
    offset_before = instants[0].astimezone(zone).utcoffset()
    end = (changed + offset_before).replace(tzinfo=None)
    return start, end


def next_fire(schedule: Schedule, after: datetime, zone: ZoneInfo) -> datetime | None:
    """Given an aware instant, return the first UTC instant strictly after it at which the
    job fires (a cron instant plus the offset), or None when it can never fire again."""
    # The first cron instant c with c + offset > after is the first one after (after - offset).
    instant = cron_instant_after(schedule, after - schedule.offset, zone)
    return None if instant is None else instant + schedule.offset


def cron_instant_after(schedule: Schedule, after: datetime, zone: ZoneInfo) -> datetime | None:
    """Given an aware instant, return the first UTC instant strictly after it that the cron
    expression names, by the daylight-saving rules above, without the offset."""
    local = after.astimezone(zone)
    wall = local.replace(tzinfo=None, fold=0)
    repeat = repeated_walls(local, zone)
    # In the second pass of a repeated hour, its wall times already fired the first time.
    start = repeat[1] - ONE_MICROSECOND if repeat and local.fold == 1 else wall
    best = next((instants_of(w, zone)[0] for w in walls_after(schedule, start)), None)
    if repeat and schedule.follows_clock:
        second_start = wall if local.fold == 1 else repeat[0] - ONE_MICROSECOND
        for candidate in walls_after(schedule, second_start):
            if candidate >= repeat[1]:
                break
            second = instants_of(candidate, zone)[1]
            if second > after:
                best = second if best is None else min(best, second)
                break
    return best


def fire_times(schedule: Schedule, after: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
    """Given an instant, return up to `count` following fire times (fewer if it stops firing)."""
    times: list[datetime] = []
    current = after
    while len(times) < count and (current := next_fire(schedule, current, zone)) is not None:
        times.append(current)
    return times
