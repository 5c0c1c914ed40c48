import os
import signal
import sys

if os.getpid() == 1:
    # The kernel drops a signal that PID 1 has no handler for: a `docker stop` during start-up
    # would be lost, and the engine would kill whatever the container runs once the grace
    # period ends. Noted here, the stop ends the run, or the scheduler, as soon as it can.
    from helper.stop import TOKEN

    TOKEN.install()

from helper.cli import main
from helper.outcome import EXIT_FAILED, EXIT_INTERRUPTED


def internal_error(error: Exception) -> int:
    """No traceback reaches a user: one line naming the error and where it was raised."""
    import traceback  # only this rare path needs it

    frame = traceback.extract_tb(error.__traceback__)[-1]
    line = f"restic-helper: internal error: {error!r} (at {frame.filename}:{frame.lineno}); please report it"
    sys.stderr.write(masked(line) + "\n")
    return EXIT_FAILED


def masked(text: str) -> str:
    """The error may quote a secret; mask it if the settings can still be read."""
    try:
        from helper import settings

        return settings.load()[0].masker.mask(text)
    except Exception:  # noqa: BLE001 - a second failure must not hide the first
        return text


def leave(exit_code: int) -> None:
    """Exit with the code the run decided. A stop signal from here on has nothing left to stop,
    and Python's shutdown gives SIGINT and SIGTERM their default action back: the scheduler's
    stop would turn a run reported `ok` into a process killed by the signal."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    sys.exit(exit_code)


try:
    exit_code = main(sys.argv[1:])
except KeyboardInterrupt:
    exit_code = EXIT_INTERRUPTED
except Exception as error:  # noqa: BLE001 - the last resort, after every command's own handling
    exit_code = internal_error(error)
leave(exit_code)
