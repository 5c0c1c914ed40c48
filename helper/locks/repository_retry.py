"""Retrying restic when another process holds the repository lock, within the run's budget."""

import time
from collections.abc import Callable

from helper import restic as restic_module
from helper.locks.budget import WaitBudget
from helper.outcome import Status
from helper.restic import Completed, Restic
from helper.runlog import RunLog
from helper.settings import CONFIG_ERROR_EXIT_CODE, Settings


def lock_management_enabled(settings: Settings) -> bool:
    """Seed 000: either duration set to 0 turns restic lock management off."""
    return settings.restic_lock_retry_after > 0 and settings.restic_stale_lock_age > 0


def make_runner(
    restic: Restic, settings: Settings, log: RunLog, budget: WaitBudget
) -> Callable[..., Completed]:
    """Return a `run(*arguments)` that retries lock conflicts while the budget lasts."""

    def run_with_retry(*arguments: str) -> Completed:
        completed = restic.run(*arguments)
        while (
            completed.outcome.status is Status.LOCKED
            and lock_management_enabled(settings)
            and budget.remaining() > 0
            and not restic_module.interrupted()
        ):
            pause = min(settings.restic_lock_retry_after, budget.remaining())
            log.info(
                f"⏳ repository locked; retrying in {pause:.0f}s "
                f"({budget.remaining():.0f}s of lock wait left)"
            )
            time.sleep(pause)
            budget.charge(pause)
            completed = restic.run(*arguments)
        return completed

    return run_with_retry


def after_failure(context, report) -> None:
    """RESTIC_AUTO_UNLOCK: after a failed run (not a lock conflict), clear stale locks."""
    if not context.settings.restic_auto_unlock or report.outcome.status is not Status.FAILED:
        return
    if report.outcome.exit_code == CONFIG_ERROR_EXIT_CODE:
        return
    context.log.info("🔓 RESTIC_AUTO_UNLOCK=ON: removing stale locks (restic unlock)")
    context.restic.run("unlock")
