"""backup: `restic backup` of BACKUP_ROOT_DIR / RESTIC_JOB_ARGS, then the inline forget."""

from helper.settings import Settings

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
    "files_processed": "total_files_processed",
    "bytes_processed": "total_bytes_processed",
}
FIELDS = (*SUMMARY_FIELDS, "forget_exit_code")
GAUGES = ("files_new", "files_changed", "files_unmodified", "bytes_added", "forget_exit_code")

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
