"""/bin/restore-test: a restore drill. Restore a snapshot into a fresh temporary directory (or
--target), check that it came back, and clean up. Schedulable with RESTORE_TEST_CRON.

Checks: at least --min-files files; each canary's SHA-256; restic's own --verify; and a spot
check of --sample random files whose source under BACKUP_ROOT_DIR is unchanged since the
snapshot. Any failed check fails the run (exit 1), so mail, webhook, metrics and the post-hook
see it.
"""

import argparse
import logging
import random
import tempfile
from pathlib import Path

from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.settings import Setting, Settings, kinds
from helper.workers import drill, restoring, snapshots, targets
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

logger = logging.getLogger(__name__)

NAME = "restore-test"
SUMMARY = "Restore a snapshot into a scratch directory and prove it came back (a drill)."
# A drill only reads the repository: a local backup in progress is no reason to skip it.
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = "RESTORE_TEST_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/restore-test runs a restore drill. Empty disables it."
FIELDS = (
    *("snapshot", "target", "target_autotmp", "keep", "dry_run", "verify", "tag_filter", "host_filter"),
    *("include_paths_count", "restic_files_restored", "restic_bytes_restored", "include_zero_match"),
    *("min_files", "min_files_met", "files_restored", "bytes_restored", "verification"),
    *("canary_total", "canary_passed", "canary_failed", "canary_results"),
    *("sample_size", "sample_checked", "sample_mismatches", "sample_mismatched_paths", "cleanup_status"),
)
GAUGES = ("files_restored", "bytes_restored", "canary_failed", "sample_mismatches")
GROUP = "Restore drill"
SETTINGS = (
    Setting("RESTORE_TEST_PATH", kinds.ARGUMENTS, "", "Paths the drill restores (default: all).", GROUP),
    Setting(
        "RESTORE_TEST_TARGET", kinds.TEXT, "", "Where the drill restores (default: a temporary dir).", GROUP
    ),
    Setting(
        "RESTORE_TEST_CANARY", kinds.ARGUMENTS, "", "Canaries, PATH=SHA256 words.", GROUP, file_twin=False
    ),
    Setting("RESTORE_TEST_CANARY_FILE", kinds.TEXT, "", "A sha256sum file of canaries.", GROUP),
    Setting("RESTORE_TEST_KEEP", kinds.BOOLEAN, "OFF", "Keep the restored tree.", GROUP),
    Setting("RESTORE_TEST_MIN_FILES", kinds.COUNT, "1", "Fewest files a drill must restore (0: any).", GROUP),
    Setting("RESTORE_TEST_VERIFY", kinds.BOOLEAN, "OFF", "Also run restic's restore --verify.", GROUP),
    Setting(
        "RESTORE_TEST_SAMPLE", kinds.COUNT, "0", "Random unchanged files compared with their source.", GROUP
    ),
)


def requirements(settings: Settings) -> list[str]:
    """A drill needs nothing beyond the repository."""
    return []


def count_argument(text: str) -> int:
    try:
        return kinds.parse_count(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    snapshots.add_arguments(parser, paths_help="restore only this path (repeatable; RESTORE_TEST_PATH)")
    parser.add_argument("--target", help="restore here instead of a new temporary directory")
    parser.add_argument("--keep", action="store_true", help="keep the restored tree (RESTORE_TEST_KEEP)")
    parser.add_argument("--force", action="store_true", help="restore into a --target that is not empty")
    parser.add_argument(
        "--canary", action="append", default=[], metavar="PATH=SHA256", help="a file and its digest"
    )
    parser.add_argument("--canary-file", metavar="FILE", help="canaries in sha256sum's format")
    parser.add_argument(
        "--min-files", type=count_argument, metavar="N", help="fewest files (default 1; 0: any)"
    )
    parser.add_argument(
        "--sample", type=count_argument, metavar="N", help="compare N unchanged files with the source"
    )
    parser.add_argument("--verify", action="store_true", help="also run restic's restore --verify")
    parser.add_argument(
        "--dry-run", action="store_true", help="restore nothing; check what restic would restore"
    )
    parser.add_argument("-y", "--yes", action="store_true", help="accepted; a drill never asks")


def canaries(options: argparse.Namespace, settings: Settings) -> list[drill.Canary]:
    """Every canary from the flags (or RESTORE_TEST_CANARY) and the canary file; ValueError
    names where a bad one came from."""
    origin = "--canary" if options.canary else "RESTORE_TEST_CANARY"
    found = [drill.parse_canary(text, origin) for text in options.canary or settings.restore_test_canary]
    path = options.canary_file or settings.restore_test_canary_file
    if path:
        origin = "--canary-file" if options.canary_file else "RESTORE_TEST_CANARY_FILE"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{origin}: cannot read {path}: {error}") from None
        found += drill.parse_canary_file(text, f"{origin} {path}")
    return found


def verify(context: RunContext, target: Path, checks: list[drill.Canary], extras: dict) -> list[str]:
    """Run the checks on the restored tree; fill the extras; return what failed."""
    settings, options = context.settings, context.options
    files = drill.restored_files(target)
    extras["files_restored"], extras["bytes_restored"] = drill.tree_totals(files)
    extras["min_files_met"] = extras["files_restored"] >= extras["min_files"]
    results = drill.check_canaries(target, checks)
    passed = sum(result["result"] == "passed" for result in results)
    extras.update(canary_results=results, canary_passed=passed, canary_failed=len(results) - passed)
    size = options.sample if options.sample is not None else settings.restore_test_sample
    pairs = drill.unchanged_sources(target, files, settings.backup_root_dir) if size else []
    checked, mismatched = drill.spot_check(pairs, size, random.SystemRandom())
    extras.update(sample_size=size, sample_checked=checked, sample_mismatches=len(mismatched))
    extras["sample_mismatched_paths"] = mismatched
    failures = (
        []
        if extras["min_files_met"]
        else [f"{extras['files_restored']} file(s), fewer than {extras['min_files']}"]
    )
    failures += [
        f"canary {result['path']}: {result['result']}" for result in results if result["result"] != "passed"
    ]
    failures += [f"sample {path}: differs from its source" for path in mismatched]
    extras["verification"] = "failed" if failures else "passed"
    logger.info(
        f"🧪 {extras['files_restored']} file(s) back (floor {extras['min_files']}), canaries "
        f"{passed}/{len(results)} passed, {checked} sampled file(s) compared, {len(mismatched)} differ"
    )
    return failures


def settled(context: RunContext, extras: dict) -> tuple[Path | None, list[drill.Canary], WorkerReport | None]:
    """The target and canaries, or the report of bad input (exit 2) before anything is written."""
    options, settings = context.options, context.settings
    try:
        checks = canaries(options, settings)
    except ValueError as error:
        return None, [], config_error(str(error), extras)
    chosen = options.target or settings.restore_test_target
    if chosen:
        option = "--target" if options.target else "RESTORE_TEST_TARGET"
        if refusal := targets.refusal(option, Path(chosen), settings, options.force or options.dry_run):
            return None, [], config_error(refusal, extras)
    return (Path(chosen) if chosen else None), checks, None


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    chosen = snapshots.selection(options, settings, paths=False)
    paths = tuple(options.path) or settings.restore_test_path
    min_files = options.min_files if options.min_files is not None else settings.restore_test_min_files
    extras = {
        "dry_run": options.dry_run,
        "keep": options.keep or settings.restore_test_keep,
        "verify": options.verify or settings.restore_test_verify,
        "tag_filter": ",".join(chosen.tags) or None,
        "host_filter": ",".join(chosen.hosts) or None,
        "include_paths_count": len(paths),
        "min_files": min_files,
        "include_zero_match": False,
        "verification": "skipped",
    }
    target, checks, refused = settled(context, extras)
    if refused is not None:
        return refused
    extras["canary_total"] = len(checks)
    snapshot, failure = snapshots.resolve(context, chosen)
    if failure is not None:
        return WorkerReport(failure.outcome, {**extras, **failure.extras}, failure.error)
    extras["snapshot"] = snapshot.id
    return drill_run(context, snapshot, target, paths, checks, extras)


def drill_run(
    context: RunContext,
    snapshot: snapshots.Snapshot,
    target: Path | None,
    paths: tuple[str, ...],
    checks: list[drill.Canary],
    extras: dict,
) -> WorkerReport:
    """Check the space, restore, verify, clean up."""
    stats = context.locks.run("stats", "--json", snapshot.id, echo=False)
    needed = next((m.get("total_size", 0) for m in stats.messages if "total_size" in m), 0)
    autotmp = target is None
    place = target or Path(tempfile.gettempdir())
    if refusal := targets.space_refusal("--target" if target else "TMPDIR", place, needed):
        return config_error(refusal, extras)
    if autotmp:
        target = Path(tempfile.mkdtemp(prefix="restore-test."))
    extras.update(target=str(target), target_autotmp=autotmp)
    request = restoring.Request(snapshot.id, target, paths, (), extras["verify"], extras["dry_run"])
    try:
        completed, counts = restoring.restore(context, request, "restore-test")
        extras.update(
            restic_files_restored=counts["files_restored"], restic_bytes_restored=counts["bytes_restored"]
        )
        if completed.exit_code != 0 or extras["dry_run"]:
            return report_from(completed, extras)
        if paths and not counts["files_restored"]:
            extras["include_zero_match"] = True
            message = "--path matched no file in the snapshot: nothing was restored"
            return WorkerReport(outcome_for(Status.WARNING, message), extras, message)
        failures = verify(context, target, checks, extras)
    finally:
        extras["cleanup_status"] = drill.clean_up(target, autotmp, extras["keep"])
    if failures:
        message = "restore drill failed: " + "; ".join(failures)
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), extras, message)
    return report_from(completed, extras)
