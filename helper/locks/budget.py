"""One wait budget per run, shared by every lock the run waits for (seed 000: cumulative).

The budget is a wall clock that runs while the run is held up by a lock and stops while it
works: sleeping, polling the lock listing, inspecting, clearing stale locks and every restic
attempt that ends in a lock conflict (restic's own `--retry-lock` wait included) all count.
A backup's own work between its wait for the run lock and its inline forget's wait does not.
"""

from dataclasses import dataclass

from helper.clock import SYSTEM, Clock


@dataclass
class WaitBudget:
    """Seconds a run may spend waiting for locks, across the run lock and restic's."""

    total: float
    clock: Clock = SYSTEM  # its monotonic time measures the waits
    finished_waits: float = 0.0  # seconds of the waits already over
    waiting_since: float | None = None  # when the current wait began (a `clock.monotonic()` reading)

    @property
    def spent(self) -> float:
        current = 0.0 if self.waiting_since is None else self.clock.monotonic() - self.waiting_since
        return self.finished_waits + max(0.0, current)

    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)

    def deadline(self) -> float:
        """The `clock.monotonic()` reading at which the budget runs out if the run keeps waiting."""
        return self.clock.monotonic() + self.remaining()

    def start(self, since: float | None = None) -> None:
        """Start the clock, from `since` when the wait began earlier (a failed attempt). A run
        given no lock wait never waits, and its lock_wait_seconds stay 0."""
        if self.waiting_since is None and self.total > 0:
            self.waiting_since = self.clock.monotonic() if since is None else since

    def stop(self) -> None:
        if self.waiting_since is not None:
            self.finished_waits += max(0.0, self.clock.monotonic() - self.waiting_since)
            self.waiting_since = None
