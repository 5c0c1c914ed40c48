"""Reporters: each takes the one RunResult and writes one sink. The envelope calls them in
this order, each isolated, so a failing one only logs a warning."""

import importlib
import threading

from helper.report import logfiles, mail, metrics, state, webhook
from helper.settings import Settings

REPORTERS = (state, metrics, mail, webhook, logfiles)
# Python hands a module still being imported by another thread over half-loaded ("cannot import
# name ... from partially initialized module"), so nothing imports these libraries in the main
# thread before wait_for_preload().
_preload: threading.Thread | None = None


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
    global _preload  # one run, one preload
    if names:
        _preload = threading.Thread(target=_import_quietly, args=(names,), name="preload", daemon=True)
        _preload.start()


def wait_for_preload() -> None:
    """Return once the background imports are done; call it before importing their libraries."""
    if _preload is not None:
        _preload.join()


def _import_quietly(names: list[str]) -> None:
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - the reporter meets the same error and reports it
            continue
