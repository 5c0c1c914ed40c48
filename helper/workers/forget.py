"""/bin/forget: `restic forget --json` with RESTIC_FORGET_ARGS, on its own schedule.

Exit 11 means another host holds the exclusive lock: a skip (exit 0, status "skipped",
`restic_exit_code` 11), never a reason to unlock. Retention catches up on the next run.
A run given a lock wait that is spent without the lock ends `locked` (exit 11) instead: it
was asked to wait for the lock, and that failure must not be silent.
"""

import argparse
import logging

from helper.locks.session import lock_management_enabled
from helper.outcome import EXIT_FAILED, EXIT_OK, Outcome, Status, outcome_for
from helper.restic import Completed
from helper.settings import Setting, Settings, kinds
from helper.workers import forget_guard
from helper.workers.context import RunContext, WorkerReport, config_error, report_from
from helper.workers.forget_scope import OWNER_AT_HOST_SCOPE, forgets_nothing, scope, scope_name

logger = logging.getLogger(__name__)

NAME = "forget"
SUMMARY = "Apply the retention policy RESTIC_FORGET_ARGS (restic forget)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "FORGET_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/forget runs. When set, /bin/backup skips its inline forget."
FIELDS = ("snapshots_kept", "snapshots_removed", "restic_exit_code", "forget_scope", "would_remove")
GAUGES = ("snapshots_kept", "snapshots_removed")
SETTINGS = (
    Setting(
        "FORGET_SCOPE",
        kinds.choice("host", "repository"),
        "host",
        "`host`: forget applies RESTIC_FORGET_ARGS to this host's snapshots with RESTIC_TAG only "
        "(`--host`, `--tag`), so one host's policy never thins out another's. `repository`: to "
        "every snapshot, for the one maintenance owner of a shared repository.",
        "Jobs",
    ),
    Setting(
        "FORGET_MAX_REMOVE",
        kinds.COUNT,
        "0",
        "Refuse a forget (status failed, nothing removed) that would remove more snapshots than "
        "this; `/bin/forget --force` overrides. 0: no limit.",
        "Jobs",
    ),
    Setting(
        "FORGET_MAX_REMOVE_PERCENT",
        kinds.PERCENT,
        "75",
        "Refuse a forget that would remove more than this percent of the snapshots in scope. A "
        "daily policy removes far less; a first policy on an old repository may need `--force`. "
        "0: no limit.",
        "Jobs",
    ),
)
NO_POLICY = "RESTIC_FORGET_ARGS is empty: no retention policy configured (for example --keep-daily 7)"


def requirements(settings: Settings) -> list[str]:
    """A retention policy: restic forget without one removes nothing."""
    return [] if settings.restic_forget_args else [NO_POLICY]


SKIPPED_LOCKED = (
    "forget skipped: the repository is locked by another host; retention catches up on the "
    "next run (add --retry-lock or --lock-wait, or stagger FORGET_CRON between hosts)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help="remove what the policy says even when the forget guard would refuse",
    )


def build_command(policy: tuple[str, ...]) -> tuple[str, ...]:
    return ("forget", "--json", *policy)


def guard(context: RunContext, policy: tuple[str, ...]) -> tuple[Completed, dict] | None:
    """Dry-run the policy without a lock; return the refused (or failed) forget's result and
    summary, or None when the real forget may go on."""
    arguments = (*build_command(forget_guard.preview_arguments(policy)), "--dry-run", "--no-lock")
    preview = context.restic.run(*arguments, echo=False)
    if preview.exit_code != EXIT_OK:
        return preview, summarise(preview)  # what the real forget would have met too
    groups = preview.listed() or []
    settings = context.settings
    limits = forget_guard.Limits(settings.forget_max_remove, settings.forget_max_remove_percent)
    reason = forget_guard.refusal(groups, limits)
    if reason is None:
        return None
    would_remove = forget_guard.described(groups)
    for snapshot in would_remove:
        logger.error(f"  would remove {snapshot['id']} of host {snapshot['host']} from {snapshot['time']}")
    message = f"forget refused, nothing removed: {reason} (run /bin/forget --force to apply it anyway)"
    outcome = Outcome(Status.FAILED, EXIT_FAILED, message)
    # restic's forget never ran: its exit code is unknown, not the refusal's 1.
    summary = {
        "snapshots_kept": None,
        "snapshots_removed": 0,
        "would_remove": would_remove,
        "restic_exit_code": None,
    }
    return Completed(EXIT_FAILED, outcome, preview.messages, stderr=message), summary


def summarise(completed: Completed) -> dict:
    """Count kept and removed snapshots from forget's JSON (empty output: nothing matched)."""
    groups = completed.listed()
    if groups is None:
        kept = removed = 0 if completed.exit_code == EXIT_OK else None
    else:
        kept = sum(len(group.get("keep") or []) for group in groups)
        removed = sum(len(group.get("remove") or []) for group in groups)
    return {"snapshots_kept": kept, "snapshots_removed": removed}


def forget(context: RunContext, force: bool = False) -> tuple[Completed, dict]:
    """Run forget once with the configured policy in FORGET_SCOPE, after the guard unless
    `force`; return restic's result and the summary."""
    policy = (*context.settings.restic_forget_args, *scope(context.settings))
    if not force and (refused := guard(context, policy)) is not None:
        return refused
    completed = context.locks.run(*build_command(policy))
    summary = summarise(completed)
    # With --json restic prints nothing readable, so the log says what the policy did.
    if completed.exit_code == EXIT_OK:
        removed = [gone["id"] for gone in forget_guard.described(completed.listed() or [])]
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
    completed, extras = forget(context, force=getattr(context.options, "force", False))
    # A refused forget's summary says `restic_exit_code` None: restic's forget never ran.
    extras = {"restic_exit_code": completed.exit_code, **extras}
    extras["forget_scope"] = scope_name(context.settings)
    if completed.outcome.status is Status.LOCKED and waited_for_the_lock(context):
        return report_from(completed, extras)
    if completed.outcome.status is Status.LOCKED:
        logger.info("⏭ " + SKIPPED_LOCKED)
        return WorkerReport(outcome_for(Status.SKIPPED, SKIPPED_LOCKED), extras)
    if completed.exit_code == EXIT_OK and forgets_nothing(context.settings) and not extras["snapshots_kept"]:
        # Said in every run, not only at start-up: such an owner would forget nothing, forever.
        message = f"forget found no snapshot of host {context.settings.hostname}: " + OWNER_AT_HOST_SCOPE
        logger.warning("⚠️ " + message)
        return WorkerReport(outcome_for(Status.WARNING, message), extras, message)
    return report_from(completed, extras)
