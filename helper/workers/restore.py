"""/bin/restore: restore a snapshot into a target directory, with the checks an operator wants
before the first byte is written.

"latest" is resolved first (the audit names the snapshot); the target is refused when
it is the root, inside or above BACKUP_ROOT_DIR or a local repository, or not empty without
--force. On a terminal, an operator without --id picks a snapshot from a numbered list and
confirms; without one, a real restore needs --yes. A stop signal ends restic; the audit then
says what was restored so far.
"""

import argparse
import logging
import os
from pathlib import Path

from helper.outcome import Status, outcome_for
from helper.settings import Settings
from helper.settings.kinds import format_bytes
from helper.workers import restoring, snapshots, targets, terminal
from helper.workers.context import RunContext, WorkerReport, config_error, report_from
from helper.workers.snapshots import Snapshot

logger = logging.getLogger(__name__)

NAME = "restore"
SUMMARY = "Restore a snapshot into a target directory (restic restore)."
# A restore only reads the repository: an operator in a hurry must not wait for a local backup.
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = (
    "snapshot",
    "snapshot_time",
    "target",
    "dry_run",
    "tag_filter",
    "host_filter",
    "path_filter",
    "include",
    "exclude",
    "owner",
    "files_restored",
    "bytes_restored",
    "total_files",
    "total_bytes",
    "include_zero_match",
    "cancelled",
    "listed",
)
GAUGES = ("files_restored", "bytes_restored")

LISTED_BY_DEFAULT = 20


def requirements(settings: Settings) -> list[str]:
    """restore needs nothing beyond the repository."""
    return []


def owner_argument(text: str) -> tuple[int, int]:
    user, _, group = text.partition(":")
    if not (user.isdigit() and group.isdigit()):
        raise argparse.ArgumentTypeError(f"expected numeric UID:GID, got {text!r}")
    return int(user), int(group)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    snapshots.add_arguments(parser)
    parser.add_argument("--target", default="/restore", help="where to restore (default /restore)")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="PATTERN",
        help="restore only matching files (repeatable)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help="leave out matching files (repeatable)",
    )
    parser.add_argument(
        "--owner", type=owner_argument, metavar="UID:GID", help="chown the restored files afterwards"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be restored; write nothing")
    parser.add_argument("--verify", action="store_true", help="have restic read back every restored file")
    parser.add_argument("--force", action="store_true", help="restore into a directory that is not empty")
    parser.add_argument(
        "--list", action="store_true", help=f"list the {LISTED_BY_DEFAULT} newest matching snapshots and stop"
    )
    parser.add_argument("--all", action="store_true", help="with --list: every matching snapshot")
    parser.add_argument(
        "--since", metavar="DATE", help="with --list: only snapshots from DATE (YYYY-MM-DD) on"
    )
    parser.add_argument(
        "-y", "--yes", action="store_true", help="restore without asking (needed without a terminal)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="accepted for the shell image's scripts; progress is always shown",
    )


def usage_problem(options: argparse.Namespace, on_terminal: bool) -> str | None:
    """Flags that cannot go together, or a restore nobody confirmed; None when all is well."""
    if options.list and (options.dry_run or options.yes or options.owner):
        return "--list only lists snapshots: it takes no --dry-run, --yes or --owner"
    if (options.all or options.since) and not options.list:
        return "--all and --since go with --list"
    if not (options.list or options.dry_run or options.yes or on_terminal):
        return "without a terminal, a restore needs --yes (or --dry-run to see what it would do)"
    return None


def list_snapshots(context: RunContext, chosen: snapshots.Selection) -> WorkerReport:
    found, failure = snapshots.listed(context, chosen)
    if failure is not None:
        return failure
    options = context.options
    if options.since:
        found = [snapshot for snapshot in found if snapshot.time[:10] >= options.since]
    shown = found if options.all else found[:LISTED_BY_DEFAULT]
    for line in snapshots.table(shown):
        logger.info(line)
    logger.info(f"shown: {len(shown)} of {len(found)} matching snapshot(s)")
    return WorkerReport(outcome_for(Status.OK), {"listed": len(shown)})


def cancelled(extras: dict) -> WorkerReport:
    message = "restore cancelled by the operator"
    logger.info("⏹ " + message)
    return WorkerReport(outcome_for(Status.INTERRUPTED, message), {**extras, "cancelled": True}, message)


def change_owner(root: Path, owner: tuple[int, int]) -> None:
    """chown -R, without following links; a failure is a warning, the files are back."""
    try:
        for directory, names, files in os.walk(root):
            for name in (*names, *files):
                os.lchown(os.path.join(directory, name), *owner)
        os.lchown(root, *owner)
    except OSError as error:
        logger.warning(f"--owner: cannot change the owner of the restored files: {error}")


def restore(context: RunContext, snapshot: Snapshot, target: Path, extras: dict) -> WorkerReport:
    options = context.options
    known = f" ({snapshot.time[:19]}, {snapshot.hostname})" if snapshot.time else ""
    logger.info(f"♻️ restoring {snapshot.short_id}{known} into {target}")
    request = restoring.Request(
        snapshot.id, target, tuple(options.include), tuple(options.exclude), options.verify, options.dry_run
    )
    completed, counts = restoring.restore(context, request, "restore")
    extras.update(counts)
    if unknown := snapshots.unknown_to_restic(completed, snapshot.id):
        return WorkerReport(unknown.outcome, extras, unknown.error)
    if completed.exit_code != 0:
        return report_from(completed, extras)
    logger.info(
        f"{'would restore' if options.dry_run else 'restored'} {extras['files_restored']} file(s), "
        f"{format_bytes(extras['bytes_restored'] or 0)}"
    )
    if options.include and not extras["files_restored"]:
        extras["include_zero_match"] = True
        message = "--include matched no file in the snapshot: nothing was restored"
        return WorkerReport(outcome_for(Status.WARNING, message), extras, message)
    if options.owner and not options.dry_run:
        change_owner(target, options.owner)
    return report_from(completed, extras)


def choose(
    context: RunContext, chosen: snapshots.Selection, asks: bool
) -> tuple[Snapshot | None, WorkerReport | None]:
    """The snapshot to restore: picked at the terminal, resolved when it is "latest" (so the
    audit names it), or an --id as given, which restic checks itself."""
    if asks and chosen.snapshot == snapshots.LATEST:
        return snapshots.pick(context, chosen)
    if chosen.snapshot == snapshots.LATEST:
        return snapshots.resolve(context, chosen)
    return snapshots.given(chosen.snapshot), None


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    chosen = snapshots.selection(options, settings)
    on_terminal = terminal.interactive()
    if problem := usage_problem(options, on_terminal):
        return config_error(problem)
    if options.list:
        return list_snapshots(context, chosen)
    target = Path(options.target)
    extras = {
        "target": str(target),
        "dry_run": options.dry_run,
        "tag_filter": ",".join(chosen.tags) or None,
        "host_filter": ",".join(chosen.hosts) or None,
        "path_filter": list(chosen.paths),
        "include": list(options.include),
        "exclude": list(options.exclude),
        "owner": ":".join(map(str, options.owner)) if options.owner else None,
        "include_zero_match": False,
        "cancelled": False,
    }
    if refusal := targets.refusal("--target", target, settings, options.force or options.dry_run):
        return config_error(refusal, extras)
    asks = on_terminal and not options.yes
    snapshot, failure = choose(context, chosen, asks)
    if failure is not None:
        return WorkerReport(failure.outcome, {**extras, **failure.extras}, failure.error)
    if snapshot is None:
        return cancelled(extras)
    extras.update(snapshot=snapshot.id, snapshot_time=snapshot.time or None)
    question = f"restore {snapshot.short_id} into {target}{' (dry run)' if options.dry_run else ''}? [y/N]"
    if asks and not terminal.confirmed(question):
        return cancelled(extras)
    return restore(context, snapshot, target, extras)
