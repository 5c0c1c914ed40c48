"""forget: `restic forget` with the retention policy RESTIC_FORGET_ARGS, on its own schedule."""

from helper.settings import Settings

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
