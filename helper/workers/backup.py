"""/bin/backup: `restic backup --json`, then the inline forget when no FORGET_CRON owns it."""

import logging

from helper.outcome import EXIT_OK, Status, outcome_for
from helper.restic import Completed
from helper.settings import Setting, Settings, kinds
from helper.workers import forget
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
FIELDS = ("backup_root_dir", "restic_tag", *SUMMARY_FIELDS, "files_changed_ratio", "forget_exit_code")
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
        kinds.COUNT,
        "0",
        "Percent of files new or changed since the last snapshot above which a backup ends "
        "`warning` (exit 3) and skips its inline forget: mass deletion or encryption by "
        "ransomware looks like this. 0 turns it off.",
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


def churn(extras: dict) -> float | None:
    """The share of files new or changed since the parent snapshot; None for a first backup
    (everything is new) or an empty one."""
    new, changed, unmodified = (
        extras.get(key) or 0 for key in ("files_new", "files_changed", "files_unmodified")
    )
    if changed + unmodified == 0:
        return None
    return round((new + changed) / (new + changed + unmodified), 4)


def churn_warning(ratio: float | None, settings: Settings) -> str | None:
    if ratio is None or not settings.backup_churn_warn or ratio * 100 <= settings.backup_churn_warn:
        return None
    return (
        f"{ratio:.0%} of the files are new or changed since the last snapshot (BACKUP_CHURN_WARN="
        f"{settings.backup_churn_warn}%): mass deletion or encryption looks like this; "
        "the inline forget was skipped"
    )


def inline_forget(context: RunContext) -> int | None:
    """Run the post-backup forget when it is ours to run; return its exit code or None."""
    settings = context.settings
    if not settings.restic_forget_args:
        return None
    if settings.forget_cron:
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
    extras["files_changed_ratio"] = churn(extras)
    warning = churn_warning(extras["files_changed_ratio"], settings)
    # Never thin out old snapshots right after a backup that looks like an attack.
    ok = completed.outcome.status is Status.OK and warning is None
    extras["forget_exit_code"] = inline_forget(context) if ok else None
    if warning and completed.outcome.status is Status.OK:
        logger.warning("⚠️ " + warning)
        return WorkerReport(outcome_for(Status.WARNING, warning), extras, warning)
    return report_from(completed, extras)
