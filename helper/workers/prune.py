"""/bin/prune: `restic prune` with RESTIC_PRUNE_ARGS (restic 0.18 prints no JSON for it)."""

from helper.workers.context import RunContext, WorkerReport, report_from
from helper.workers.declarations.prune import (  # noqa: F401 - what prune is, re-exported
    AUTO_UNLOCK,
    CRON_VARIABLE,
    FIELDS,
    GAUGES,
    NAME,
    SUMMARY,
    TAKES_RUN_LOCK,
    requirements,
)


def add_arguments(parser) -> None:
    """prune takes no options of its own."""


def build_command(prune_arguments: tuple[str, ...]) -> tuple[str, ...]:
    return ("prune", *prune_arguments)


def run(context: RunContext) -> WorkerReport:
    return report_from(context.run_restic(*build_command(context.settings.restic_prune_args)))
