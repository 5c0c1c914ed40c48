"""One run of one job, the same for a cron tick, a `docker exec` and a one-shot `docker run`:

    run lock -> pre-hook -> worker -> classify -> post-hook -> reporters

Every path out of here, a config error or a lock timeout included, leaves the audit trail.
"""

import argparse
import dataclasses
import sys
from datetime import datetime
from pathlib import Path
from types import ModuleType

from helper import hooks, restic
from helper.locks import run_lock
from helper.locks.budget import WaitBudget
from helper.locks.session import RepositoryLocks
from helper.masking import Masker
from helper.outcome import EXIT_CONFIG_ERROR, EXIT_FAILED, EXIT_OK, Outcome, Status, outcome_for
from helper.report import REPORTERS, skips
from helper.result import RunResult
from helper.runlog import RunLog
from helper.settings import Settings
from helper.stop import TOKEN
from helper.workers.context import RunContext, WorkerReport, config_error


def run(
    worker: ModuleType,
    options: argparse.Namespace,
    settings: Settings,
    problems: tuple[str, ...],
    lock_wait_seconds: float = 0.0,
) -> int:
    """Run `worker` once inside the envelope and return the process exit code."""
    masker = Masker.from_secrets(settings.secrets)
    started_at = datetime.now().astimezone()
    budget = WaitBudget(lock_wait_seconds)
    # Before the lock wait, so a stop signal during the wait ends the run with its audit trail.
    TOKEN.install()
    lock, problems = take_run_lock(worker, settings, problems, budget)
    # A stop signal while waiting for the guard is an interruption, not a busy lock.
    if isinstance(lock, run_lock.Busy) and lock_wait_seconds <= 0 and not TOKEN.stopped():
        return skip_busy(worker.NAME, lock, settings, masker)
    # With --json (unlock), stdout carries only the JSON document; the log goes to stderr.
    console = sys.stderr if getattr(options, "json", False) else None
    log = RunLog(Path(settings.log_dir) / f"{worker.NAME}-last.log", masker, console)
    try:
        log.info(f"▶️ {worker.NAME} on {settings.hostname} started")
        log_lock_taken(lock, log)
        locks = RepositoryLocks(
            restic.Restic(settings.restic_bin, settings.restic_environment, log), settings, budget, log
        )
        report = body(worker, options, settings, problems, locks, lock)
        # A worker's declared fields are always in the document, null when the run stopped early.
        declared = dict.fromkeys(getattr(worker, "FIELDS", ()))
        report = dataclasses.replace(report, extras={**declared, **report.extras})
        post_hook(worker.NAME, settings, log, report)
        result = make_result(worker.NAME, settings, masker, started_at, report, locks)
        run_reporters(result, settings, log)
        return result.exit_code
    finally:
        log.close()
        if isinstance(lock, run_lock.RunLock):
            lock.release()


def take_run_lock(
    worker: ModuleType, settings: Settings, problems: tuple[str, ...], budget: WaitBudget
) -> tuple[run_lock.RunLock | run_lock.Busy | None, tuple[str, ...]]:
    """Return the run lock (a RunLock, a Busy or None when the worker takes none) and the
    problems, to which an unusable LOCK_DIR is added."""
    if not worker.TAKES_RUN_LOCK or problems:
        return None, problems
    path = run_lock.default_path(settings.lock_dir)
    try:
        lock = run_lock.acquire(path, worker.NAME, budget, settings.lock_force_inactive, TOKEN.stopped)
    except OSError as error:  # an unusable LOCK_DIR is a configuration error, with its audit
        return None, (f"LOCK_DIR: cannot use the run lock {path}: {error.strerror}",)
    return lock, problems


def log_lock_taken(lock: run_lock.RunLock | run_lock.Busy | None, log: RunLog) -> None:
    if not isinstance(lock, run_lock.RunLock):
        return
    if lock.waited >= 0.5:
        log.info(f"⏳ waited {lock.waited:.1f}s for the run lock {lock.path}")
    if lock.took_over_from:
        log.warning(lock.takeover_message())


def run_reporters(result: RunResult, settings: Settings, log: RunLog) -> None:
    for reporter in REPORTERS:
        try:
            reporter.report(result, settings, log)
        except Exception as error:  # noqa: BLE001 - a reporter never changes the exit code
            log.warning(f"{reporter.__name__.rsplit('.', 1)[-1]} reporter failed: {error}")


def early_exit(
    worker: ModuleType, problems: tuple[str, ...], log: RunLog, lock: run_lock.RunLock | run_lock.Busy | None
) -> WorkerReport | None:
    """Return the report of a run that must stop before its pre-hook, or None to go on."""
    if problems:
        for problem in problems:
            log.error(problem)
        return config_error("configuration error: " + "; ".join(problems))
    if TOKEN.stopped():
        message = f"{worker.NAME} was interrupted before it started"
        log.error(message)
        return WorkerReport(outcome_for(Status.INTERRUPTED, message), {}, message)
    if isinstance(lock, run_lock.Busy):
        message = (
            f"{worker.NAME} gave up after waiting {lock.waited:.0f}s for the run lock "
            f"{lock.path} held by {lock.holder or 'an unknown process'}"
        )
        log.error(message)
        return WorkerReport(outcome_for(Status.LOCKED, message), {}, message)
    return None


def body(
    worker: ModuleType,
    options: argparse.Namespace,
    settings: Settings,
    problems: tuple[str, ...],
    locks: RepositoryLocks,
    lock: run_lock.RunLock | run_lock.Busy | None,
) -> WorkerReport:
    """Run the pre-hook and the worker, turning every early exit into a report."""
    log = locks.log
    stopped = early_exit(worker, problems, log, lock)
    if stopped is not None:
        return stopped
    context_variables = {"HELPER_JOB": worker.NAME, "HELPER_PHASE": "pre"}
    pre = hooks.run_hook(
        hooks.hook_path(settings.hooks_dir, "pre", worker.NAME),
        log,
        context_variables,
        timeout_seconds=settings.hook_timeout,
    )
    if pre == hooks.EXIT_SKIP_RUN:
        message = f"pre-{worker.NAME} hook asked to skip this run (exit 75)"
        log.info("⏭ " + message)
        return WorkerReport(outcome_for(Status.SKIPPED, message), {}, None)
    context = RunContext(worker.NAME, settings, options, log, locks.restic, locks)
    try:
        report = worker.run(context)
    except Exception as error:  # noqa: BLE001 - no traceback ever reaches the user
        import traceback  # only this rare path needs it

        log.line(traceback.format_exc(), console=False)
        message = f"internal error in {worker.NAME}: {error!r}"
        log.error(message)
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), {}, message)
    if worker.AUTO_UNLOCK:
        auto_unlock(locks, report)
    return report


def auto_unlock(locks: RepositoryLocks, report: WorkerReport) -> None:
    """RESTIC_AUTO_UNLOCK: after a failed run (not a lock conflict, not a configuration error),
    remove the locks the helper proves stale. The run's verdict stands whatever happens here:
    an error is only a warning."""
    outcome = report.outcome
    if not locks.settings.restic_auto_unlock or outcome.status is not Status.FAILED:
        return
    if outcome.exit_code == EXIT_CONFIG_ERROR:
        return
    locks.log.info("🔓 RESTIC_AUTO_UNLOCK=ON: removing repository locks the helper proves stale")
    try:
        if locks.clear_stale(0.0, unlock_when_safe=True) is None:
            locks.log.warning("RESTIC_AUTO_UNLOCK: the repository's locks cannot be listed; nothing removed")
    except Exception as error:  # noqa: BLE001 - a courtesy after the run must not hide the run's trail
        locks.log.warning(f"stale locks not cleared after the failure: {error!r}")


def post_hook(job: str, settings: Settings, log: RunLog, report: WorkerReport) -> None:
    exit_code = report.outcome.exit_code
    context_variables = {
        "HELPER_JOB": job,
        "HELPER_PHASE": "post",
        "HELPER_STATUS": str(report.outcome.status),
        "HELPER_EXIT_CODE": str(exit_code),
        "HELPER_SNAPSHOT_ID": str(report.extras.get("snapshot_id") or ""),
        "HELPER_ERROR": report.error or "",
    }
    hooks.run_hook(
        hooks.hook_path(settings.hooks_dir, "post", job),
        log,
        context_variables,
        (str(exit_code),),
        settings.hook_timeout,
        after_the_run=True,
    )


def make_result(
    job: str,
    settings: Settings,
    masker: Masker,
    started_at: datetime,
    report: WorkerReport,
    locks: RepositoryLocks,
) -> RunResult:
    outcome, log = report.outcome, locks.log
    symbol = {Status.OK: "✅", Status.WARNING: "⚠️", Status.SKIPPED: "⏭"}.get(outcome.status, "❌")
    log.info(f"{symbol} {job} finished: {outcome.status} (exit {outcome.exit_code})")
    return RunResult(
        job=job,
        hostname=masker.mask(settings.hostname),
        release=settings.restic_backup_helper_release,
        repository=masker.mask(settings.restic_repository),
        started_at=started_at,
        finished_at=datetime.now().astimezone(),
        status=outcome.status,
        exit_code=outcome.exit_code,
        error=masker.mask(report.error) if report.error else None,
        lock_wait_seconds=locks.budget.spent,
        extras=masker.mask_data(report.extras),
        log_tail=log.tail(),
        log_tail_truncated=log.tail_truncated,
        locks=locks.last_inspection.summary() if locks.last_inspection else None,
    )


def skip_busy(job: str, busy: run_lock.Busy, settings: Settings, masker: Masker) -> int:
    """The run lock is held and no wait was asked: log it, count it, leave last-<job>.json alone."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %a %H:%M:%S")
    # The words up to the closing parenthesis are the shell image's, which log alerts match.
    holder = (
        f"; held by pid {busy.holder['pid']} ({busy.holder.get('job')})" if busy.holder.get("pid") else ""
    )
    line = f"[{stamp}] ⏭ {job} skipped: previous run still active (lock {busy.path}){holder}"

    def say(text: str) -> None:
        sys.stdout.write(masker.mask(text) + "\n")
        sys.stdout.flush()

    skips.record(job, line, settings, say)
    return EXIT_OK
