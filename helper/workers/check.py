"""/bin/check: `restic check --json` with RESTIC_CHECK_ARGS."""

from helper.outcome import EXIT_FAILED, EXIT_OK
from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, report_from

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
    completed = context.locks.run(*build_command(context.settings.restic_check_args))
    # restic also prints a summary (num_errors 1) when it could not open the repository at all
    # (exit 10, 11, 12); that is no finding about the repository's integrity.
    checked = completed.exit_code in (EXIT_OK, EXIT_FAILED)
    return report_from(completed, summarise(completed.messages) if checked else {})
