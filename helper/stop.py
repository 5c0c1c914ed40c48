"""The process's one stop token: a SIGTERM or SIGINT to the helper sets it, and every child the
run started (restic, a hook, the start-up probe's restic) is told to stop the way it needs.

The envelope and the scheduler install it. Whoever starts a child registers the child's
process group with the way to stop it: restic gets SIGINT, as a terminal's Ctrl-C, so that it
removes its own lock; a hook's group gets SIGTERM. Code that waits (the run lock, a lock
wait, the probe's pauses) asks `stopped()` and ends early.
"""

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator

StopAction = Callable[[int], None]


class StopToken:
    """Remembers that a stop was asked for, and tells the registered process groups."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._groups: dict[int, StopAction] = {}
        # Why the stop came: the run's own deadline (a job's *_TIMEOUT) rather than a signal.
        self.timed_out = False
        self.signal: int | None = None  # the stop signal that came first

    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self, signum: int = signal.SIGTERM, _frame: object = None) -> None:
        """Signal handler: remember the stop and pass it to every registered group."""
        if self.signal is None:
            self.signal = signum
        self._stopped.set()
        for group, action in list(self._groups.items()):
            action(group)

    def expire(self) -> None:
        """The run's deadline passed: stop exactly as a signal would, remembering why."""
        self.timed_out = True
        self.stop()

    @contextlib.contextmanager
    def deadline(self, seconds: float) -> Iterator[None]:
        """While the block runs, expire after `seconds` (0: never). A SIGALRM rather than a
        thread: the stop then reaches the children from the main thread, as a signal's does."""
        if seconds <= 0:
            yield
            return
        previous = signal.signal(signal.SIGALRM, lambda _signum, _frame: self.expire())
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def install(self) -> None:
        """Make SIGTERM and SIGINT stop this process's children instead of the process."""
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self.stop)

    @contextlib.contextmanager
    def registered(self, group: int, action: StopAction, exempt: bool = False) -> Iterator[None]:
        """While the block runs, a stop also reaches `group` through `action`. A stop that came
        before the block reaches it at once, unless `exempt` (a post-hook started after the
        stop, which reports it, runs to its end)."""
        self._groups[group] = action
        try:
            if self.stopped() and not exempt:
                action(group)
            yield
        finally:
            self._groups.pop(group, None)


def terminate_group(group: int) -> None:
    """SIGTERM a whole process group, if it is still there."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGTERM)


# One per process: signal handlers are process-wide, and so is the stop they record.
TOKEN = StopToken()
