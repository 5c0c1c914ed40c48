"""Signals as data: handlers only note a signal, and the loop reads the signal numbers from
a self-pipe, so it sleeps in one select() that a signal or a child's output ends at once."""

import contextlib
import os
import select
import signal
from collections.abc import Iterable


def _noted(signum: int, frame: object) -> None:
    """The wakeup fd already carries the signal number; the loop acts on it, not the handler."""


class SignalPipe:
    """A non-blocking pipe that Python's C-level handler writes each caught signal number into."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.write_end, warn_on_full_buffer=False)

    def catch(self, signals: Iterable[int]) -> None:
        """Note these signals (and nothing more) from now on."""
        for signum in signals:
            signal.signal(signum, _noted)

    def wait(self, timeout: float | None, readers: Iterable[int] = ()) -> tuple[list[int], list[int]]:
        """Sleep until a signal, readable output from `readers`, or `timeout` seconds (None: no
        limit). Return (signal numbers received, readable descriptors)."""
        watched = [self.read_end, *readers]
        ready, _, _ = select.select(watched, [], [], None if timeout is None else max(0.0, timeout))
        received: list[int] = []
        if self.read_end in ready:
            with contextlib.suppress(BlockingIOError):
                received = list(os.read(self.read_end, 512))
        return received, [descriptor for descriptor in ready if descriptor != self.read_end]

    def sleep(self, seconds: float) -> list[int]:
        """Sleep up to `seconds`; return early with the signals that arrived."""
        return self.wait(seconds)[0]
