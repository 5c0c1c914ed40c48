"""Reporters: each takes the one RunResult and writes one sink. The envelope calls them in
this order, each isolated, so a failing one only logs a warning. Each imports its library
(prometheus-client, jinja2, requests) where it uses it, so a run pays only for the sinks it has."""

import logging
from collections.abc import Callable
from datetime import datetime

from helper.logs import RunLog
from helper.report import audit, lock_metrics, logfiles, mail, metrics, pings, state, webhook
from helper.result import RunResult
from helper.settings import Settings

logger = logging.getLogger(__name__)

# audit comes first: a run killed anywhere in its report (a slow webhook at the end of a stop's
# grace) then has its `finished`, or, killed before it, a `running` record that the next run
# calls killed; after state, it could have neither. The local files come before the network.
# logfiles comes last: it copies the finished run log, and a line logged after it (a
# reporter's warning) would be missing from the copy.
REPORTERS = (audit, state, metrics, lock_metrics, mail, webhook, pings, logfiles)

# What a run says as it starts, before any reporter has a result: that it is running.
# audit.announce comes first: it reads the previous run's record (a dead `running` one was
# killed) before state replaces it. audit.announced comes last: the stream says `started`
# only once the running record exists, so a run killed at any moment after its `started` is
# shown as killed by the next run.
ANNOUNCERS = (audit.announce, state.announce, metrics.announce, pings.announce, audit.announced)


def announce(job: str, settings: Settings, started_at: datetime) -> None:
    """Tell each sink that a run has started; a failure is a warning, never a stop."""
    for call in ANNOUNCERS:
        isolated(call, "{sink}: cannot announce the run", job, settings, started_at)


def run_reporters(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    """Hand the run's one result to every sink; a failing sink is a warning, never a new verdict."""
    for reporter in REPORTERS:
        isolated(reporter.report, "{sink} reporter failed", result, settings, run_log)


def isolated(call: Callable, failure: str, *arguments) -> None:
    """Call one sink; the run and its exit code matter more than any one sink. `failure` names
    the sink as {sink} (its module's last name)."""
    try:
        call(*arguments)
    except Exception as error:  # noqa: BLE001 - one broken sink must not silence the others
        sink = call.__module__.rsplit(".", 1)[-1]
        logger.warning(f"{failure.format(sink=sink)}: {error}")
