"""The end of a run, after its worker: auto-unlock, the post-hook and the one `RunResult`;
`helper.envelope` calls them in that order and hands the result to the reporters."""

import logging
from datetime import datetime

from helper import hooks
from helper.clock import SYSTEM
from helper.locks.session import RepositoryLocks
from helper.logs import RunLog
from helper.outcome import EXIT_CONFIG_ERROR, Status
from helper.report import state
from helper.result import RunResult
from helper.settings import Settings
from helper.workers.context import WorkerReport

logger = logging.getLogger(__name__)


def auto_unlock(locks: RepositoryLocks, report: WorkerReport) -> None:
    """RESTIC_AUTO_UNLOCK: after a failed run (not a lock conflict, not a configuration error),
    remove the locks the helper proves stale. The run's verdict stands whatever happens here:
    an error is only a warning."""
    outcome = report.outcome
    if not locks.settings.restic_auto_unlock or outcome.status is not Status.FAILED:
        return
    if outcome.exit_code == EXIT_CONFIG_ERROR:
        return
    logger.info("🔓 RESTIC_AUTO_UNLOCK=ON: removing repository locks the helper proves stale")
    try:
        if locks.clear_stale(0.0, unlock_when_safe=True) is None:
            logger.warning("RESTIC_AUTO_UNLOCK: the repository's locks cannot be listed; nothing removed")
    except Exception as error:  # noqa: BLE001 - a courtesy after the run must not hide the run's trail
        logger.warning(f"stale locks not cleared after the failure: {error!r}")


def post_hook(job: str, settings: Settings, report: WorkerReport) -> None:
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
        context_variables,
        (str(exit_code),),
        settings.hook_timeout,
        after_the_run=True,
    )


def make_result(
    job: str,
    settings: Settings,
    started_at: datetime,
    report: WorkerReport,
    locks: RepositoryLocks,
    run_log: RunLog,
    notify: bool = True,
) -> RunResult:
    outcome, masker = report.outcome, settings.masker
    symbol = {Status.OK: "✅", Status.WARNING: "⚠️", Status.SKIPPED: "⏭"}.get(outcome.status, "❌")
    # A failed run says why on its last line, which is often the only one an operator reads.
    reason = f": {report.error}" if report.error and outcome.exit_code else ""
    logger.info(f"{symbol} {job} finished: {outcome.status} (exit {outcome.exit_code}){reason}")
    return RunResult(
        job=job,
        hostname=masker.mask(settings.hostname),
        release=settings.restic_backup_helper_release,
        repository=masker.mask(settings.restic_repository),
        started_at=started_at,
        finished_at=SYSTEM.now().astimezone(),
        status=outcome.status,
        exit_code=outcome.exit_code,
        error=masker.mask(report.error) if report.error else None,
        reason=masker.mask(report.error or outcome.hint) or None,
        lock_wait_seconds=locks.budget.spent,
        extras=masker.mask_data(report.extras),
        log_tail=run_log.tail.text(),
        log_tail_truncated=run_log.tail.truncated,
        locks=locks.last_inspection.summary() if locks.last_inspection else None,
        previous_success=state.previous_success(settings.log_dir, job),
        notify=notify,
    )
