"""Writes that other processes read: a unique temp file, then an atomic rename."""

import os
import time
from pathlib import Path


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with `text` so readers see the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique to this process and moment, and O_EXCL makes sure it is ours. (tempfile would do
    # the same, but costs every run several milliseconds of imports.)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
