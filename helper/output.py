"""The one reader of a child's output, for restic, hooks and the scheduler's workers: lines as
they come, read without blocking from any number of pipes in one select loop.

One rule for a child that leaves a process behind holding its pipe (a RESTIC_BIN wrapper, a
hook's `&`): once the child has exited, its pipes are read for GRACE_SECONDS more, then given
up. A pipe is always read while its child runs, since a full pipe would block the child (and
a closed one kills restic with SIGPIPE, leaving its lock behind).
"""

import os
import select
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from helper.clock import SYSTEM

GRACE_SECONDS = 1.0
# A line longer than this is passed on in pieces rather than held in memory.
LONGEST_LINE = 64 * 1024
CHUNK_BYTES = 65536
# The longest the loop sleeps before it looks at the child and the timers again.
SLICE_SECONDS = 0.2
Timer = tuple[float, Callable[[], None]]  # (SYSTEM.monotonic() reading, what to do then)


def decode(line: bytes) -> str:
    """Undecodable bytes (a Latin-1 file name) survive as surrogates; the masker spells them \\xNN."""
    return line.decode("utf-8", "surrogateescape")


@dataclass
class LineReader:
    """One pipe, split into lines (without their newline) as its bytes arrive."""

    stream: BinaryIO
    on_line: Callable[[str], None]
    pending: bytes = b""
    open: bool = True

    def __post_init__(self) -> None:
        os.set_blocking(self.stream.fileno(), False)

    def fileno(self) -> int:
        return self.stream.fileno()

    def read_available(self) -> None:
        """Pass on every complete line the pipe holds now; at its end, the rest, and close it."""
        while self.open:
            try:
                chunk = os.read(self.fileno(), CHUNK_BYTES)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                self.close()
                return
            self.pending += chunk
            *lines, self.pending = self.pending.split(b"\n")
            for line in lines:
                self.on_line(decode(line))
            if len(self.pending) > LONGEST_LINE:
                self.on_line(decode(self.pending))
                self.pending = b""

    def close(self) -> None:
        """Pass on an unfinished last line, and stop reading."""
        if self.pending:
            self.on_line(decode(self.pending))
            self.pending = b""
        self.open = False
        self.stream.close()


def follow(process: subprocess.Popen, readers: list[LineReader], timers: list[Timer] | None = None) -> bool:
    """Read `readers` until their pipes end, or until GRACE_SECONDS after `process` exited;
    run each timer once when it is due, and take it off the list. Return whether a pipe was
    still held open then, by a process the child left behind."""
    timers = timers if timers is not None else []
    timers.sort(key=lambda timer: timer[0])
    try:
        _pump(process, readers, timers)
    except BaseException:
        # Whatever went wrong, the child is never left blocked on a pipe nobody reads.
        for reader in readers:
            reader.on_line = _ignore
        _pump(process, readers, [])
        raise
    left_open = [reader for reader in readers if reader.open]
    for reader in left_open:
        reader.close()
    return bool(left_open)


def _pump(process: subprocess.Popen, readers: list[LineReader], timers: list[Timer]) -> None:
    exited_at = None
    while any(reader.open for reader in readers):
        now = SYSTEM.monotonic()
        while timers and timers[0][0] <= now:
            timers.pop(0)[1]()
        if exited_at is None and process.poll() is not None:
            exited_at = now
        if exited_at is not None and now - exited_at >= GRACE_SECONDS:
            return
        wait = min([SLICE_SECONDS, *(when - now for when, _action in timers[:1])])
        ready, _, _ = select.select([reader for reader in readers if reader.open], [], [], max(0.0, wait))
        for reader in ready:
            reader.read_available()


def wait(process: subprocess.Popen, timers: list[Timer]) -> int:
    """Wait for `process` to exit, running the timers due meanwhile (a SIGKILL after a SIGINT
    that was ignored, even one a stop adds while we wait); return its exit code."""
    while True:
        now = SYSTEM.monotonic()
        while timers and timers[0][0] <= now:
            timers.pop(0)[1]()
        wait = min([SLICE_SECONDS, *(when - now for when, _action in timers[:1])])
        try:
            return process.wait(max(0.0, wait))
        except subprocess.TimeoutExpired:
            continue


def _ignore(_line: str) -> None:
    """Lines read only so the pipe never fills."""
