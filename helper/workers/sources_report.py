"""/bin/sources-report: what a backup would read, checked before it runs and without restic.
Each source (BACKUP_ROOT_DIR and every --source): its type, whether it is readable, its files
and bytes; each --files-from list (from RESTIC_JOB_ARGS and the options): its entries and the
ones that do not exist; each --exclude-file: its patterns. `errors_count` adds up what is
missing or unreadable, and is a gauge to alert on (the shell image's changelog promised one).

The report exits 0 whatever it finds, as the shell image's did: it is a report, and the gauge
and the log say what is wrong. Nothing to inspect, or a bad option, exits 2.
"""

import argparse
import glob
import logging
import os

from helper.outcome import Status, outcome_for
from helper.settings import Settings, kinds
from helper.workers.context import RunContext, WorkerReport, config_error
from helper.workers.source_tree import inventory

logger = logging.getLogger(__name__)

NAME = "sources-report"
SUMMARY = "Inventory the backup's sources, --files-from lists and exclude files, without restic."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
FIELDS = (
    *("backup_root_dir", "sources_count", "files_from_count", "exclude_files_count", "total_files"),
    *("total_bytes", "errors_count", "no_size", "depth_limit", "sources", "files_from", "exclude_files"),
)
GAUGES = ("sources_count", "total_files", "total_bytes", "errors_count")
LIST_FLAGS = ("--files-from", "--files-from-verbatim", "--files-from-raw")
EXCLUDE_FLAGS = ("--exclude-file", "--iexclude-file")
MISSING_SAMPLES = 5


def requirements(settings: Settings) -> list[str]:
    """Checked when it runs: the options may name what to inspect."""
    return []


def depth(text: str) -> int:
    try:
        return kinds.count_from(1).parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source", action="append", default=[], metavar="PATH", help="another source (repeatable)"
    )
    parser.add_argument(
        "--files-from",
        action="append",
        default=[],
        metavar="FILE",
        help="another --files-from list (repeatable)",
    )
    parser.add_argument("--no-size", action="store_true", help="skip counting files and bytes")
    parser.add_argument("--depth", type=depth, metavar="N", help="count files at most N levels down")


def flag_values(arguments: tuple[str, ...], flags: tuple[str, ...]) -> list[str]:
    """The values of `flags` in restic's arguments, as `--flag value` or `--flag=value`."""
    values = []
    for index, word in enumerate(arguments):
        name, equals, value = word.partition("=")
        if name in flags and equals:
            values.append(value)
        elif word in flags and index + 1 < len(arguments):
            values.append(arguments[index + 1])
    return values


def list_entries(path: str, flag: str) -> list[str]:
    """The entries of a --files-from list as restic reads it (raw: NUL-separated; verbatim:
    every line; plain: no blank lines and no # comments)."""
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        text = handle.read()
    if flag == "--files-from-raw":
        return [entry for entry in text.split("\0") if entry]
    lines = text.splitlines()
    if flag == "--files-from-verbatim":
        return [line for line in lines if line]
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def check_list(path: str, flag: str) -> dict:
    entry = {
        "path": path,
        "flag": flag,
        "readable": os.access(path, os.R_OK),
        "entries": None,
        "missing": None,
    }
    if not entry["readable"]:
        logger.warning(f"⚠️ {flag} {path}: cannot be read")
        return entry
    entries = list_entries(path, flag)
    # A plain list may hold glob patterns, which restic expands.
    missing = [
        item for item in entries if not (glob.glob(item) if flag == "--files-from" else os.path.lexists(item))
    ]
    entry.update(entries=len(entries), missing=len(missing), missing_samples=missing[:MISSING_SAMPLES])
    if missing:
        logger.warning(
            f"⚠️ {flag} {path}: {len(missing)} of {len(entries)} entries do not exist, e.g. {missing[0]}"
        )
    return entry


def check_exclude_file(path: str, flag: str) -> dict:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            patterns = [
                line
                for line in handle.read().splitlines()
                if line.strip() and not line.lstrip().startswith("#")
            ]
    except OSError as error:
        logger.warning(f"⚠️ {flag} {path}: {error.strerror}")
        return {"path": path, "flag": flag, "readable": False, "patterns": None}
    return {"path": path, "flag": flag, "readable": True, "patterns": len(patterns)}


def inspected(sources: list[str], lists: list, excludes: list, options: argparse.Namespace) -> dict:
    """The report's fields for what was named."""
    checked_sources = [inventory(path, not options.no_size, options.depth) for path in sources]
    checked_lists = [check_list(path, flag) for path, flag in lists]
    checked_excludes = [check_exclude_file(path, flag) for path, flag in excludes]
    errors = sum(source["errors"] for source in checked_sources)
    errors += sum(1 if not entry["readable"] else entry["missing"] for entry in checked_lists)
    errors += sum(not entry["readable"] for entry in checked_excludes)
    counted = [source for source in checked_sources if source["files"] is not None]
    return {
        "sources_count": len(checked_sources),
        "files_from_count": len(checked_lists),
        "exclude_files_count": len(checked_excludes),
        "total_files": sum(source["files"] for source in counted) if counted else None,
        "total_bytes": sum(source["bytes"] for source in counted) if counted else None,
        "errors_count": errors,
        "sources": checked_sources,
        "files_from": checked_lists,
        "exclude_files": checked_excludes,
    }


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    job_arguments = settings.restic_job_args
    sources = list(dict.fromkeys(path for path in (settings.backup_root_dir, *options.source) if path))
    lists = [(path, flag) for flag in LIST_FLAGS for path in flag_values(job_arguments, (flag,))]
    lists += [(path, "--files-from") for path in options.files_from]
    excludes = [(path, flag) for flag in EXCLUDE_FLAGS for path in flag_values(job_arguments, (flag,))]
    extras = {"backup_root_dir": settings.backup_root_dir or None, "no_size": options.no_size}
    extras["depth_limit"] = options.depth
    if not sources and not lists:
        return config_error(
            "nothing to inspect: set BACKUP_ROOT_DIR, or pass --source or --files-from", extras
        )
    extras.update(inspected(sources, lists, excludes, options))
    counts = f"{extras['sources_count']} source(s), {extras['files_from_count']} list(s)"
    files = "-" if extras["total_files"] is None else extras["total_files"]
    logger.info(f"📋 {counts}: {files} file(s), {extras['errors_count']} error(s)")
    return WorkerReport(outcome_for(Status.OK), extras)
