"""A fake `helper.clock.Clock` for tests that wait: its sleep advances the time at once, so an
hour-long lock wait runs in milliseconds and every reading is exact."""

from datetime import UTC, datetime

from helper.clock import Clock

# Some epoch in 2024: sightings dated by it look like real ones.
EPOCH = 1_714_564_800.0
# A monotonic origin unlike the epoch, so code that mixes the two readings shows up.
MONOTONIC_ORIGIN = 1_000.0


class FakeClock:
    """Time stands still until something sleeps; `elapsed` is the fake seconds since creation."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps = 0
        self.clock = Clock(now=self.now, time=self.time, monotonic=self.monotonic, sleep=self.sleep)

    def monotonic(self) -> float:
        return MONOTONIC_ORIGIN + self.elapsed

    def time(self) -> float:
        return EPOCH + self.elapsed

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.time(), UTC)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"slept {seconds}s"
        self.sleeps += 1
        # Kept to whole microseconds, so poll times come out exact; and at least one, as a real
        # sleep always lets time pass: a wait that sleeps a float remainder cannot spin for ever.
        self.elapsed = round(self.elapsed + max(seconds, 1e-6), 6)

    def advance(self, seconds: float) -> None:
        """Let time pass without a sleep, as work does."""
        self.elapsed = round(self.elapsed + seconds, 6)
