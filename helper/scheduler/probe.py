"""The start-up probe (RESTIC_CHECK_REPOSITORY_STATUS=ON): is the repository there, and may we
open it? `restic init` runs only when restic says the repository does not exist (exit 10).

`cat config` runs with `--no-lock`: it reads one file, and another host's exclusive lock
(a prune elsewhere) must not stop this container from starting.
"""

import logging
import time
from collections.abc import Callable

from helper import logs, restic, stop
from helper.outcome import (
    EXIT_CANNOT_START,
    EXIT_CONFIG_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REPOSITORY_MISSING,
    EXIT_WRONG_PASSWORD,
)
from helper.scheduler.console import Console
from helper.settings import Settings
from helper.workers import targets
from helper.workers.init_repo import INIT_SECONDS, PROBE

FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0
# restic retries a failing backend for up to 15 minutes by itself; each call gets at least this.
SHORTEST_CALL_SECONDS = 2.0
logger = logging.getLogger(__name__)
STOPPED = "stopped during the start-up probe"
RETRY = object()


def run(
    settings: Settings,
    console: Console,
    sleep: Callable[[float], list[int]],
    clock: Callable[[], float] = time.monotonic,
) -> int | None:
    """Probe the repository. Return None to go on, else the exit code to stop with.

    `sleep(seconds)` waits between attempts and returns the signals that cut it short; a
    stop signal (noted by the stop token) ends the probe with exit 0."""
    logs.install([logs.ConsoleHandler(console.writer("probe"))], settings.masker)
    runner = restic.runner(settings)
    repository = settings.masker.mask(settings.restic_repository)
    refusal = targets.ephemeral_refusal(settings)
    deadline = clock() + settings.probe_timeout
    delay = FIRST_RETRY_SECONDS
    while True:
        budget = max(SHORTEST_CALL_SECONDS, deadline - clock())
        completed = runner.run(*PROBE, echo=False, timeout_seconds=budget)
        outcome = answer(completed, runner, repository, refusal)
        if outcome is not RETRY:
            return outcome
        remaining = deadline - clock()
        if remaining <= 0:
            logger.error(
                f"repository {repository} still unreachable after PROBE_TIMEOUT "
                f"({settings.probe_timeout:g}s; last exit {completed.exit_code}); giving up"
            )
            return EXIT_FAILED
        logger.warning(f"probe failed (exit {completed.exit_code}); retrying in {min(delay, remaining):.1f}s")
        sleep(min(delay, remaining))
        if stop.TOKEN.stopped():
            logger.info(STOPPED)
            return EXIT_OK
        delay = min(delay * 2, LONGEST_RETRY_SECONDS)


def answer(
    completed: restic.Completed, runner: restic.Restic, repository: str, refusal: str | None
) -> int | object | None:
    """Given the result of `cat config`, return None (go on), an exit code, or RETRY. `refusal`
    says why a missing repository must not be created here."""
    exit_code = completed.exit_code
    if stop.TOKEN.stopped():
        logger.info(STOPPED)
        return EXIT_OK
    if exit_code == EXIT_OK:
        logger.info(f"✅ repository {repository} is reachable")
        return None
    if exit_code == EXIT_CANNOT_START:
        # No retry brings a missing executable back.
        logger.error(f"RESTIC_BIN: {completed.outcome.hint}")
        return EXIT_CONFIG_ERROR
    if exit_code == EXIT_REPOSITORY_MISSING:
        return initialise(runner, repository, refusal)
    if exit_code == EXIT_WRONG_PASSWORD:
        logger.error(
            f"RESTIC_PASSWORD: wrong password or no key found for the repository {repository} "
            "(check RESTIC_PASSWORD, RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND)"
        )
        return EXIT_CONFIG_ERROR
    return RETRY


def initialise(runner: restic.Restic, repository: str, refusal: str | None) -> int | None:
    """The repository does not exist (exit 10): create it, unless refused (exit 2). Return None
    on success, else the exit code."""
    if refusal:
        logger.error(f"repository {repository} does not exist (restic exit 10); {refusal}")
        return EXIT_CONFIG_ERROR
    logger.info(f"repository {repository} does not exist (restic exit 10): running restic init")
    completed = runner.run("init", timeout_seconds=INIT_SECONDS)
    if stop.TOKEN.stopped():
        logger.info("stopped during restic init")
        return EXIT_OK
    if completed.exit_code != EXIT_OK:
        # Hosts that share a repository start together and all see it missing; the first init
        # wins and the others fail. A repository that exists now is what they wanted.
        if runner.run(*PROBE, echo=False, timeout_seconds=INIT_SECONDS).exit_code == EXIT_OK:
            logger.info(f"✅ repository {repository} was created meanwhile, by another host")
            return None
        logger.error(f"restic init failed (exit {completed.exit_code}): {completed.outcome.hint}")
        return EXIT_FAILED
    logger.info(f"✅ created the repository {repository}")
    return None
