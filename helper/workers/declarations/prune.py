"""prune: `restic prune` with RESTIC_PRUNE_ARGS."""

from helper.settings import Settings

NAME = "prune"
SUMMARY = "Remove unreferenced data from the repository (restic prune)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "PRUNE_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/prune runs. Empty disables it."
# restic 0.18 prints no JSON for prune: no fields of its own.
FIELDS: tuple[str, ...] = ()
GAUGES: tuple[str, ...] = ()


def requirements(settings: Settings) -> list[str]:
    """prune needs nothing beyond the repository."""
    return []
