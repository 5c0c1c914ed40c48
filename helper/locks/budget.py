"""One wait budget per run, shared by every lock the run waits for (seed 000: cumulative)."""

from dataclasses import dataclass


@dataclass
class WaitBudget:
    """Seconds a run may still spend waiting for locks, across the run lock and restic's."""

    total: float
    spent: float = 0.0

    def remaining(self) -> float:
        return max(0.0, self.total - self.spent)

    def charge(self, seconds: float) -> None:
        self.spent += max(0.0, seconds)
