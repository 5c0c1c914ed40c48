"""SCHEDULE_JITTER: each job on each host fires a fixed while after its cron instant, so hosts
that share a repository and a schedule do not all reach it in the same second.

The offset comes from sha256("<hostname>/<job>"), not from a random draw: a host and job get
the same offset at every start, so the job keeps its rhythm (and its alerts their
expectations) across restarts, while other hosts land elsewhere in the window.
"""

import hashlib
import itertools
from datetime import datetime, timedelta

from helper.schedule import Schedule
from helper.settings.kinds import format_duration


def offset(hostname: str, job: str, window_seconds: float) -> timedelta:
    """Given the host name, the job and SCHEDULE_JITTER in seconds, return the job's delay:
    whole seconds in [0, window), the same at every start; zero when the window is under 1s."""
    whole_seconds = int(window_seconds)
    if whole_seconds <= 0:
        return timedelta(0)
    digest = hashlib.sha256(f"{hostname}/{job}".encode()).digest()
    # 64 bits modulo a window of at most 31 years: the bias is far below one in a billion.
    return timedelta(seconds=int.from_bytes(digest[:8], "big") % whole_seconds)


def too_wide(schedule: Schedule, times: list[datetime], window_seconds: float) -> str | None:
    """Given a job's next fire times, return a warning when SCHEDULE_JITTER is longer than the
    shortest gap between them, else None. Not an error: the job still runs once per tick."""
    shortest = min((later - earlier for earlier, later in itertools.pairwise(times)), default=None)
    if shortest is None or window_seconds <= shortest.total_seconds():
        return None
    return (
        f"SCHEDULE_JITTER: {format_duration(window_seconds)} is longer than the "
        f"{format_duration(shortest.total_seconds())} between two runs of {schedule.job} "
        f"({schedule.variable}): a window wider than the interval spreads hosts no further, "
        "and delays a run past the job's next cron time"
    )
