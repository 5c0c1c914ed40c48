"""Reporters: each takes the one RunResult and writes one sink. The envelope calls them in
this order, each isolated, so a failing one only logs a warning."""

import importlib
import threading

from helper.report import logfiles, mail, metrics, state, webhook
from helper.settings import Settings

REPORTERS = (state, metrics, mail, webhook, logfiles)


def preload_libraries(settings: Settings) -> None:
    """Import, in the background, the libraries this run's reporters will need, so that their
    import cost (prometheus-client alone is about 80 ms in the image) overlaps restic's run
    instead of adding to it. The main thread mostly waits on restic's pipes meanwhile."""
    names = [
        name
        for reporter in REPORTERS
        if hasattr(reporter, "libraries")
        for name in reporter.libraries(settings)
    ]
    if names:
        threading.Thread(target=_import_quietly, args=(names,), name="preload", daemon=True).start()


def _import_quietly(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the reporter meets the same error and reports it
            continue
