"""A run that never started because its previous run is still active: one line on the console
and one more in the job's `skipped_runs` counter. The envelope (a busy run lock), `locked_run`
and the scheduler (a tick while the job's worker still runs) all record skips here.
`last-<job>.json` is left alone: it describes the last run that ran."""

import sys
from collections.abc import Callable

from helper import events
from helper.clock import SYSTEM
from helper.locks.run_lock import Busy
from helper.outcome import EXIT_OK
from helper.report import metrics
from helper.settings import Settings


def record(job: str, line: str, settings: Settings, say: Callable[[str], None]) -> None:
    """Say the line (`say` masks it), then count the skip; a counter that cannot be written is
    a warning, never a reason to stop the scheduler or change the exit code."""
    say(line)
    events.open_sink(settings.log_dir, settings.masker, settings.hostname)
    events.emit("skipped", job, reason="previous run still active")
    try:
        metrics.count_skip(job, settings)
    except Exception as error:  # noqa: BLE001 - a reporter never changes the outcome
        say(f"⚠️ metrics reporter failed: {error}")


def busy_run_lock(job: str, busy: Busy, settings: Settings) -> int:
    """The run lock is held and no wait was asked: say so on stdout and count it; exit 0."""
    stamp = SYSTEM.now().astimezone().strftime("%Y-%m-%d %a %H:%M:%S")
    # The words up to the closing parenthesis are the shell image's, which log alerts match.
    holder = (
        f"; held by pid {busy.holder['pid']} ({busy.holder.get('job')})" if busy.holder.get("pid") else ""
    )

    def say(text: str) -> None:
        sys.stdout.write(settings.masker.mask(text) + "\n")
        sys.stdout.flush()

    record(
        job, f"[{stamp}] ⏭ {job} skipped: previous run still active (lock {busy.path}){holder}", settings, say
    )
    return EXIT_OK
