"""/bin/snapshot-export: a snapshot, or part of it, as one .tar.gz.

`restic dump --archive tar` streams the snapshot and the helper gzips it straight into a
temporary file beside the output, renamed into place when complete: no work directory, no
restored copy on disk (the shell image restored everything, then tarred it). A failure or a
stop signal leaves no partial archive, and an existing output is never overwritten without
--force.
"""

import argparse
import logging
import os
from pathlib import Path

from helper.clock import SYSTEM
from helper.outcome import EXIT_CONFIG_ERROR, EXIT_FAILED, Outcome, Status, outcome_for
from helper.restic import Completed
from helper.settings import Settings
from helper.settings.kinds import format_bytes
from helper.workers import archive, snapshots, targets
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "snapshot-export"
SUMMARY = "Write a snapshot, or part of it, as a .tar.gz (restic dump, streamed)."
# It only reads the repository: a local backup in progress is no reason to wait.
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = (
    *("snapshot", "archive", "work_dir", "dry_run", "include", "exclude", "include_zero_match"),
    *("files_restored", "bytes_restored", "archive_size_bytes", "verified"),
)
GAUGES = ("files_restored", "archive_size_bytes")


def requirements(settings: Settings) -> list[str]:
    """snapshot-export needs nothing beyond the repository."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    snapshots.add_arguments(parser)
    parser.add_argument(
        "--include", action="append", default=[], metavar="PATTERN", help="only matching paths"
    )
    parser.add_argument(
        "--exclude", action="append", default=[], metavar="PATTERN", help="leave matching paths out"
    )
    parser.add_argument(
        "--output", help="the .tar.gz to write (default /restore/snapshot-export-<id>-<time>.tar.gz)"
    )
    parser.add_argument("--force", action="store_true", help="replace an existing output")
    parser.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    parser.add_argument("--verify", action="store_true", help="read the archive back and count its files")
    parser.add_argument(
        "--work-dir", help="accepted for the shell image's scripts; nothing is restored to disk"
    )
    parser.add_argument("--keep-workdir", action="store_true", help="accepted; there is no work directory")
    parser.add_argument("-v", "--verbose", action="store_true", help="accepted for the shell image's scripts")


def output_path(options: argparse.Namespace, snapshot: snapshots.Snapshot) -> Path:
    if options.output:
        return Path(options.output)
    stamp = SYSTEM.now().astimezone().strftime("%Y%m%d-%H%M%S")
    return Path("/restore") / f"snapshot-export-{snapshot.short_id}-{stamp}.tar.gz"


def output_refusal(output: Path, settings: Settings, force: bool) -> str | None:
    """Why the archive must not be written at `output`, or None."""
    if output.is_dir():
        return f"--output {output}: is a directory; name the .tar.gz file"
    if output.exists() and not force:
        return f"--output {output}: exists; pass --force to replace it"
    return targets.guarded_overlap("--output", output.parent, settings, above=False)


def estimate(context: RunContext, snapshot: snapshots.Snapshot, output: Path, extras: dict) -> WorkerReport:
    """--dry-run: the snapshot's size from restic stats; nothing written."""
    stats = context.locks.run("stats", "--json", snapshot.id, echo=False)
    if unknown := snapshots.unknown_to_restic(stats, snapshot.id):
        return WorkerReport(unknown.outcome, extras, unknown.error)
    size = next((m for m in stats.messages if "total_size" in m), {})
    extras.update(files_restored=size.get("total_file_count"), bytes_restored=size.get("total_size"))
    scope = " at most" if context.options.include or context.options.exclude else ""
    logger.info(
        f"would write {output} from{scope} {extras['files_restored']} file(s), "
        f"{format_bytes(extras['bytes_restored'] or 0)} before compression"
    )
    return report_from(stats, extras)


def dumped(
    context: RunContext, snapshot: snapshots.Snapshot, temporary: Path
) -> tuple[Completed, archive.Written]:
    """restic dump through the pattern filter into `temporary`: restic's Completed and what
    the last attempt wrote (lock conflicts are retried, each attempt writes afresh)."""
    chosen = archive.Filter(tuple(context.options.include), tuple(context.options.exclude))
    written: list[archive.Written] = []
    completed = context.locks.run(
        *("dump", "--archive", "tar", snapshot.id, "/"),
        consume=lambda stream: written.append(archive.pack(stream, temporary, chosen)),
    )
    return completed, (written[-1] if written else archive.Written(error="restic wrote nothing"))


def failed(message: str, extras: dict, exit_code: int = EXIT_FAILED) -> WorkerReport:
    return WorkerReport(Outcome(Status.FAILED, exit_code, message), extras, message)


def finish(
    context: RunContext, written: archive.Written, temporary: Path, output: Path, extras: dict
) -> WorkerReport | None:
    """The checks on a complete dump, then the archive under its name; a report when it fails."""
    options = context.options
    extras.update(files_restored=written.files, bytes_restored=written.bytes)
    if options.include and not written.members:
        extras["include_zero_match"] = True
        message = "--include matched nothing in the snapshot: no archive written"
        return WorkerReport(outcome_for(Status.WARNING, message), extras, message)
    if options.verify and archive.count_files(temporary) != written.files:
        return failed(f"--verify: {temporary} does not hold the {written.files} file(s) written", extras)
    extras["verified"] = options.verify or None
    try:
        archive.put_in_place(temporary, output, options.force)
    except FileExistsError:
        message = f"--output {output}: appeared while the archive was written; pass --force to replace it"
        return failed(message, extras, EXIT_CONFIG_ERROR)
    return None


def export(context: RunContext, snapshot: snapshots.Snapshot, output: Path, extras: dict) -> WorkerReport:
    temporary = output.with_name(f".{output.name}.{os.getpid()}.partial")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        completed, written = dumped(context, snapshot, temporary)
        if unknown := snapshots.unknown_to_restic(completed, snapshot.id):
            return WorkerReport(unknown.outcome, extras, unknown.error)
        if completed.exit_code != 0:
            return report_from(completed, extras)
        if written.error:
            return failed(f"restic dump sent no readable tar stream: {written.error}", extras)
        if refused := finish(context, written, temporary, output, extras):
            return refused
    except OSError as error:
        return failed(f"--output {output}: cannot write the archive: {error.strerror or error}", extras)
    finally:
        temporary.unlink(missing_ok=True)
    extras.update(archive=str(output), archive_size_bytes=output.stat().st_size)
    logger.info(f"📦 {output}: {written.files} file(s), {format_bytes(extras['archive_size_bytes'])}")
    return report_from(completed, extras)


def chosen_snapshot(
    context: RunContext, chosen: snapshots.Selection
) -> tuple[snapshots.Snapshot | None, WorkerReport | None]:
    """The snapshot to export: "latest" resolved first, so the audit and the default name
    carry its id; an --id goes to restic as given (restic checks it as it dumps: one
    repository open fewer), as in restore."""
    if chosen.snapshot == snapshots.LATEST:
        return snapshots.resolve(context, chosen)
    return snapshots.given(chosen.snapshot), None


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    chosen = snapshots.selection(options, settings)
    extras = {"dry_run": options.dry_run, "include": list(options.include), "exclude": list(options.exclude)}
    extras.update(work_dir=options.work_dir, include_zero_match=False)
    if not options.id.strip():
        return config_error("--id must not be empty: give a snapshot id, or leave it out for latest", extras)
    if options.output and (refusal := output_refusal(Path(options.output), settings, options.force)):
        return config_error(refusal, extras)
    snapshot, failure = chosen_snapshot(context, chosen)
    if failure is not None:
        return WorkerReport(failure.outcome, {**extras, **failure.extras}, failure.error)
    output = output_path(options, snapshot)
    extras.update(snapshot=snapshot.id, archive=str(output))
    if refusal := output_refusal(output, settings, options.force):
        return config_error(refusal, extras)
    if options.dry_run:
        return estimate(context, snapshot, output, extras)
    return export(context, snapshot, output, extras)
