"""unlock: show each repository lock with a verdict and remove those proven stale.
Operator-driven only, never scheduled."""

from helper.settings import Settings

NAME = "unlock"
SUMMARY = "Show each repository lock with a verdict, and remove those proven stale."
# Inspecting or clearing repository locks must work while a local run holds the run lock.
TAKES_RUN_LOCK = False
# unlock is the lock clearing itself: a failed unlock run does not clear locks again.
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = (
    "dry_run",
    "remove_all",
    "locks_before",
    "locks_after",
    "locks_stale",
    "locks_removed",
    "removed",
    "method",
    "locks",
)
GAUGES = ("locks_before", "locks_after", "locks_stale", "locks_removed")


def requirements(settings: Settings) -> list[str]:
    """unlock needs nothing beyond the repository."""
    return []
