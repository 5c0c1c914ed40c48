"""The per-run log is written as the run goes (RunLog); on failure it is copied to
`<job>-error-last.log`, which so always holds the last failed run."""

from pathlib import Path

from helper.result import RunResult
from helper.runlog import RunLog
from helper.settings import Settings


def report(result: RunResult, settings: Settings, log: RunLog) -> None:
    # A log that could not be written whole (disk full) is not copied over the last good one.
    if not result.failed or log.path is None or not log.intact:
        return
    import shutil  # only failed runs need it; a successful run starts faster without it

    log.close()
    if not log.intact:  # its last lines could not be flushed
        return
    shutil.copyfile(log.path, Path(settings.log_dir) / f"{result.job}-error-last.log")
