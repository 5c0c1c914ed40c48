"""Value parsers for the settings table: each turns one raw string into a typed value.

Every parser raises ValueError with a message that completes the sentence
"<VARIABLE>: ...", so the caller can name the variable without knowing the kind.
"""

import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TRUE_WORDS = frozenset({"on", "true", "yes", "1"})
FALSE_WORDS = frozenset({"off", "false", "no", "0", ""})
CRON_KEYWORDS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Kind:
    """A named value type: `parse` turns the raw string into the value, `label` names it in docs."""

    label: str
    parse: Callable[[str], object]


def parse_text(raw: str) -> str:
    return raw


def parse_boolean(raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected ON/OFF, true/false, yes/no or 1/0, got {raw!r}")


# Counts and durations end up in sleeps and timers, which overflow near 2**63 nanoseconds;
# a billion (about 31 years) is far beyond any sensible wait.
LARGEST_COUNT = 10**9


def parse_count(raw: str) -> int:
    """Given a non-negative whole number as text, return it; an empty value counts as 0."""
    text = raw.strip() or "0"
    # isdigit() alone accepts "²", which int() then rejects with a message naming no variable.
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"expected a whole number of 0 or more, got {raw!r}")
    if len(text) > 10 or int(text) > LARGEST_COUNT:
        raise ValueError(f"expected at most {LARGEST_COUNT:,}, got {raw!r}")
    return int(text)


def count_from(minimum: int) -> Kind:
    """A count that must be at least `minimum`, such as a timeout where 0 would mean no limit."""

    def parse(raw: str) -> int:
        number = parse_count(raw)
        if number < minimum:
            raise ValueError(f"expected a whole number of {minimum} or more, got {raw!r}")
        return number

    return Kind(f"integer ≥ {minimum}", parse)


def parse_percent(raw: str) -> int:
    """A whole percent from 0 to 100; an empty value counts as 0."""
    number = parse_count(raw)
    if number > 100:
        raise ValueError(f"expected a percent from 0 to 100, got {raw!r}")
    return number


def parse_time_limit(raw: str) -> float:
    """A duration of at least a second, or empty (or 0) for no limit: a shorter limit would stop
    every run before restic has even read the repository's config."""
    seconds = parse_duration(raw)
    if 0 < seconds < 1:
        raise ValueError(f"expected a duration of 1s or more (empty for no limit), got {raw!r}")
    return seconds


def parse_factor(raw: str) -> float:
    """A multiplier of 1 or more (`3`, `2.5`)."""
    try:
        number = float(raw.strip())
    except ValueError:
        number = float("nan")
    if not 1 <= number <= LARGEST_COUNT:  # NaN fails both comparisons
        raise ValueError(f"expected a number of 1 or more, got {raw!r}")
    return number


def parse_port(raw: str) -> int:
    port = parse_count(raw)
    if not 0 < port < 65536:
        raise ValueError(f"expected a TCP port from 1 to 65535, got {raw!r}")
    return port


def parse_duration(raw: str) -> float:
    """Given `90`, `90s`, `5m`, `2h` or `1h30m`, return seconds; an empty value counts as 0."""
    text = raw.strip().lower()
    if text == "" or (text.isascii() and text.isdigit()):
        return float(parse_count(text))
    parts = DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"expected a duration such as 90s, 5m, 2h or 1h30m, got {raw!r}")
    seconds = sum(float(number) * DURATION_UNITS[unit] for number, unit in parts)
    if not seconds <= LARGEST_COUNT:  # also catches inf and nan from absurdly long numbers
        raise ValueError(f"expected at most {LARGEST_COUNT:,} seconds (about 31 years), got {raw!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """Given seconds, return a short human duration such as 45s, 12m05s or 3h07m (the sign is
    the caller's to show)."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def format_bytes(count: float) -> str:
    """Given a byte count, return it as 512 B, 3.4 MiB or 1.2 GiB."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return ""


def parse_arguments(raw: str) -> tuple[str, ...]:
    """Split like a POSIX shell splits words, so quoted values may hold spaces."""
    try:
        return tuple(shlex.split(raw))
    except ValueError as error:
        raise ValueError(f"cannot split into words ({error}): {raw!r}") from None


def parse_cron(raw: str) -> str:
    """Check the shape of a cron expression; croniter checks the fields in the scheduler."""
    text = " ".join(raw.split())
    if text == "" or text.lower() in CRON_KEYWORDS:
        return text.lower()
    if len(text.split(" ")) not in (5, 6):
        raise ValueError(f"expected 5 cron fields (or 6 with seconds first) or an @keyword, got {raw!r}")
    return text


# zoneinfo costs ~20 ms to import (it loads sysconfig); every worker validates TZ but only the
# scheduler computes with it. A plain zone name whose system tzdata file starts as a TZif file
# is valid without it; anything else gets zoneinfo's own verdict.
SYSTEM_ZONES = Path("/usr/share/zoneinfo")
PLAIN_ZONE_NAME = re.compile(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*")


def parse_zone(raw: str) -> str:
    name = raw.strip() or "UTC"
    if PLAIN_ZONE_NAME.fullmatch(name) and _is_tzif(SYSTEM_ZONES / name):
        return name
    import zoneinfo

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {raw!r} (use a name such as Europe/Amsterdam)") from None
    return name


def _is_tzif(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(4) == b"TZif"
    except OSError:
        return False


def choice(*values: str) -> Kind:
    def parse(raw: str) -> str:
        word = raw.strip().lower()
        if word not in values:
            raise ValueError(f"expected one of {', '.join(values)}, got {raw!r}")
        return word

    return Kind("one of " + "/".join(values), parse)


TEXT = Kind("text", parse_text)
BOOLEAN = Kind("boolean", parse_boolean)
COUNT = Kind("integer ≥ 0", parse_count)
PORT = Kind("port", parse_port)
DURATION = Kind("duration", parse_duration)
PERCENT = Kind("percent 0–100", parse_percent)
TIME_LIMIT = Kind("duration ≥ 1s, or empty", parse_time_limit)
ARGUMENTS = Kind("words", parse_arguments)
CRON = Kind("cron", parse_cron)
ZONE = Kind("time zone", parse_zone)
FACTOR = Kind("number ≥ 1", parse_factor)
