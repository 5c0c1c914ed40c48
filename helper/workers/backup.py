"""/bin/backup: `restic backup --json`, then the inline forget when no FORGET_CRON owns it."""

from helper.outcome import Status
from helper.restic import Completed
from helper.workers import forget
from helper.workers.context import RunContext, WorkerReport, config_error, report_from
from helper.workers.declarations.backup import (  # noqa: F401 - what backup is, re-exported
    AUTO_UNLOCK,
    CRON_VARIABLE,
    FIELDS,
    GAUGES,
    NAME,
    SUMMARY,
    SUMMARY_FIELDS,
    TAKES_RUN_LOCK,
    requirements,
)


def add_arguments(parser) -> None:
    """backup takes no options of its own."""


def build_command(job_arguments: tuple[str, ...], tag: str, root_dir: str) -> tuple[str, ...]:
    # --tag goes before the job arguments: after a `--` in them (--stdin-from-command -- cmd)
    # restic would hand it to the command instead of tagging the snapshot.
    return ("backup", "--json", "--tag", tag, *job_arguments, *((root_dir,) if root_dir else ()))


def summarise(completed: Completed) -> dict:
    """Take the typed fields of restic's JSON summary; absent values stay null."""
    summary = next((m for m in completed.messages if m.get("message_type") == "summary"), {})
    return {field: summary.get(source) for field, source in SUMMARY_FIELDS.items()}


def inline_forget(context: RunContext) -> int | None:
    """Run the post-backup forget when it is ours to run; return its exit code or None."""
    settings = context.settings
    if not settings.restic_forget_args:
        return None
    if settings.forget_cron:
        context.log.info("⏭ skipping inline forget: FORGET_CRON is set, /bin/forget owns retention")
        return None
    completed, _ = forget.forget(context)
    if completed.outcome.status is Status.LOCKED:
        context.log.info("⏭ " + forget.SKIPPED_LOCKED)
    elif completed.exit_code != 0:
        context.log.error(f"inline forget failed (exit {completed.exit_code}): {completed.outcome.hint}")
    return completed.exit_code


def run(context: RunContext) -> WorkerReport:
    settings = context.settings
    if problems := requirements(settings):
        for problem in problems:
            context.log.error(problem)
        return config_error("; ".join(problems))
    completed = context.run_restic(
        *build_command(settings.restic_job_args, settings.restic_tag, settings.backup_root_dir)
    )
    extras = summarise(completed)
    if completed.outcome.status in (Status.OK, Status.WARNING) and extras["snapshot_id"]:
        context.log.info(
            f"✅ snapshot {extras['snapshot_id'][:8]} saved: {extras['files_new']} new, "
            f"{extras['files_changed']} changed, {extras['files_unmodified']} unmodified files, "
            f"{extras['bytes_added']} bytes added"
        )
    if completed.outcome.status is Status.OK:
        extras["forget_exit_code"] = inline_forget(context)
    else:
        extras["forget_exit_code"] = None
    return report_from(completed, extras)
