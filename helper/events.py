"""`$LOG_DIR/events.jsonl`: one JSON line per thing that happened, for people and `jq`: a run
started, finished, was skipped, met a lock or waited for one, a stale lock removed, the
scheduler started, stopped, or missed a tick. It is the audit log of every lock removal and
every skipped run, which the per-run files overwrite.

Like logging, a process opens the sink once (`open_sink`, by the envelope and the scheduler)
and any layer emits to it; with no sink, `emit` does nothing. Each line is one `write` on an
O_APPEND descriptor, so the scheduler and its workers append side by side without tearing a
line. The file is rotated once it reaches EVENTS_MAX_BYTES: renamed to events.jsonl.1,
replacing the older one.
"""

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helper.masking import Masker

FILE_NAME = "events.jsonl"
EVENTS_MAX_BYTES = 1_048_576
KINDS = frozenset(
    {
        *("started", "finished", "skipped", "locked", "lock_wait", "lock_removed"),
        *("interrupted", "timeout", "config_error", "killed"),
        *("scheduler_started", "scheduler_stopping", "missed", "catch_up"),
    }
)


@dataclass
class Sink:
    path: Path
    masker: Masker
    hostname: str


SINK: list[Sink] = []


def open_sink(log_dir: str, masker: Masker, hostname: str) -> None:
    SINK[:] = [Sink(Path(log_dir) / FILE_NAME, masker, hostname)]


def emit(kind: str, job: str | None = None, **fields: object) -> None:
    """Append one event, masked; a failure to write never disturbs the caller."""
    if not SINK:
        return
    if kind not in KINDS:
        raise ValueError(f"unknown event {kind!r}")
    sink = SINK[0]
    event = {"at": datetime.now().astimezone().isoformat(timespec="milliseconds"), "event": kind}
    event.update({"host": sink.hostname, "job": job, "pid": os.getpid(), **fields})
    line = json.dumps(sink.masker.mask_data(event), ensure_ascii=False, default=str) + "\n"
    try:
        rotate_if_full(sink.path)
        descriptor = os.open(sink.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o664)
        try:
            os.write(descriptor, line.encode())
        finally:
            os.close(descriptor)
    except OSError:
        pass  # an unwritable LOG_DIR is reported by the run's own files


def rotate_if_full(path: Path) -> None:
    try:
        if path.stat().st_size >= EVENTS_MAX_BYTES:
            os.replace(path, path.with_name(FILE_NAME + ".1"))
    except FileNotFoundError:
        pass
