"""/bin/init-repo: an audited `restic init`. It probes first and initialises only when restic
says the repository does not exist (exit 10): never over an existing repository, and never
because of a network, TLS or password error that merely hides one.

The probe, `restic --no-lock cat config`, is the start-up probe's (helper/scheduler/probe.py):
one file read, no lock, bounded by PROBE_TIMEOUT because restic retries an unreachable
backend for many minutes.
"""

import argparse
import logging
import shlex

from helper.outcome import (
    EXIT_CANNOT_START,
    EXIT_OK,
    EXIT_REPOSITORY_MISSING,
    EXIT_TIMED_OUT,
    EXIT_WRONG_PASSWORD,
    Status,
    outcome_for,
)
from helper.settings import Setting, Settings, kinds
from helper.workers import targets, terminal
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "init-repo"
SUMMARY = "Create the repository (restic init), only after a probe proves it does not exist."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = ("dry_run", "assume_yes", "confirmed", "repo_existed", "probe_exit_code", "init_args")
GAUGES = ()
SETTINGS = (
    Setting(
        "RESTIC_INIT_ARGS",
        kinds.ARGUMENTS,
        "",
        "Extra arguments for restic init in /bin/init-repo (shell words), e.g. --repository-version 2.",
        "Repository",
    ),
)

# Shared with the start-up probe.
PROBE = ("--no-lock", "cat", "config")
# `restic init` writes a few files; a slow backend still deserves a minute.
INIT_SECONDS = 60.0


def requirements(settings: Settings) -> list[str]:
    """init-repo needs nothing beyond the repository's address and password."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="probe and say what would happen; create nothing"
    )
    parser.add_argument(
        "-y", "--yes", action="store_true", help="create without asking (needed without a terminal)"
    )
    parser.add_argument("init_arguments", nargs="*", metavar="-- ARGS", help="more restic init arguments")


def probe_refusal(completed, settings: Settings) -> str | None:
    """Why the probe's answer forbids an init (anything but "no repository"), or None."""
    code = completed.exit_code
    if code == EXIT_REPOSITORY_MISSING:
        return None
    if code == EXIT_WRONG_PASSWORD:
        return "RESTIC_PASSWORD: wrong password or no key for the repository; nothing initialised"
    if code == EXIT_TIMED_OUT:
        return (
            f"the repository did not answer within PROBE_TIMEOUT ({settings.probe_timeout:g}s); "
            "nothing initialised: a network error must never look like a missing repository"
        )
    if code == EXIT_CANNOT_START:
        return f"RESTIC_BIN: {completed.outcome.hint}"
    return f"the probe failed (restic exit {code}): {completed.outcome.hint}; nothing initialised"


def confirmation(options: argparse.Namespace) -> bool | str:
    """True to go on, False when the operator declined, or the message of a run nobody can confirm."""
    if options.yes:
        return True
    if not terminal.interactive():
        return "without a terminal, init-repo needs --yes (or --dry-run to see what it would do)"
    return terminal.confirmed("type init to create the repository:", expected="init")


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    init_arguments = (*settings.restic_init_args, *options.init_arguments)
    extras = {"dry_run": options.dry_run, "assume_yes": options.yes, "confirmed": False}
    extras.update(init_args=list(init_arguments))
    probe = context.restic.run(*PROBE, echo=False, timeout_seconds=settings.probe_timeout)
    extras.update(probe_exit_code=probe.exit_code, repo_existed=None)
    if probe.exit_code == EXIT_OK:
        extras["repo_existed"] = True
        message = "the repository exists already: " + ("would refuse" if options.dry_run else "refused")
        logger.info(message)
        return WorkerReport(
            outcome_for(Status.OK if options.dry_run else Status.WARNING, message), extras, message
        )
    if refusal := probe_refusal(probe, settings) or targets.ephemeral_refusal(settings):
        return config_error(refusal, extras)
    extras["repo_existed"] = False
    planned = shlex.join(("restic", "init", *init_arguments))
    if options.dry_run:
        logger.info(f"the repository does not exist: would run {planned}")
        return WorkerReport(outcome_for(Status.OK), extras)
    answer = confirmation(options)
    if isinstance(answer, str):
        return config_error(answer, extras)
    if not answer:
        logger.info("⏹ not confirmed: nothing initialised")
        return WorkerReport(outcome_for(Status.OK), extras)
    extras["confirmed"] = True
    completed = context.restic.run("init", *init_arguments, timeout_seconds=INIT_SECONDS)
    if completed.exit_code == EXIT_OK:
        logger.info(f"✅ created the repository ({planned})")
    return report_from(completed, extras)
