"""The verdict of `/bin/status` on what the runs left behind, as plain functions of the
documents and the time: how old each job's last run and last success are, when that is too
old for its schedule, and the findings.

Staleness comes from the cron expression itself: the longest gap between its next fire times
(a weekday schedule waits three days over a weekend), times STATUS_STALE_FACTOR, plus a margin
for a run's own length. The shell image knew five expression patterns and checked no other.
"""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from helper import schedule

# What a run may take beyond its schedule before it counts as late, as in the shell image.
MARGIN_SECONDS = 600
# Fire times looked at for the longest gap: more than a week of daily runs.
FIRES_LOOKED_AT = 9
OK, WARN, FAIL = "OK", "WARN", "FAIL"


def interval_seconds(expression: str, now: datetime, zone: ZoneInfo) -> float | None:
    """The longest gap between the expression's next fire times, or None when it fires less
    than twice (`0 0 31 2 *`)."""
    parsed = schedule.parse("status", "CRON", expression)
    times = schedule.fire_times(parsed, now, zone, FIRES_LOOKED_AT)
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    return max(gaps, default=None)


def stale_after(interval: float | None, factor: float) -> float | None:
    return None if interval is None else factor * interval + MARGIN_SECONDS


def human_age(seconds: float | None) -> str:
    """An age as the shell image showed it: `2d 3h`, `4h 5m` or `6m`."""
    if seconds is None:
        return "never"
    minutes = max(0, int(seconds // 60))
    days, hours = minutes // 1440, minutes // 60 % 24
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes % 60}m" if hours else f"{minutes}m"


def judge_job(
    job: str, document: dict | None, now: float, limit: float | None, alive: bool = True
) -> tuple[str, str, str]:
    """Given a scheduled job's last document, the time, its staleness limit and, for a run that
    said it started, whether its process is alive, return its (status, level, detail):
    missing / running / killed / fail / stale / ok, and OK, WARN or FAIL."""
    if document is None:
        return "missing", WARN, f"{job} has not run here yet (no last-{job}.json)"
    if document.get("status") == "running" and not alive:
        started = document.get("started_at")
        return "killed", FAIL, f"{job} was killed: the run started {started} ended without a final report"
    exit_code = document.get("exit_code")
    if document.get("status") == "running":
        exit_code = 0  # a run in progress is judged by its last success
    if exit_code != 0:
        error = f": {document['error']}" if document.get("error") else ""
        # A warning (a snapshot with unreadable files) did its work, with a flaw to look at.
        level = WARN if document.get("status") == "warning" else FAIL
        return "fail", level, f"{job}'s last run ended {document.get('status')} (exit {exit_code}){error}"
    success = document.get("last_success_epoch")
    if success is None and document.get("status") == "ok":
        success = document.get("finished_epoch")
    age = None if success is None else now - success
    if limit is not None and (age is None or age > limit):
        since = "has never succeeded" if age is None else f"last succeeded {human_age(age)} ago"
        level = FAIL if age is not None and age > 2 * limit else WARN
        return "stale", level, f"{job} {since}; its schedule expects a success within {human_age(limit)}"
    return "ok", OK, ""


def verdict(levels: list[str]) -> str:
    """FAIL when any finding fails, else WARN when any warns, else OK."""
    return FAIL if FAIL in levels else WARN if WARN in levels else OK


def job_line(job: dict) -> str:
    if not job["enabled"]:
        return f"  {job['job']:<14} disabled"
    last = f"{job['last_status']} {human_age(job['age_seconds'])} ago" if job["present"] else "never ran"
    success = human_age(job["last_success_age_seconds"])
    return (
        f"  {job['job']:<14} {job['status']:<8} last run {last}, last success {success} ago ({job['cron']})"
    )


def lock_line(locks: dict | None) -> str:
    if not locks:
        return "  no run has looked at the repository's locks yet"
    holders = ", ".join(locks.get("holders") or []) or "nobody"
    seen = human_age(locks["seen_seconds_ago"])
    return f"  {locks['total']} lock(s), {locks['stale']} stale, held by {holders} (seen {seen} ago)"


def scheduler_line(scheduler: dict) -> str:
    if not scheduler["present"]:
        return "  no heartbeat: no scheduler runs in this container"
    return "  " + (
        scheduler.get("reason") or f"the heartbeat of host {scheduler.get('hostname')}, not checked"
    )


def text(document: dict) -> list[str]:
    """The status/1 document as the lines status prints."""
    heading = (
        f"{document['verdict']}: {document['failures']} failure(s), {document['warnings']} warning(s) "
        f"on {document['hostname']} at {document['generated_at']} ({document['runtime']['repository']})"
    )
    findings = [f"  [{finding['level']}] {finding['message']}" for finding in document["findings"]]
    return [
        heading,
        "== Jobs ==",
        *(job_line(job) for job in document["jobs"]),
        "== Locks ==",
        lock_line(document["locks"]),
        "== Scheduler ==",
        scheduler_line(document["scheduler"]),
        "== Findings ==",
        *(findings or ["  none"]),
    ]
