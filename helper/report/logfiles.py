"""The per-run log is written as the run goes (RunLog); on failure it is copied to
`<job>-error-last.log`, which so always holds the last failed run."""

import shutil
from pathlib import Path

from helper.logs import RunLog
from helper.result import RunResult
from helper.settings import Settings


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    # A log that could not be written whole (disk full) is not copied over the last good one.
    file = run_log.file
    if not result.failed or file is None or not file.intact:
        return
    file.close()
    if not file.intact:  # its last lines could not be flushed
        return
    shutil.copyfile(file.path, Path(settings.log_dir) / f"{result.job}-error-last.log")
