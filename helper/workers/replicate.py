"""/bin/replicate (and its old name /bin/bisync): a second copy, in two ways that may be
configured together, and then both run:

- the rclone mode, the shell image's: each line of REPLICATE_JOB_FILE is an rclone bisync,
  sync or copy between two places (helper/workers/rclone_jobs.py);
- the restic mode: with REPLICATE_REPOSITORY, `restic copy` of this helper's snapshots into a
  second repository (helper/workers/restic_copy.py).

A job that fails does not stop the others. The run is ok when every job is; a warning (exit
3) when a bisync had to be recovered by a resync, where the shell image said nothing; failed
(exit 1, or restic's own code for the restic copy) when a job failed. A bad job file runs
nothing: every bad line is named, exit 2.
"""

import json
import logging
import os
from pathlib import Path

from helper.outcome import Status, outcome_for
from helper.rclone import Rclone
from helper.settings import Setting, Settings, kinds
from helper.workers import rclone_jobs, restic_copy
from helper.workers.context import RunContext, WorkerReport, config_error
from helper.workers.rclone_jobs import Replicated

logger = logging.getLogger(__name__)

NAME = "replicate"
SUMMARY = "rclone bisync/sync/copy the jobs of REPLICATE_JOB_FILE; restic copy into REPLICATE_REPOSITORY."
# No run lock: replicate takes no exclusive restic lock (restic copy's locks are non-exclusive
# and any conflict is waited out by the lock session), rclone touches no repository, and a copy
# may run for hours: under the run lock every backup due meanwhile would be skipped. The shell
# image, too, ran it beside backup (its own replicate.lock). The scheduler never starts a job
# while its previous run is still going, so replicate does not overlap itself.
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = "REPLICATE_CRON"
CRON_OLD_NAME = "SYNC_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/replicate runs. Empty disables it."
FIELDS = (
    *("replicate_jobs_processed", "replicate_jobs_failed", "replicate_jobs_recovered"),
    *("snapshots_copied", "replicate_jobs"),
)
GAUGES = ("replicate_jobs_processed", "replicate_jobs_failed", "replicate_jobs_recovered", "snapshots_copied")
GROUP = "Replicate"
DEFAULT_JOB_FILE = "/config/replicate_jobs.txt"
SETTINGS = (
    Setting(
        "REPLICATE_JOB_FILE",
        kinds.TEXT,
        DEFAULT_JOB_FILE,
        "The rclone jobs, one SOURCE;DESTINATION[;MODE[;EXTRA]] a line (see the replicate page).",
        GROUP,
        old_name="SYNC_JOB_FILE",
    ),
    Setting(
        "REPLICATE_JOB_ARGS",
        kinds.ARGUMENTS,
        "",
        "rclone arguments for every job, before a line's EXTRA; --resync is removed.",
        GROUP,
        old_name="SYNC_JOB_ARGS",
    ),
    Setting(
        "REPLICATE_VERBOSE",
        kinds.BOOLEAN,
        "ON",
        "rclone's output on the console (cron.log) too; OFF: only in replicate-last.log.",
        GROUP,
        old_name="SYNC_VERBOSE",
    ),
    Setting(
        "REPLICATE_BISYNC_CHECK_ACCESS",
        kinds.BOOLEAN,
        "OFF",
        "Add --check-access to every bisync and recovery resync (needs an RCLONE_TEST file on both sides).",
        GROUP,
        old_name="SYNC_BISYNC_CHECK_ACCESS",
    ),
    Setting("RCLONE_BIN", kinds.TEXT, "rclone", "The rclone executable (a name on PATH or a path).", GROUP),
    Setting(
        "REPLICATE_REPOSITORY",
        kinds.TEXT,
        "",
        "A second restic repository: restic copy copies snapshots into it (credentials in it are "
        "masked). Empty: no restic copy.",
        GROUP,
    ),
    Setting(
        "REPLICATE_PASSWORD", kinds.TEXT, "", "The password of REPLICATE_REPOSITORY.", GROUP, secret=True
    ),
    Setting(
        "REPLICATE_HOST",
        kinds.TEXT,
        "",
        "Copy this host's snapshots (empty: this hostname; *: every host).",
        GROUP,
    ),
    Setting(
        "REPLICATE_TAG",
        kinds.TEXT,
        "",
        "Copy the snapshots with this tag (empty: RESTIC_TAG; *: any).",
        GROUP,
    ),
)
OLD_NAMES = frozenset({CRON_OLD_NAME, *(setting.old_name for setting in SETTINGS if setting.old_name)})
# The first of these among the jobs' verdicts is the run's.
SEVERITY = (Status.INTERRUPTED, Status.FAILED, Status.LOCKED, Status.WARNING)


def rclone_wanted(settings: Settings) -> bool:
    """The rclone mode runs unless REPLICATE_REPOSITORY is set and the job file is the default
    one, absent: an operator who names a job file wants it read."""
    if not settings.replicate_repository or settings.replicate_job_file != DEFAULT_JOB_FILE:
        return True
    return os.path.exists(DEFAULT_JOB_FILE)


def plan(settings: Settings) -> tuple[list[rclone_jobs.Job], list[str]]:
    """The rclone jobs to run, and every problem of both modes."""
    problems = restic_copy.problems(settings)
    if not rclone_wanted(settings):
        return [], problems
    jobs, job_problems = rclone_jobs.read_jobs(settings.replicate_job_file, settings.replicate_job_args)
    return jobs, problems + job_problems


def requirements(settings: Settings) -> list[str]:
    """A readable job file whose every line is a job, and REPLICATE_PASSWORD with REPLICATE_REPOSITORY."""
    return plan(settings)[1]


def add_arguments(parser) -> None:
    """replicate takes no options of its own: the job file and the settings say everything."""


def failed_last_time(settings: Settings) -> set[tuple[str, str]]:
    """The (source, destination) pairs, masked as the JSON keeps them, whose job failed in the
    last run: a bisync of theirs that finds no listings lost them to that failure, and is no
    pair's first bisync."""
    try:
        entries = json.loads((Path(settings.log_dir) / f"last-{NAME}.json").read_text())["replicate_jobs"]
        return {
            (entry["source"], entry["destination"])
            for entry in entries
            if entry.get("exit_code") and not entry.get("recovered")
        }
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def run(context: RunContext) -> WorkerReport:
    settings, stop = context.settings, context.restic.stop
    for warning in settings.warnings:
        if warning.split(" ", 1)[0] in OLD_NAMES:
            logger.warning(warning)
    if alias := getattr(context.options, "alias", None):
        logger.warning(f"/bin/{alias} is the old name of /bin/replicate: call /bin/replicate")
    jobs, problems = plan(settings)
    for problem in problems:
        logger.error(problem)
    if problems:
        return config_error("; ".join(problems))
    rclone = Rclone(settings.rclone_bin, settings.restic_environment, settings.replicate_verbose, stop)
    troubled = failed_last_time(settings)
    results: list[Replicated] = []
    for job in jobs:
        if stop.stopped():
            break
        failed_before = (settings.masker.mask(job.source), settings.masker.mask(job.destination)) in troubled
        results.append(
            rclone_jobs.run_job(job, rclone, settings.replicate_bisync_check_access, failed_before)
        )
    if settings.replicate_repository and not stop.stopped():
        results.append(restic_copy.run(context))
    return verdict(results, stop.stopped())


def verdict(results: list[Replicated], stopped: bool) -> WorkerReport:
    """The run's report: its fields, and the most severe of its jobs' verdicts."""
    entries = [result.entry for result in results]
    failed = [result for result in results if result.outcome.status is not Status.OK]
    extras = {
        "replicate_jobs_processed": len(results),
        "replicate_jobs_failed": len(failed),
        "replicate_jobs_recovered": sum(bool(entry["recovered"]) for entry in entries),
        "snapshots_copied": next(
            (entry["snapshots_copied"] for entry in entries if "snapshots_copied" in entry), None
        ),
        "replicate_jobs": entries,
    }
    logger.info(
        f"📊 {extras['replicate_jobs_processed']} job(s), {len(failed)} failed "
        f"({extras['replicate_jobs_recovered']} recovered)"
    )
    ranked = (result.outcome for status in SEVERITY for result in failed if result.outcome.status is status)
    outcome = next(ranked, outcome_for(Status.OK))
    if stopped and outcome.status is not Status.INTERRUPTED:
        outcome = outcome_for(Status.INTERRUPTED, "interrupted between two jobs")
    return WorkerReport(
        outcome, extras, "; ".join(result.outcome.hint for result in failed) or outcome.hint or None
    )
