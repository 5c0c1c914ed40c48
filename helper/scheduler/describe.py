"""A cron expression in plain English, for cron-list and the scheduler's start-up lines.

The common shapes get a natural sentence ("every 6 hours at minute 0", "at 02:30 on
Monday through Friday"); anything else is spelled out field by field.
"""

from helper.schedule import Schedule
from helper.settings.kinds import format_duration

MONTHS = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # fmt: skip
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KEYWORD_TEXT = {
    "@yearly": "once a year, at 00:00 on 1 January",
    "@annually": "once a year, at 00:00 on 1 January",
    "@monthly": "once a month, at 00:00 on day 1",
    "@weekly": "once a week, at 00:00 on Sunday",
    "@daily": "once a day, at 00:00",
    "@midnight": "once a day, at 00:00",
    "@hourly": "once an hour, at minute 0",
}


def name_of(value: str, names: tuple[str, ...]) -> str:
    if value.isdigit():
        return names[int(value)] if int(value) < len(names) else value
    return next((name for name in names if name[:3].lower() == value[:3].lower()), value)


def part_text(part: str, names: tuple[str, ...] = ()) -> str:
    """One comma-separated part: `5`, `1-5`, `*/2`, `10-20/5`, with names for months and days."""
    base, _, step = part.partition("/")
    low, dash, high = base.partition("-")
    if names:
        low, high = name_of(low, names), name_of(high, names) if high else high
    span = f"{low} through {high}" if dash else low
    if not step:
        return span
    return f"{span} in steps of {step}" if base != "*" else f"every {step}"


def field_text(field: str, names: tuple[str, ...] = ()) -> str:
    parts = [part_text(part, names) for part in field.split(",")]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def is_every(field: str) -> bool:
    return field == "*" or (field.startswith("*/") and "," not in field)


def every(field: str, singular: str) -> str:
    step = field.partition("/")[2]
    return f"every {singular}" if step in ("", "1") else f"every {step} {singular}s"


def clock(hour: str, minute: str, second: str = "0") -> str:
    return f"{int(hour):02d}:{int(minute):02d}" + (f":{int(second):02d}" if second != "0" else "")


def time_text(second: str, minute: str, hour: str) -> str:
    """The time-of-day half of the sentence: a common shape, else field by field."""
    if is_every(second) and minute == hour == "*":
        return every(second, "second")
    if second.isdigit() and minute.isdigit() and hour.isdigit():
        return "at " + clock(hour, minute, second)
    if second == "0":
        hours = hour.split(",")
        if minute.isdigit() and all(part.isdigit() for part in hours):
            return "at " + " and ".join(clock(part, minute) for part in hours)
        if is_every(minute) and hour == "*":
            return every(minute, "minute")
        if minute.isdigit() and is_every(hour):
            return every(hour, "hour") + f" at minute {minute}"
    named = (("second", second), ("minute", minute), ("hour", hour))
    parts = [
        every(field, name) if is_every(field) else f"{name} {field_text(field)}"
        for name, field in named
        if field != "*" and not (name == "second" and field == "0")
    ]
    text = " of ".join(parts) or "every second"
    return text if text.startswith("every") else "at " + text


def is_fixed_time(second: str, minute: str, hour: str) -> bool:
    return all(part.isdigit() for part in (second, minute, *hour.split(",")))


def day_text(day_of_month: str, month: str, day_of_week: str) -> str:
    """The calendar half of the sentence; both day fields set means either may match."""
    days = []
    if day_of_month != "*":
        days.append(f"on day {field_text(day_of_month)} of the month")
    if day_of_week != "*":
        days.append(f"on {field_text(day_of_week, WEEKDAYS)}")
    text = " or ".join(days)
    if month != "*":
        text += f" in {field_text(month, MONTHS)}"
    return text.strip()


def describe(schedule: Schedule) -> str:
    """Given a schedule, return a plain-English sentence saying when it fires."""
    if schedule.expression.lower() in KEYWORD_TEXT:
        return KEYWORD_TEXT[schedule.expression.lower()]
    fields = schedule.fields if schedule.has_seconds else ("0", *schedule.fields)
    second, minute, hour, day_of_month, month, day_of_week = fields
    when = time_text(second, minute, hour)
    days = day_text(day_of_month, month, day_of_week)
    if not days:
        return when + (" every day" if is_fixed_time(second, minute, hour) else "")
    return f"{when} {days}"


def jitter_text(seconds: float) -> str:
    """A job's SCHEDULE_JITTER delay, as cron-list and the scheduler show it: `+4m12s jitter`."""
    return f"+{format_duration(seconds)} jitter"
