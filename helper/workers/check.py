"""/bin/check: `restic check --json` with RESTIC_CHECK_ARGS."""

from helper.outcome import EXIT_FAILED, EXIT_OK
from helper.workers.context import RunContext, WorkerReport, report_from
from helper.workers.declarations.check import (  # noqa: F401 - what check is, re-exported
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
    """check takes no options of its own."""


def build_command(check_arguments: tuple[str, ...]) -> tuple[str, ...]:
    return ("check", "--json", *check_arguments)


def summarise(messages: tuple[dict, ...]) -> dict:
    summary = next((m for m in messages if m.get("message_type") == "summary"), {})
    return {
        "errors_found": summary.get("num_errors"),
        "suggest_repair_index": summary.get("suggest_repair_index"),
        "suggest_prune": summary.get("suggest_prune"),
    }


def run(context: RunContext) -> WorkerReport:
    completed = context.run_restic(*build_command(context.settings.restic_check_args))
    # restic also prints a summary (num_errors 1) when it could not open the repository at all
    # (exit 10, 11, 12); that is no finding about the repository's integrity.
    checked = completed.exit_code in (EXIT_OK, EXIT_FAILED)
    return report_from(completed, summarise(completed.messages) if checked else {})
