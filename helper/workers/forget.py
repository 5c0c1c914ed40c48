"""/bin/forget: `restic forget --json` with RESTIC_FORGET_ARGS, on its own schedule.

Exit 11 means another host holds the exclusive lock: a skip (exit 0, status "skipped",
`restic_exit_code` 11), never a reason to unlock. Retention catches up on the next run.
A run given a lock wait that is spent without the lock ends `locked` (exit 11) instead: it
was asked to wait for the lock, and that failure must not be silent.
"""

import logging

from helper.locks.session import lock_management_enabled
from helper.outcome import EXIT_OK, Status, outcome_for
from helper.restic import Completed
from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "forget"
SUMMARY = "Apply the retention policy RESTIC_FORGET_ARGS (restic forget)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "FORGET_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/forget runs. When set, /bin/backup skips its inline forget."
FIELDS = ("snapshots_kept", "snapshots_removed", "restic_exit_code")
GAUGES = ("snapshots_kept", "snapshots_removed")

NO_POLICY = "RESTIC_FORGET_ARGS is empty: no retention policy configured (for example --keep-daily 7)"


def requirements(settings: Settings) -> list[str]:
    """A retention policy: restic forget without one removes nothing."""
    return [] if settings.restic_forget_args else [NO_POLICY]


SKIPPED_LOCKED = (
    "forget skipped: the repository is locked by another host; retention catches up on the "
    "next run (add --retry-lock or --lock-wait, or stagger FORGET_CRON between hosts)"
)


def add_arguments(parser) -> None:
    """forget takes no options of its own."""


def build_command(policy: tuple[str, ...]) -> tuple[str, ...]:
    return ("forget", "--json", *policy)


def summarise(completed: Completed) -> dict:
    """Count kept and removed snapshots from forget's JSON (empty output: nothing matched)."""
    groups = next((m["items"] for m in completed.messages if m.get("message_type") == "list"), None)
    if groups is None:
        kept = removed = 0 if completed.exit_code == EXIT_OK else None
    else:
        kept = sum(len(group.get("keep") or []) for group in groups)
        removed = sum(len(group.get("remove") or []) for group in groups)
    return {"snapshots_kept": kept, "snapshots_removed": removed}


def forget(context: RunContext) -> tuple[Completed, dict]:
    """Run forget once with the configured policy; return restic's result and the summary."""
    completed = context.locks.run(*build_command(context.settings.restic_forget_args))
    summary = summarise(completed)
    # With --json restic prints nothing readable, so the log says what the policy did.
    if completed.exit_code == EXIT_OK:
        removed = [
            snapshot.get("short_id") or str(snapshot.get("id"))[:8]
            for message in completed.messages
            if message.get("message_type") == "list"
            for group in message["items"]
            for snapshot in group.get("remove") or []
        ]
        logger.info(
            f"🧹 forget kept {summary['snapshots_kept']} snapshot(s), removed {summary['snapshots_removed']}"
            + (f": {' '.join(removed)}" if removed else "")
        )
    return completed, summary


def waited_for_the_lock(context: RunContext) -> bool:
    """Whether this run was given a lock wait (--lock-wait, or SCHEDULE_LOCK_WAIT when scheduled)
    that covers repository locks."""
    return context.locks.budget.total > 0 and lock_management_enabled(context.settings)


def run(context: RunContext) -> WorkerReport:
    if problems := requirements(context.settings):
        for problem in problems:
            logger.error(problem)
        return config_error("; ".join(problems))
    completed, extras = forget(context)
    extras["restic_exit_code"] = completed.exit_code
    if completed.outcome.status is Status.LOCKED and waited_for_the_lock(context):
        return report_from(completed, extras)
    if completed.outcome.status is Status.LOCKED:
        logger.info("⏭ " + SKIPPED_LOCKED)
        return WorkerReport(outcome_for(Status.SKIPPED, SKIPPED_LOCKED), extras)
    return report_from(completed, extras)
