"""Retrying restic when another process holds the repository lock, within the run's budget,
and clearing stale locks when the settings allow it (seed 000's restic lock management).

Most runs never meet a lock, so the inspection machinery (helper.locks.conflict) is imported
only when one does: it costs about 30 ms of start-up.
"""

from collections.abc import Callable

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
    retry = None

    def run_with_retry(*arguments: str) -> Completed:
        nonlocal retry
        began = budget.clock()  # a call that meets a lock counts as lock wait, from its start
        completed = restic.run(*arguments)
        if completed.outcome.status is not Status.LOCKED or not lock_management_enabled(settings):
            return completed
        if retry is None:
            from helper.locks import conflict

            retry = conflict.LockRetry(restic, settings, log, budget, conflict.make_watch(restic, settings))
        return retry.retry(arguments, completed, began)

    return run_with_retry


def after_failure(context, report) -> None:
    """RESTIC_AUTO_UNLOCK: after a failed run (not a lock conflict), remove locks proven stale.
    The run's verdict stands whatever happens here: an error is only a warning."""
    if not context.settings.restic_auto_unlock or report.outcome.status is not Status.FAILED:
        return
    if report.outcome.exit_code == CONFIG_ERROR_EXIT_CODE or context.job == "unlock":
        return
    try:
        from helper.locks import conflict

        conflict.clear_after_failure(context)
    except Exception as error:  # noqa: BLE001 - a courtesy after the run must not hide the run's trail
        context.log.warning(f"stale locks not cleared after the failure: {error!r}")
