"""check: `restic check` with RESTIC_CHECK_ARGS."""

from helper.settings import Settings

NAME = "check"
SUMMARY = "Verify the repository's integrity (restic check)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "CHECK_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/check runs. Empty disables it."
FIELDS = ("errors_found", "suggest_repair_index", "suggest_prune")
GAUGES = ("errors_found",)


def requirements(settings: Settings) -> list[str]:
    """check needs nothing beyond the repository."""
    return []
