"""One run of one job, the same for a cron tick, a `docker exec` and a one-shot `docker run`:

    run lock -> pre-hook -> worker -> auto-unlock -> post-hook -> reporters

Every path out of here, a config error or a lock timeout included, leaves the audit trail.
"""

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from types import ModuleType

from helper import closing, hooks, restic, workers
from helper.clock import SYSTEM
from helper.locks import run_lock
from helper.locks.budget import WaitBudget
from helper.locks.session import RepositoryLocks
from helper.logs import FILE_ONLY, RunLog
from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.report import announce, run_reporters, skips
from helper.settings import Settings
from helper.settings.kinds import format_duration
from helper.stop import TOKEN
from helper.workers.context import RunContext, WorkerReport, config_error

logger = logging.getLogger(__name__)
RunLockState = run_lock.RunLock | run_lock.Busy | None


def run(
    worker: ModuleType,
    options: argparse.Namespace,
    settings: Settings,
    problems: tuple[str, ...],
    lock_wait_seconds: float = 0.0,
) -> int:
    """Run `worker` once inside the envelope and return the process exit code."""
    started_at = SYSTEM.now().astimezone()
    budget = WaitBudget(lock_wait_seconds)
    # Before the lock wait, so a stop signal during the wait ends the run with its audit trail.
    TOKEN.install()
    lock, problems = take_run_lock(worker, settings, problems, budget)
    # A stop signal while waiting for the guard is an interruption, not a busy lock.
    if isinstance(lock, run_lock.Busy) and lock_wait_seconds <= 0 and not TOKEN.stopped():
        return skips.busy_run_lock(worker.NAME, lock, settings)
    # A run asked for JSON (`unlock --json`) keeps stdout for the document; the log goes to stderr.
    console = sys.stderr if getattr(options, "json", False) else None
    run_log = RunLog(Path(settings.log_dir) / f"{worker.NAME}-last.log", settings.masker, console)
    try:
        logger.info(f"▶️ {worker.NAME} on {settings.hostname} started")
        announce(worker.NAME, settings, started_at)
        locks = RepositoryLocks(restic.runner(settings), settings, budget)
        with TOKEN.deadline(workers.time_limit(worker.NAME, settings)):
            report = timed(worker.NAME, settings, body(worker, options, problems, locks, lock))
        # A worker's declared fields are always in the document, null when the run stopped early.
        report = dataclasses.replace(
            report, extras={**dict.fromkeys(getattr(worker, "FIELDS", ())), **report.extras}
        )
        closing.post_hook(worker.NAME, settings, report)
        result = closing.make_result(
            worker.NAME, settings, started_at, report, locks, run_log, getattr(worker, "NOTIFIES", True)
        )
        run_reporters(result, settings, run_log)
        return result.exit_code
    finally:
        run_log.close()
        if isinstance(lock, run_lock.RunLock):
            lock.release()


def take_run_lock(
    worker: ModuleType, settings: Settings, problems: tuple[str, ...], budget: WaitBudget
) -> tuple[RunLockState, tuple[str, ...]]:
    """Return the run lock (None when the worker takes none) and the problems, to which an
    unusable LOCK_DIR is added."""
    if not worker.TAKES_RUN_LOCK or problems:
        return None, problems
    path = run_lock.default_path(settings.lock_dir)
    try:
        lock = run_lock.acquire(path, worker.NAME, budget, settings.lock_force_inactive, TOKEN.stopped)
    except OSError as error:  # an unusable LOCK_DIR is a configuration error, with its audit
        return None, (f"LOCK_DIR: cannot use the run lock {path}: {error.strerror}",)
    return lock, problems


def timed(job: str, settings: Settings, report: WorkerReport) -> WorkerReport:
    """A run its time limit stopped ends `timeout`, whatever the stop made of it, unless it got
    its work done before the stop reached it."""
    if not TOKEN.timed_out or report.outcome.status in (Status.OK, Status.WARNING, Status.SKIPPED):
        return report
    variable = workers.timeout_variable(job)
    limit = format_duration(workers.time_limit(job, settings))
    message = f"{job} ran longer than {variable}={limit} and was stopped"
    logger.error(message)
    return dataclasses.replace(report, outcome=outcome_for(Status.TIMEOUT, message), error=message)


def early_exit(worker: ModuleType, problems: tuple[str, ...], lock: RunLockState) -> WorkerReport | None:
    """Log how the run lock was taken; return the report of a run that must stop before its
    pre-hook, or None to go on."""
    if isinstance(lock, run_lock.RunLock) and lock.waited >= 0.5:
        logger.info(f"⏳ waited {lock.waited:.1f}s for the run lock {lock.path}")
    if isinstance(lock, run_lock.RunLock) and lock.took_over_from:
        logger.warning(lock.takeover_message())
    # doctor and status report a broken configuration rather than being stopped by it.
    if problems and not getattr(worker, "RUNS_ON_BAD_CONFIGURATION", False):
        for problem in problems:
            logger.error(problem)
        return config_error("configuration error: " + "; ".join(problems))
    if TOKEN.stopped():
        message = f"{worker.NAME} was interrupted before it started"
    elif isinstance(lock, run_lock.Busy):
        holder = lock.holder or "an unknown process"
        message = (
            f"{worker.NAME} gave up after waiting {lock.waited:.0f}s for the run lock {lock.path} "
            f"held by {holder}"
        )
    else:
        return None
    logger.error(message)
    status = Status.INTERRUPTED if TOKEN.stopped() else Status.LOCKED
    return WorkerReport(outcome_for(status, message), {}, message)


def body(
    worker: ModuleType,
    options: argparse.Namespace,
    problems: tuple[str, ...],
    locks: RepositoryLocks,
    lock: RunLockState,
) -> WorkerReport:
    """Run the pre-hook and the worker, turning every early exit into a report."""
    stopped = early_exit(worker, problems, lock)
    if stopped is not None:
        return stopped
    settings = locks.settings
    context_variables = {"HELPER_JOB": worker.NAME, "HELPER_PHASE": "pre"}
    pre = hooks.run_hook(
        hooks.hook_path(settings.hooks_dir, "pre", worker.NAME),
        context_variables,
        timeout_seconds=settings.hook_timeout,
    )
    if pre == hooks.EXIT_SKIP_RUN:
        message = f"pre-{worker.NAME} hook asked to skip this run (exit 75)"
        logger.info("⏭ " + message)
        return WorkerReport(outcome_for(Status.SKIPPED, message), {}, None)
    try:
        report = worker.run(RunContext(worker.NAME, settings, options, locks.restic, locks))
    except Exception as error:  # noqa: BLE001 - no traceback ever reaches the user
        import traceback  # only this rare path needs it

        logger.info(traceback.format_exc(), extra=FILE_ONLY)
        message = f"internal error in {worker.NAME}: {error!r}"
        logger.error(message)
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), {}, message)
    if worker.AUTO_UNLOCK:
        closing.auto_unlock(locks, report)
    return report
