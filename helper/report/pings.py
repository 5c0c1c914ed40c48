"""Start, success and failure pings for a job's monitoring check, in the protocol of
healthchecks.io (the default), Uptime Kuma or Cronitor (HEALTHCHECK_STYLE).

A check follows one schedule, so each job has its own URL: HEALTHCHECK_URL_<JOB>, and
HEALTHCHECK_URL for the backup. The start ping comes as the run starts, so a run that hangs or
is killed is noticed by the service; the final ping carries the masked log tail. A ping never
changes the exit code, waits at most HEALTHCHECK_TIMEOUT per attempt, and its URL, a secret,
is never logged whole.
"""

import logging
import os
import uuid
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from helper import delivery, workers
from helper.logs import RunLog
from helper.outcome import EXIT_OK, Status
from helper.result import RunResult
from helper.settings import Settings

logger = logging.getLogger(__name__)
# healthchecks.io keeps the first 100 kB of a ping's body; the tail is shorter anyway.
BODY_LIMIT = 100_000


def url_of(job: str, settings: Settings) -> str:
    own = str(settings.values.get(workers.ping_variable(job).lower(), ""))
    return own or (settings.healthcheck_url if job == "backup" else "")


def run_id(job: str, started_at: datetime) -> str:
    """The same id for a run's start and end pings (healthchecks.io pairs them by `rid`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{job}/{os.getpid()}/{started_at.timestamp()}"))


def with_query(url: str, **parameters: str) -> str:
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode(parameters)) if part)
    return urlunsplit(parts._replace(query=query))


def with_path(url: str, suffix: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix))


def start_url(style: str, url: str, rid: str) -> str | None:
    """The start ping, or None for a service that has none (Uptime Kuma)."""
    if style == "healthchecks":
        return with_query(with_path(url, "/start"), rid=rid)
    if style == "cronitor":
        return with_query(url, state="run", series=rid)
    return None


def end_url(style: str, url: str, result: RunResult, rid: str) -> str:
    """The final ping: success, failure with the exit code, or (a skip) only a log entry."""
    skipped = result.status is Status.SKIPPED
    ok = result.exit_code == EXIT_OK
    if style == "healthchecks":
        suffix = "/log" if skipped else "" if ok else f"/{result.exit_code}"
        return with_query(with_path(url, suffix), rid=rid)
    message = f"{result.job} {result.status} (exit {result.exit_code}) in {result.duration_seconds:.0f}s"
    if style == "cronitor":
        state = "complete" if ok else "fail"
        return with_query(url, state=state, series=rid, status_code=str(result.exit_code), message=message)
    return with_query(
        url, status="up" if ok else "down", msg=message, ping=str(round(result.duration_seconds * 1000))
    )


def send(url: str, body: str, settings: Settings, what: str) -> None:
    problem = delivery.ping(url, body, settings)
    if problem:
        logger.warning(f"{what} ping failed: {problem}")


def announce(job: str, settings: Settings, started_at: datetime) -> None:
    url = url_of(job, settings)
    target = url and start_url(settings.healthcheck_style, url, run_id(job, started_at))
    if target:
        send(target, "", settings, "start")


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    url = url_of(result.job, settings)
    if not url:
        return
    style = settings.healthcheck_style
    body = settings.masker.mask(result.log_tail)[-BODY_LIMIT:] if style == "healthchecks" else ""
    send(end_url(style, url, result, run_id(result.job, result.started_at)), body, settings, "final")
