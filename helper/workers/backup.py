"""/bin/backup: `restic backup --json`, then the inline forget when no FORGET_CRON owns it."""

import logging

from helper.outcome import EXIT_FAILED, EXIT_OK, Outcome, Status, outcome_for
from helper.restic import Completed
from helper.settings import Setting, Settings, kinds
from helper.workers import backup_guards, forget
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "backup"
SUMMARY = "Back up BACKUP_ROOT_DIR / RESTIC_JOB_ARGS with tag RESTIC_TAG (restic backup)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "BACKUP_CRON"
CRON_DEFAULT = "0 */6 * * *"
CRON_HELP = "When /bin/backup runs. Empty disables it."
# Each field of last-backup.json, and the field of restic's JSON summary it comes from.
SUMMARY_FIELDS = {
    "snapshot_id": "snapshot_id",
    "files_new": "files_new",
    "files_changed": "files_changed",
    "files_unmodified": "files_unmodified",
    "dirs_new": "dirs_new",
    "dirs_changed": "dirs_changed",
    "dirs_unmodified": "dirs_unmodified",
    "bytes_added": "data_added",
    "bytes_added_packed": "data_added_packed",
    # The shell image's name for the same figure ("… added (1.2 MiB stored)"), as text there.
    "bytes_stored": "data_added_packed",
    "files_processed": "total_files_processed",
    "bytes_processed": "total_bytes_processed",
}
FIELDS = (
    *("backup_root_dir", "restic_tag", *SUMMARY_FIELDS, "files_changed_ratio"),
    *("previous_snapshot_id", "previous_files_processed", "previous_bytes_processed", "forget_exit_code"),
)
GAUGES = (
    "files_new",
    "files_changed",
    "files_unmodified",
    "bytes_added",
    "files_changed_ratio",
    "forget_exit_code",
)
SETTINGS = (
    Setting(
        "BACKUP_CHURN_WARN",
        kinds.PERCENT,
        "0",
        "Percent of files new or changed since the last snapshot above which a backup ends "
        "`warning` (exit 3) and skips its inline forget: mass deletion or encryption by "
        "ransomware looks like this. 0 turns it off.",
        "Jobs",
    ),
    Setting(
        "BACKUP_SHRINK_GUARD",
        kinds.PERCENT,
        "50",
        "Percent by which a snapshot's files or bytes may fall below this host's previous "
        "snapshot of the same paths; past it the backup ends `warning` (exit 3) and skips its "
        "inline forget. 0 turns it off.",
        "Jobs",
    ),
    Setting(
        "BACKUP_SOURCE_MARKER",
        kinds.TEXT,
        "",
        "A file that must exist in BACKUP_ROOT_DIR (`.backup-marker`), or the backup fails "
        "before restic starts: a mount point that came up empty has none.",
        "Jobs",
    ),
)

NO_TAG = "RESTIC_TAG is empty: every backup needs a tag"
NO_SOURCE = (
    "neither BACKUP_ROOT_DIR nor RESTIC_JOB_ARGS names anything to back up (set BACKUP_ROOT_DIR "
    "to a path, or give paths, --files-from or --stdin-from-command in RESTIC_JOB_ARGS)"
)


def requirements(settings: Settings) -> list[str]:
    """A tag, and something to back up. Which RESTIC_JOB_ARGS name a source is restic's to
    judge: any value passes here."""
    problems = [] if settings.restic_tag else [NO_TAG]
    if not settings.backup_root_dir and not settings.restic_job_args:
        problems.append(NO_SOURCE)
    if settings.backup_source_marker and not settings.backup_root_dir:
        problems.append("BACKUP_SOURCE_MARKER needs BACKUP_ROOT_DIR, where the marker is looked for")
    return problems


def add_arguments(parser) -> None:
    """backup takes no options of its own."""


def build_command(job_arguments: tuple[str, ...], tag: str, root_dir: str) -> tuple[str, ...]:
    # --tag goes before the job arguments: after a `--` in them (--stdin-from-command -- cmd)
    # restic would hand it to the command instead of tagging the snapshot.
    return ("backup", "--json", "--tag", tag, *job_arguments, *((root_dir,) if root_dir else ()))


def summarise(completed: Completed) -> dict:
    """Take the typed fields of restic's JSON summary; absent values stay null."""
    summary = next((m for m in completed.messages if m.get("message_type") == "summary"), {})
    return {field: summary.get(source) for field, source in SUMMARY_FIELDS.items()}


def compared(context: RunContext, extras: dict) -> str | None:
    """Compare the new snapshot with this host's previous one: record the previous figures,
    and return BACKUP_SHRINK_GUARD's warning, or None."""
    settings = context.settings
    if not settings.backup_shrink_guard or not extras["snapshot_id"]:
        return None
    previous = backup_guards.previous_snapshot(context.restic.quiet(), settings, extras["snapshot_id"])
    summary = (previous or {}).get("summary") or {}
    extras["previous_snapshot_id"] = (previous or {}).get("id")
    extras["previous_files_processed"] = summary.get("total_files_processed")
    extras["previous_bytes_processed"] = summary.get("total_bytes_processed")
    return backup_guards.shrink_warning(previous, extras, settings.backup_shrink_guard)


def owns_retention(settings: Settings) -> bool:
    """Whether the backup applies the retention policy itself (no FORGET_CRON owns it)."""
    return bool(settings.restic_forget_args) and not settings.forget_cron


def inline_forget(context: RunContext) -> int | None:
    """Run the post-backup forget when it is ours to run; return its exit code or None."""
    settings = context.settings
    if not settings.restic_forget_args:
        return None
    if not owns_retention(settings):
        logger.info("⏭ skipping inline forget: FORGET_CRON is set, /bin/forget owns retention")
        return None
    completed, _ = forget.forget(context)
    if completed.outcome.status is Status.LOCKED:
        logger.info("⏭ " + forget.SKIPPED_LOCKED)
    elif completed.exit_code != EXIT_OK:
        logger.error(f"inline forget failed (exit {completed.exit_code}): {completed.outcome.hint}")
    return completed.exit_code


def run(context: RunContext) -> WorkerReport:
    settings = context.settings
    # The shell image's fields: what this backup was configured to save, and under which tag.
    configured = {
        "backup_root_dir": settings.backup_root_dir or None,
        "restic_tag": settings.restic_tag or None,
    }
    if problems := requirements(settings):
        for problem in problems:
            logger.error(problem)
        return config_error("; ".join(problems), configured)
    if problem := backup_guards.source_problem(settings):
        logger.error(f"❌ nothing backed up: {problem}")
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, problem), configured, problem)
    completed = context.locks.run(
        *build_command(settings.restic_job_args, settings.restic_tag, settings.backup_root_dir)
    )
    extras = {**configured, **summarise(completed)}
    if completed.outcome.status in (Status.OK, Status.WARNING) and extras["snapshot_id"]:
        logger.info(
            f"✅ snapshot {extras['snapshot_id'][:8]} saved: {extras['files_new']} new, "
            f"{extras['files_changed']} changed, {extras['files_unmodified']} unmodified files, "
            f"{extras['bytes_added']} bytes added"
        )
    extras["files_changed_ratio"] = backup_guards.churn(extras)
    warnings = [backup_guards.churn_warning(extras["files_changed_ratio"], settings)]
    if completed.outcome.status is Status.OK:
        warnings.append(compared(context, extras))
    warning = "; ".join(filter(None, warnings))
    # Never thin out old snapshots right after a backup that looks like an attack or a lost source.
    ok = completed.outcome.status is Status.OK and not warning
    extras["forget_exit_code"] = inline_forget(context) if ok else None
    if not warning or completed.outcome.status is not Status.OK:
        return report_from(completed, extras)
    warning += "; the inline forget was skipped" if owns_retention(settings) else ""
    logger.warning("⚠️ " + warning)
    return WorkerReport(outcome_for(Status.WARNING, warning), extras, warning)
