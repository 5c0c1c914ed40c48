"""/bin/prune: `restic prune` with RESTIC_PRUNE_ARGS (restic 0.18 prints no JSON for it)."""

from helper.workers.context import RunContext, WorkerReport, report_from

NAME = "prune"
SUMMARY = "Remove unreferenced data from the repository (restic prune)."
TAKES_RUN_LOCK = True
# RESTIC_AUTO_UNLOCK may clear stale locks after a failed run.
AUTO_UNLOCK = True


def add_arguments(parser) -> None:
    """prune takes no options of its own."""


def build_command(prune_arguments: tuple[str, ...]) -> tuple[str, ...]:
    return ("prune", *prune_arguments)


def run(context: RunContext) -> WorkerReport:
    return report_from(context.locks.run(*build_command(context.settings.restic_prune_args)))
