"""/bin/rotate_log: archive LOG_DIR/cron.log once it reaches CRON_LOG_MAX_SIZE, as
`cron_log_<YYYYmmdd_HHMMSS>.tar.gz`, and keep the newest MAX_CRON_LOG_ARCHIVES archives.

The shell image archived the file and then truncated it, losing what was written in between.
Here it is renamed first (the scheduler opens cron.log afresh for each line, so its next line
starts a new file), then archived and removed: no line is lost.
"""

import logging
import os
import tarfile
from pathlib import Path

from helper.clock import SYSTEM
from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.settings import Setting, Settings, kinds
from helper.workers.context import RunContext, WorkerReport

logger = logging.getLogger(__name__)

NAME = "rotate_log"
SUMMARY = "Archive LOG_DIR/cron.log once it reaches CRON_LOG_MAX_SIZE."
# It touches no repository: a backup in progress is no reason to wait or skip.
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = "ROTATE_LOG_CRON"
CRON_DEFAULT = "0 0 * * 6"
CRON_HELP = "When /bin/rotate_log looks at LOG_DIR/cron.log (the shell image's weekly default)."
FIELDS = ("rotated", "cron_log_bytes", "archive", "archives_kept", "archives_removed")
GAUGES = ("cron_log_bytes", "archives_kept")
SETTINGS = (
    Setting(
        "CRON_LOG_MAX_SIZE",
        kinds.count_from(1),
        "1048576",
        "Bytes at which /bin/rotate_log archives LOG_DIR/cron.log.",
        "Reporting",
    ),
    Setting(
        "MAX_CRON_LOG_ARCHIVES",
        kinds.count_from(1),
        "5",
        "How many cron_log_*.tar.gz archives /bin/rotate_log keeps.",
        "Reporting",
    ),
)

CRON_LOG = "cron.log"
ARCHIVE_PATTERN = "cron_log_*.tar.gz"


def requirements(settings: Settings) -> list[str]:
    """rotate_log needs nothing but LOG_DIR."""
    return []


def add_arguments(parser) -> None:
    """rotate_log takes no options of its own."""


def archive(log_dir: Path, rotating: Path) -> Path:
    """Pack the renamed log as cron.log into a new archive, never over an older one of the same
    second; remove a partial archive on failure."""
    stamp = SYSTEM.now().astimezone().strftime("%Y%m%d_%H%M%S")
    for suffix in ("", *(f"_{number}" for number in range(1, 100))):
        path = log_dir / f"cron_log_{stamp}{suffix}.tar.gz"
        try:
            handle = open(path, "xb")  # noqa: SIM115 - tarfile writes through it, closed below
        except FileExistsError:
            continue
        try:
            with handle, tarfile.open(fileobj=handle, mode="w:gz") as packed:
                packed.add(rotating, arcname=CRON_LOG)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path
    raise FileExistsError(f"cron_log_{stamp}*.tar.gz: too many archives in one second")


def prune_archives(log_dir: Path, keep: int) -> tuple[int, int]:
    """Keep the newest `keep` archives; return how many stay and how many went."""
    archives = sorted(log_dir.glob(ARCHIVE_PATTERN), key=lambda path: path.stat().st_mtime, reverse=True)
    for old in archives[keep:]:
        old.unlink(missing_ok=True)
    return min(len(archives), keep), max(0, len(archives) - keep)


def rotate(log_dir: Path, size: int) -> str:
    """Rename cron.log aside, archive it and remove it; return the archive's name. When it
    cannot be archived, the log goes back (or, if new lines already started a new cron.log,
    stays beside it as cron.log.unarchived) and the error is raised."""
    cron_log = log_dir / CRON_LOG
    rotating = log_dir / f".{CRON_LOG}.rotating.{os.getpid()}"
    os.rename(cron_log, rotating)
    try:
        name = archive(log_dir, rotating).name
    except OSError:
        os.rename(rotating, log_dir / f"{CRON_LOG}.unarchived" if cron_log.exists() else cron_log)
        raise
    rotating.unlink()
    logger.info(f"🗜 {CRON_LOG} ({kinds.format_bytes(size)}) archived as {name}")
    return name


def run(context: RunContext) -> WorkerReport:
    settings = context.settings
    log_dir = Path(settings.log_dir)
    cron_log = log_dir / CRON_LOG
    size = cron_log.stat().st_size if cron_log.exists() else 0
    extras: dict = {"rotated": False, "archive": None, "cron_log_bytes": size}
    try:
        if size >= settings.cron_log_max_size:
            extras.update(rotated=True, archive=rotate(log_dir, size), cron_log_bytes=0)
        else:
            logger.info(
                f"{CRON_LOG} is {kinds.format_bytes(size)}, below CRON_LOG_MAX_SIZE: nothing to rotate"
            )
        extras["archives_kept"], extras["archives_removed"] = prune_archives(
            log_dir, settings.max_cron_log_archives
        )
    except OSError as error:
        message = f"cannot rotate {cron_log}: {error.strerror or error}"
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), extras, message)
    return WorkerReport(outcome_for(Status.OK), extras)
