"""/bin/prune: `restic prune` with RESTIC_PRUNE_ARGS (restic 0.18 prints no JSON for it)."""

from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, report_from

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


def add_arguments(parser) -> None:
    """prune takes no options of its own."""


def build_command(prune_arguments: tuple[str, ...]) -> tuple[str, ...]:
    return ("prune", *prune_arguments)


def run(context: RunContext) -> WorkerReport:
    return report_from(context.locks.run(*build_command(context.settings.restic_prune_args)))
