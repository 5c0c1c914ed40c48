"""/bin/unlock: an audited `restic unlock`. Operator-driven only, never scheduled."""

from helper.locks.repository import list_lock_ids
from helper.workers.context import RunContext, WorkerReport, report_from

NAME = "unlock"
SUMMARY = "List repository locks and remove stale ones (restic unlock), with an audit trail."
# Inspecting or clearing repository locks must work while a local run holds the run lock.
TAKES_RUN_LOCK = False


def add_arguments(parser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="only list the locks; remove nothing")
    parser.add_argument(
        "--remove-all",
        action="store_true",
        help="also remove live and non-exclusive locks (restic unlock --remove-all); "
        "only when no other host or process uses the repository",
    )


def build_command(remove_all: bool) -> tuple[str, ...]:
    return ("unlock", *(("--remove-all",) if remove_all else ()))


def run(context: RunContext) -> WorkerReport:
    options = context.options
    extras = {"dry_run": options.dry_run, "remove_all": options.remove_all}
    before, listing = list_lock_ids(context.restic)
    extras["locks_before"] = None if before is None else len(before)
    context.log.info(f"🔒 locks before: {extras['locks_before'] if before is not None else 'unknown'}")
    if before is None:
        extras["locks_after"] = None
        return report_from(listing, extras)
    if options.dry_run:
        for lock_id in before:
            context.log.info(f"  {lock_id}")
        extras["locks_after"] = len(before)
        return report_from(listing, extras)
    completed = context.restic.run(*build_command(options.remove_all))
    after, _ = list_lock_ids(context.restic)
    extras["locks_after"] = None if after is None else len(after)
    context.log.info(f"🔓 locks after: {extras['locks_after']}")
    return report_from(completed, extras)
