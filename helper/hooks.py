"""User hooks: `$HOOKS_DIR/pre-<job>.sh` and `post-<job>.sh <exit_code>`.

Context reaches a hook through environment variables, never by splicing values into a
shell string. HOOK_TIMEOUT kills the hook's whole process group.
"""

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from helper.runlog import RunLog

# Exit code of a hook that ran out of time, as GNU timeout reports it.
EXIT_TIMED_OUT = 124
EXIT_NOT_EXECUTABLE = 126
# borgmatic's soft-failure convention: a pre-hook exiting 75 (EX_TEMPFAIL) skips the run.
EXIT_SKIP_RUN = 75


def hook_path(hooks_dir: str, phase: str, job: str) -> Path:
    return Path(hooks_dir) / f"{phase}-{job}.sh"


def _kill_group(process: subprocess.Popen, timed_out: threading.Event) -> None:
    timed_out.set()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_hook(
    path: Path,
    log: RunLog,
    context: Mapping[str, str],
    arguments: tuple[str, ...] = (),
    timeout_seconds: int = 0,
) -> int | None:
    """Run one hook with its output in the run log. Return its exit code, or None if absent."""
    if not path.exists():
        return None
    if not os.access(path, os.X_OK):
        log.error(f"hook {path} is not executable (chmod +x it); skipped")
        return EXIT_NOT_EXECUTABLE
    log.info(f"🪝 running hook {path.name}")
    try:
        process = subprocess.Popen(
            [str(path), *arguments],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, **context},
            start_new_session=True,
            text=True,
            errors="replace",
        )
    except OSError as error:
        log.error(f"hook {path} could not start: {error.strerror}")
        return EXIT_NOT_EXECUTABLE
    timed_out = threading.Event()
    timer = threading.Timer(timeout_seconds, _kill_group, (process, timed_out))
    if timeout_seconds > 0:
        timer.start()
    for line in process.stdout:
        log.line(f"[{path.stem}] {line}")
    exit_code = process.wait()
    timer.cancel()
    if timed_out.is_set():
        log.error(f"hook {path.name} timed out after {timeout_seconds}s; its process group was killed")
        return EXIT_TIMED_OUT
    if exit_code != 0:
        log.warning(f"hook {path.name} exited {exit_code}")
    return exit_code
