"""User hooks: `$HOOKS_DIR/pre-<job>.sh` and `post-<job>.sh <exit_code>`.

Context reaches a hook through environment variables, never by splicing values into a
shell string. HOOK_TIMEOUT kills the hook's whole process group, and a stop signal to the
helper reaches that group as SIGTERM.
"""

import contextlib
import logging
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from helper import output
from helper.clock import SYSTEM
from helper.outcome import EXIT_CANNOT_EXECUTE, EXIT_OK, EXIT_TIMED_OUT
from helper.output import LineReader
from helper.stop import TOKEN, StopToken, terminate_group

logger = logging.getLogger(__name__)

# borgmatic's soft-failure convention: a pre-hook exiting 75 (EX_TEMPFAIL) skips the run.
EXIT_SKIP_RUN = 75


def hook_path(hooks_dir: str, phase: str, job: str) -> Path:
    return Path(hooks_dir) / f"{phase}-{job}.sh"


def _kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_hook(
    path: Path,
    context: Mapping[str, str],
    arguments: tuple[str, ...] = (),
    timeout_seconds: int = 0,
    after_the_run: bool = False,
    stop: StopToken = TOKEN,
) -> int | None:
    """Run one hook with its output in the run log. Return its exit code, or None if absent.
    A stop signal ends the hook, except a post-hook (after_the_run) started after the signal:
    that one reports the stop, so it runs to its end."""
    if not path.exists():
        return None
    if not os.access(path, os.X_OK):
        logger.error("hook %s is not executable (chmod +x it); skipped", path)
        return EXIT_CANNOT_EXECUTE
    logger.info("🪝 running hook %s", path.name)
    exempt_from_stop = after_the_run and stop.stopped()
    try:
        process = subprocess.Popen(
            [str(path), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **context},
            start_new_session=True,
        )
    except OSError as error:
        logger.error("hook %s could not start: %s", path, error.strerror)
        return EXIT_CANNOT_EXECUTE
    with stop.registered(process.pid, terminate_group, exempt_from_stop):
        return _wait_for(process, path, timeout_seconds)


def _wait_for(process: subprocess.Popen, path: Path, timeout_seconds: int) -> int:
    """Relay the hook's output until it exits or runs out of time; return its exit code."""
    reader = LineReader(process.stdout, lambda line: logger.info("[%s] %s", path.stem, line))
    timed_out: list[bool] = []

    def give_up() -> None:
        timed_out.append(True)
        _kill_group(process)

    timers = [(SYSTEM.monotonic() + timeout_seconds, give_up)] if timeout_seconds else []
    left_open = output.follow(process, [reader], timers)
    exit_code = output.wait(process, timers)
    if timed_out:
        logger.error("hook %s timed out after %ss; its process group was killed", path.name, timeout_seconds)
        return EXIT_TIMED_OUT
    if left_open:
        logger.warning(
            "hook %s left a background process holding its output open; not waiting for it", path.name
        )
    if exit_code != EXIT_OK:
        logger.warning("hook %s exited %s", path.name, exit_code)
    return exit_code
