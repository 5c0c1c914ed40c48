"""/bin/unlock: inspect the repository's locks and remove those the helper proves stale, with an
audit trail. Operator-driven only, never scheduled.

Every lock gets a verdict (stale, live or unknown) with its reason. Plain `restic unlock`
runs only when it would remove nothing but stale locks and its SIGHUP probe could reach no
live process other than restic; stale locks it leaves are removed by id where the backend
allows it. `--remove-all` is the operator's explicit override and removes every lock.
"""

import json
import logging
import sys

from helper.locks.inspect import Inspection, table
from helper.locks.verdict import STALE
from helper.outcome import Status, outcome_for
from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, report_from

logger = logging.getLogger(__name__)

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


def add_arguments(parser) -> None:
    parser.add_argument(
        "--dry-run", action="store_true", help="only show the locks and verdicts; remove nothing"
    )
    parser.add_argument(
        "--remove-all",
        action="store_true",
        help="remove every lock, live ones included (restic unlock --remove-all); "
        "only when no other host or process uses the repository",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the locks as JSON on stdout (id, hostname, pid, age_seconds, exclusive, "
        "verdict, reason, removed), or an object with the error when they cannot be listed; "
        "the log goes to stderr",
    )


def build_command(remove_all: bool) -> tuple[str, ...]:
    return ("unlock", *(("--remove-all",) if remove_all else ()))


def print_json(context: RunContext, document: object) -> None:
    sys.stdout.write(context.settings.masker.mask(json.dumps(document, indent=2)) + "\n")
    sys.stdout.flush()


def show(context: RunContext, inspection: Inspection, removed: set[str] | None) -> list[dict]:
    """Given the inspection and the ids removed (None: a dry run), return one document per lock
    for the state file, and print them as JSON on stdout with --json."""
    documents = inspection.documents()
    if removed is not None:
        for document in documents:
            document["removed"] = document["id"] in removed
    if context.options.json:
        print_json(context, documents)
    return documents


def show_failure(context: RunContext, report: WorkerReport) -> WorkerReport:
    """With --json, say on stdout why there is no list of locks: an object, not a list."""
    if context.options.json:
        outcome = report.outcome
        print_json(context, {"error": report.error, "exit_code": outcome.exit_code, "locks": None})
    return report


def note_after(context: RunContext, after: Inspection | None, extras: dict) -> None:
    extras["locks_after"] = None if after is None else len(after.locks)
    logger.info(f"🔓 locks after: {extras['locks_after'] if after is not None else 'unknown'}")


def remove_all(context: RunContext, inspection: Inspection, extras: dict) -> WorkerReport:
    kept = [lock for lock in inspection.locks if lock.verdict.verdict != STALE]
    if kept:
        logger.warning(f"--remove-all: also removing {len(kept)} lock(s) not proven stale")
    completed = context.restic.run(*build_command(True))
    # restic says nothing of what it removed: only a new inspection tells (and updates the gauges).
    after, _ = context.locks.inspect()
    note_after(context, after, extras)
    gone = inspection.ids - (after.ids if after is not None else inspection.ids)
    extras.update(removed=sorted(gone), locks_removed=len(gone), method="restic unlock --remove-all")
    extras["locks"] = show(context, inspection, gone)
    return report_from(completed, extras)


def run(context: RunContext) -> WorkerReport:
    options = context.options
    extras = {"dry_run": options.dry_run, "remove_all": options.remove_all, "locks_before": None}
    extras.update(locks_after=None, locks_stale=None, locks_removed=None, removed=[], method=None)
    inspection, listing = context.locks.inspect()
    if inspection is None:
        logger.info("🔒 locks before: unknown")
        return show_failure(context, report_from(listing, extras))
    extras["locks_before"] = len(inspection.locks)
    extras["locks_stale"] = sum(lock.verdict.verdict == STALE for lock in inspection.locks)
    logger.info(f"🔒 locks before: {len(inspection.locks)} (this host: {inspection.hostname})")
    for line in (*inspection.notes, *(table(inspection) if inspection.locks else ())):
        logger.info("   " + line)
    if options.dry_run:
        extras.update(
            locks_after=len(inspection.locks), locks_removed=0, locks=show(context, inspection, None)
        )
        return report_from(listing, extras)
    if options.remove_all:
        return remove_all(context, inspection, extras)
    result = context.locks.clear_stale(0.0, unlock_when_safe=True, inspection=inspection)
    note_after(context, result.remaining, extras)
    extras.update(removed=list(result.removed), locks_removed=len(result.removed))
    extras.update(
        method=" + ".join(result.methods) or None, locks=show(context, inspection, set(result.removed))
    )
    if result.left:  # clear_stale has logged why
        message = result.explanation()
        return WorkerReport(outcome_for(Status.WARNING, message), extras, message)
    return report_from(listing, extras)
