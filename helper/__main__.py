import sys

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


try:
    sys.exit(main(sys.argv[1:]))
except KeyboardInterrupt:
    sys.exit(EXIT_INTERRUPTED)
except Exception as error:  # noqa: BLE001 - the last resort, after every command's own handling
    sys.exit(internal_error(error))
