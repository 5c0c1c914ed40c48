"""The rclone mode of /bin/replicate: the job file REPLICATE_JOB_FILE, one job a line,

    SOURCE;DESTINATION[;MODE[;EXTRA]]

MODE is bisync (the default), sync or copy; EXTRA, the rest of the line, adds rclone
arguments to REPLICATE_JOB_ARGS for that job. Blank lines and `#` comments are skipped. A
bisync that fails is recovered as the shell image did: `rclone copy --update` both ways, then
`rclone bisync --resync`.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from helper.outcome import EXIT_CANNOT_START, EXIT_FAILED, EXIT_INTERRUPTED, Outcome, Status, outcome_for
from helper.rclone import Finished, Rclone
from helper.settings import kinds

logger = logging.getLogger(__name__)

MODES = ("bisync", "sync", "copy")
FORMAT = "SOURCE;DESTINATION[;MODE[;EXTRA]]"
# What rclone says when a pair has no listings: on its first bisync, and after a failure that
# made it drop them (which run_job learns from the last run's report).
FIRST_BISYNC = "cannot find prior Path1 or Path2 listings"
# A routine run never resyncs: a resync makes one side win, so only the recovery may ask for it.
RESYNC = re.compile(r"--resync(=.*)?")
ARROWS = {"bisync": "<->", "sync": "->", "copy": "->"}
# bisync --check-access stops when a side lacks this file (an unmounted disk, say). After that
# failure rclone demands a resync, which skips the check: the recovery looks for it itself.
CHECK_FILE = "RCLONE_TEST"


@dataclass(frozen=True)
class Job:
    line: int
    source: str
    destination: str
    mode: str
    arguments: tuple[str, ...]  # REPLICATE_JOB_ARGS, then the line's EXTRA, without --resync
    resync_removed: bool = False

    def describe(self) -> str:
        return f"line {self.line}: {self.mode} {self.source} {ARROWS[self.mode]} {self.destination}"


@dataclass(frozen=True)
class Replicated:
    """What one job did: its verdict, and its entry in last-replicate.json."""

    outcome: Outcome
    entry: dict


def parse_line(text: str, number: int, common: tuple[str, ...]) -> Job | str:
    """Given a job line, return its Job or what is wrong with it."""
    if ";" not in text:
        return f"no ';' between source and destination (expected {FORMAT})"
    source, destination, mode, extra = (*(part.strip() for part in text.split(";", 3)), "", "")[:4]
    if not source or not destination:
        return f"the {'source' if not source else 'destination'} is empty (expected {FORMAT})"
    mode = mode.lower() or "bisync"
    if mode not in MODES:
        return f"unknown mode {mode!r} (expected {', '.join(MODES)})"
    try:
        words = kinds.parse_arguments(extra)
    except ValueError as error:
        return f"the extra arguments {error}"
    given = common + words
    arguments = tuple(word for word in given if not RESYNC.fullmatch(word))
    return Job(number, source, destination, mode, arguments, len(arguments) < len(given))


def read_jobs(path: str, common: tuple[str, ...]) -> tuple[list[Job], list[str]]:
    """Return the jobs of the job file and a problem per line that is no job, each naming the
    file and the line; a file that cannot be read or holds no job is a problem too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return [], [
            f"REPLICATE_JOB_FILE: {path} does not exist (write the rclone jobs there; for restic copy "
            "alone, set REPLICATE_REPOSITORY and leave REPLICATE_JOB_FILE unset)"
        ]
    except (OSError, UnicodeDecodeError) as error:
        return [], [f"REPLICATE_JOB_FILE: cannot read {path}: {error}"]
    jobs, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parsed = parse_line(line, number, common)
        if isinstance(parsed, Job):
            jobs.append(parsed)
        else:
            problems.append(f"REPLICATE_JOB_FILE: {path} line {number}: {parsed}")
    if not jobs and not problems:
        problems.append(f"REPLICATE_JOB_FILE: {path} holds no job (one {FORMAT} a line)")
    return jobs, problems


def run_job(job: Job, rclone: Rclone, check_access: bool, failed_before: bool = False) -> Replicated:
    """Run one job, and the recovery when its bisync fails. `failed_before`: the job failed in
    the last run, so a bisync without listings is a recovery, not the pair's first bisync."""
    check = ("--check-access",) if check_access and job.mode == "bisync" else ()
    logger.info(f"🔀 {job.describe()}")
    if job.resync_removed:
        logger.warning(f"--resync removed from the arguments of line {job.line}: only the recovery resyncs")
    finished = rclone.run(job.mode, job.source, job.destination, *check, *job.arguments)
    entry = {
        **{"line": job.line, "source": job.source, "destination": job.destination, "mode": job.mode},
        **{"exit_code": finished.exit_code, "recovered": False, "first_bisync": False},
        **{"recovery": None, "error": None},
    }
    if finished.exit_code == 0:
        logger.info(f"✅ {job.describe()}: done")
        return Replicated(outcome_for(Status.OK), entry)
    entry["error"] = finished.last_error or None
    if job.mode != "bisync" or finished.exit_code in (EXIT_CANNOT_START, EXIT_INTERRUPTED):
        return failed(job, finished, entry)
    if check and (side := without_check_file(job, rclone)):
        return failed(job, finished, entry, f"; not recovered: {side} holds no {CHECK_FILE} (check-access)")
    return recover(job, rclone, check, entry, finished, first=not failed_before)


def without_check_file(job: Job, rclone: Rclone) -> str | None:
    """The side of a bisync that holds no RCLONE_TEST file (or cannot be listed), or None."""
    for side in (job.source, job.destination):
        listed = rclone.run("lsf", "--recursive", "--files-only", "--include", CHECK_FILE, side)
        if listed.exit_code or not any(line.endswith(CHECK_FILE) for line in listed.lines):
            return side
    return None


def recover(
    job: Job, rclone: Rclone, check: tuple[str, ...], entry: dict, failure: Finished, first: bool
) -> Replicated:
    """After a failed bisync: newer files copied both ways, then a resync, which makes the
    listings bisync compares against anew. Nothing is deleted on either side."""
    logger.warning(
        f"{job.describe()} failed (rclone exit {failure.exit_code}); recovering: "
        "copy --update both ways, then bisync --resync"
    )
    forward = rclone.run("copy", job.source, job.destination, "--update", *job.arguments)
    backward = rclone.run("copy", job.destination, job.source, "--update", *job.arguments)
    resync = None
    if forward.exit_code == 0 and backward.exit_code == 0:
        resync = rclone.run("bisync", job.source, job.destination, "--resync", *job.arguments, *check)
    entry["recovery"] = {
        "copy_to_destination": forward.exit_code,
        "copy_to_source": backward.exit_code,
        "resync": resync.exit_code if resync else None,
    }
    if resync is not None and resync.exit_code == 0:
        entry["recovered"] = True
        if first and any(FIRST_BISYNC in line for line in (*failure.errors, *failure.lines)):
            # Every pair's first bisync ends this way; its resync is the setting up, no failure.
            entry.update(first_bisync=True, error=None)
            logger.info(f"✅ {job.describe()}: the pair's first bisync, its listings made by a resync")
            return Replicated(outcome_for(Status.OK), entry)
        message = f"{job.describe()} failed (rclone exit {failure.exit_code}) and was recovered by a resync"
        logger.warning(message)
        return Replicated(outcome_for(Status.WARNING, message), entry)
    steps = {"copy to the destination": forward, "copy to the source": backward, "resync": resync}
    name, step = next((name, step) for name, step in steps.items() if step is not None and step.exit_code)
    if step.exit_code == EXIT_INTERRUPTED:
        return failed(job, step, entry)
    reason = f": {step.last_error}" if step.last_error else ""
    return failed(job, failure, entry, f"; the recovery failed at the {name} (exit {step.exit_code}){reason}")


def failed(job: Job, finished: Finished, entry: dict, note: str = "") -> Replicated:
    """The verdict on a job whose rclone call `finished` failed (or was interrupted)."""
    if finished.exit_code == EXIT_INTERRUPTED:
        return Replicated(outcome_for(Status.INTERRUPTED, f"{job.describe()}: interrupted"), entry)
    reason = f": {finished.last_error}" if finished.last_error else ""
    message = f"{job.describe()} failed (rclone exit {finished.exit_code}){reason}{note}"
    logger.error(message)
    # rclone's own codes (2 for most errors, 3 for a missing directory) would read as this
    # helper's configuration error or warning: a failure is 1, each code stays in its job's entry.
    exit_code = EXIT_CANNOT_START if finished.exit_code == EXIT_CANNOT_START else EXIT_FAILED
    return Replicated(Outcome(Status.FAILED, exit_code, message), entry)
