"""A run that never started because its previous run is still active: one line in the log and
one more in the job's `skipped_runs` counter. The envelope (a busy run lock) and the scheduler
(a tick while the job's worker still runs) both record skips here. `last-<job>.json` is left
alone: it describes the last run that ran."""

from collections.abc import Callable

from helper.report import metrics
from helper.settings import Settings


def record(job: str, line: str, settings: Settings, say: Callable[[str], None]) -> None:
    """Say the line (`say` masks it), then count the skip; a counter that cannot be written is
    a warning, never a reason to stop the scheduler or change the exit code."""
    say(line)
    try:
        metrics.count_skip(job, settings)
    except Exception as error:  # noqa: BLE001 - a reporter never changes the outcome
        say(f"⚠️ metrics reporter failed: {error}")
