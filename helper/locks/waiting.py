"""Waiting for a repository lock to go away, without hammering the backend.

restic's own `--retry-lock` backs off to 60 s steps, so a release is noticed up to a minute
late. Instead the helper watches the lock listing: once a second where it reaches the
backend itself (no key derivation needed), every 3 s through `restic list locks` (which
takes no lock, but costs a key derivation) elsewhere. After the first minute of a wait it
polls less often, up to five times slower, so an hour-long wait costs a few hundred listings
instead of over a thousand. It wakes as soon as the lock restic named is gone, and otherwise
every RESTIC_LOCK_RETRY_AFTER. The caller keeps the run's wait budget running meanwhile.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from helper.clock import SYSTEM, Clock
from helper.locks import observations
from helper.locks.access import Blocker
from helper.locks.budget import WaitBudget

POLL_DIRECT_SECONDS = 1.0
POLL_RESTIC_SECONDS = 3.0
# A release is most likely early (a backup finishing); later, the listing is asked less often.
BACKOFF_AFTER_SECONDS = 60.0
BACKOFF_LIMIT = 5.0
# Sleeps are cut into slices so a SIGTERM is noticed quickly.
SLICE_SECONDS = 0.2


class Wake(StrEnum):
    RELEASED = "released"  # the blocking lock is gone: retry now
    RETRY = "retry"  # RESTIC_LOCK_RETRY_AFTER passed: retry anyway
    PROVABLE = "provable"  # the blocking lock stood unchanged for the observation window
    BUDGET = "budget"  # the lock wait budget is spent
    INTERRUPTED = "interrupted"


@dataclass
class Watch:
    """What one wait needs: how to list lock ids, and where to remember sightings."""

    list_ids: Callable[[], set[str] | None]
    poll_seconds: float
    lock_dir: str
    repository: str
    window: float
    stopped: Callable[[], bool]  # the run's stop token: a stop signal ends the wait
    # Its time() dates sightings, which outlive the run; monotonic() and sleep() pace the wait.
    clock: Clock = SYSTEM
    proven: set[str] = field(default_factory=set)  # blockers already reported as provable
    since: float | None = None  # when the current lock wait began (clock.monotonic); default: now

    def __post_init__(self) -> None:
        if self.since is None:
            self.since = self.clock.monotonic()

    def note(self, ids: set[str]) -> observations.Observations:
        """Record a listing in the sightings, which outlive this run; return them."""
        seen = observations.load(self.lock_dir, self.repository)
        now = self.clock.time()
        observations.note_ids(seen, ids, now)
        observations.save(seen)
        return seen


def poll_interval(base: float, waited: float) -> float:
    """Seconds between two listings, `waited` seconds into a lock wait: `base` for the first
    minute, then growing with the wait, up to BACKOFF_LIMIT times `base`."""
    return base * min(BACKOFF_LIMIT, max(1.0, waited / BACKOFF_AFTER_SECONDS))


def next_poll_at(watch: Watch, now: float, retry_after: float) -> float:
    return now + min(poll_interval(watch.poll_seconds, now - watch.since), retry_after)


def released(blocker: Blocker | None, baseline: set[str] | None, ids: set[str]) -> bool:
    """Whether the lock that blocked us is gone (or, when restic named none, any lock went away)."""
    if blocker is not None and blocker.id_prefix:
        return not any(lock_id.startswith(blocker.id_prefix) for lock_id in ids)
    return baseline is not None and bool(baseline - ids)


def provable(watch: Watch, blocker: Blocker | None, ids: set[str], seen: observations.Observations) -> bool:
    """Whether the blocking lock has stood unchanged for the observation window (once per lock)."""
    if blocker is None or not blocker.id_prefix:
        return False
    lock_id = next((lock_id for lock_id in ids if lock_id.startswith(blocker.id_prefix)), None)
    if lock_id is None or lock_id in watch.proven:
        return False
    first_seen = seen.entries.get(lock_id, {}).get("first_seen")
    if first_seen is None or watch.clock.time() - first_seen < watch.window:
        return False
    watch.proven.add(lock_id)
    return True


def wait_for_release(
    watch: Watch, blocker: Blocker | None, budget: WaitBudget, retry_after: float, force_inactive: bool
) -> Wake:
    """Wait until the blocking lock goes, RESTIC_LOCK_RETRY_AFTER passes or the budget is spent."""
    clock = watch.clock
    started = clock.monotonic()
    deadline = started + budget.remaining()
    retry_at = started + retry_after
    next_poll = next_poll_at(watch, started, retry_after)
    baseline = None
    while True:
        now = clock.monotonic()
        if watch.stopped():
            return Wake.INTERRUPTED
        if now >= deadline:
            return Wake.BUDGET
        if now >= retry_at:
            return Wake.RETRY
        if now >= next_poll:
            ids = watch.list_ids()
            next_poll = next_poll_at(watch, clock.monotonic(), retry_after)
            if ids is not None:
                seen = watch.note(ids)
                if released(blocker, baseline, ids):
                    return Wake.RELEASED
                if force_inactive and provable(watch, blocker, ids, seen):
                    return Wake.PROVABLE
                baseline = ids if baseline is None else baseline
            continue
        clock.sleep(max(0.0, min(SLICE_SECONDS, next_poll - now, deadline - now, retry_at - now)))
