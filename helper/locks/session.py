"""A run's repository locks, as one session built once per run by the envelope.

    run(*arguments)        restic, retried while another process holds the lock and the
                           run's wait budget lasts (seed 000's restic lock management)
    inspect()              every lock with its verdict; the last one feeds the lock gauges
    clear_stale(...)       the one clearance sequence: inspect, plan, remove, say what stayed

Workers, RESTIC_AUTO_UNLOCK after a failure and /bin/unlock all clear through the same
`clear_stale`. No job is known here by name.
"""

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from helper.clock import SYSTEM, Clock
from helper.locks import clearance, waiting
from helper.locks.access import Blocker, LockSource, blocker_from
from helper.locks.budget import WaitBudget
from helper.locks.clearance import Clearance
from helper.locks.inspect import Inspection, Inspector, table
from helper.locks.verdict import STALE
from helper.outcome import Status, outcome_for
from helper.restic import Completed, Restic
from helper.settings import Settings

logger = logging.getLogger(__name__)


def lock_management_enabled(settings: Settings) -> bool:
    """Seed 000: either duration set to 0 turns restic lock management off."""
    return settings.restic_lock_retry_after > 0 and settings.restic_stale_lock_age > 0


@dataclass
class RepositoryLocks:
    restic: Restic
    settings: Settings
    budget: WaitBudget
    clock: Clock = SYSTEM  # paces the lock waits and dates the sightings
    last_inspection: Inspection | None = None
    # Other repositories the same restic calls lock (restic copy's source). restic does not say
    # which repository blocked it, so a wait watches the locks of all of them.
    also_watched: tuple[LockSource, ...] = ()
    # Lock sets whose table the log already shows: a long wait would repeat it every retry.
    _shown: set[frozenset[str]] = field(default_factory=set)

    @functools.cached_property
    def source(self) -> LockSource:
        return LockSource.open(self.restic, self.settings.restic_repository)

    def inspect(self) -> tuple[Inspection | None, Completed]:
        """Return the judged locks (None when restic cannot list them) and the listing call."""
        inspection, listing = Inspector(self.restic, self.settings, self.clock).inspect()
        self.last_inspection = inspection or self.last_inspection
        return inspection, listing

    def clear_stale(
        self, minimum_age: float, unlock_when_safe: bool = False, inspection: Inspection | None = None
    ) -> Clearance | None:
        """Remove the locks proven stale and at least `minimum_age` old, from `inspection` or a
        new one; log why any stale lock stayed. None when the locks cannot be listed."""
        if inspection is None:
            inspection, _ = self.inspect()
        if inspection is None:
            return None
        result = clearance.clear(self.source, self._inspect_again, inspection, minimum_age, unlock_when_safe)
        self.last_inspection = result.remaining
        if result.refusals and unlock_when_safe and not result.ran_unlock:
            logger.warning("not running restic unlock: " + "; ".join(result.refusals))
        if result.left:
            logger.warning(result.explanation())
        return result

    def _inspect_again(self) -> Inspection | None:
        return self.inspect()[0]

    def run(self, *arguments: str, **options: Any) -> Completed:
        """Run restic (with Restic.run's options); while another process holds the lock, wait
        and retry within the budget."""
        # A call that meets a lock counts as lock wait, from its start.
        began = self.budget.clock.monotonic()
        completed = self.restic.run(*arguments, **options)
        if completed.outcome.status is not Status.LOCKED or not lock_management_enabled(self.settings):
            return completed
        self.budget.start(began)
        self.watch.since = self.clock.monotonic()
        try:
            completed, blocker = self._retry(arguments, options, completed)
        finally:
            self.budget.stop()
        if completed.outcome.status is not Status.LOCKED:
            return completed
        # Saying which lock blocked the run is not waiting for it: off the budget.
        return annotate(completed, blocker, self.budget, self._verdict_on(blocker))

    @functools.cached_property
    def watch(self) -> waiting.Watch:
        """What the waits of this run share: how to list lock ids, and the locks already proven."""
        sources, settings = (self.source, *self.also_watched), self.settings
        direct = all(source.direct for source in sources)
        return waiting.Watch(
            functools.partial(every_id, sources),
            waiting.POLL_DIRECT_SECONDS if direct else waiting.POLL_RESTIC_SECONDS,
            settings.lock_dir,
            settings.restic_repository,
            settings.lock_observation_window,
            self.restic.stop.stopped,
            self.clock,
        )

    def _retry(
        self, arguments: tuple[str, ...], options: dict, completed: Completed
    ) -> tuple[Completed, Blocker | None]:
        blocker = None
        announced: set[str] = set()
        while completed.outcome.status is Status.LOCKED and not self.restic.stop.stopped():
            blocker = blocker_from(completed) or blocker
            if self.settings.lock_force_inactive and self._clear_for_retry():
                logger.info("🔁 retrying after removing stale locks")
                completed = self._attempt(arguments, options)
                continue
            if self.budget.remaining() <= 0:
                break
            wake = self._wait(blocker, announced)
            if wake is waiting.Wake.INTERRUPTED:
                outcome = outcome_for(Status.INTERRUPTED, "interrupted while waiting for the repository lock")
                return dataclasses.replace(completed, exit_code=outcome.exit_code, outcome=outcome), blocker
            if wake is waiting.Wake.BUDGET:
                break
            if wake is not waiting.Wake.PROVABLE:
                completed = self._attempt(arguments, options)
        return completed, blocker

    def _clear_for_retry(self) -> bool:
        """LOCK_FORCE_INACTIVE: remove stale locks old enough; return whether any went."""
        inspection, _ = self.inspect()
        if inspection is None:
            return False
        if frozenset(inspection.ids) not in self._shown:
            self._shown.add(frozenset(inspection.ids))
            for line in (*inspection.notes, *table(inspection)):
                logger.info("   " + line)
        result = self.clear_stale(self.settings.restic_stale_lock_age, inspection=inspection)
        return bool(result and result.removed)

    def _wait(self, blocker: Blocker | None, announced: set[str]) -> waiting.Wake:
        """Say once per blocking lock that the run waits, then wait for its release."""
        described = blocker.describe() if blocker else "another process"
        if described not in announced:
            announced.add(described)
            logger.info(
                f"⏳ repository locked by {described}; waiting up to "
                f"{self.budget.remaining():.0f}s more (retrying as soon as it is released)"
            )
        settings = self.settings
        wake = waiting.wait_for_release(
            self.watch, blocker, self.budget, settings.restic_lock_retry_after, settings.lock_force_inactive
        )
        if wake is waiting.Wake.BUDGET:
            logger.warning(
                f"lock wait budget of {self.budget.total:.0f}s spent; the repository is still locked"
            )
        return wake

    def _attempt(self, arguments: tuple[str, ...], options: dict) -> Completed:
        """Run the call again; the budget's clock stops while it runs, and counts it after all
        when it met a lock once more."""
        self.budget.stop()
        began = self.budget.clock.monotonic()
        completed = self.restic.run(*arguments, **options)
        if completed.outcome.status is Status.LOCKED:
            self.budget.start(began)
        return completed

    def _verdict_on(self, blocker: Blocker | None) -> str:
        """Inspect the locks once more; return the verdict on the lock that blocked this run, as
        words for its error."""
        inspection, _ = self.inspect()
        if inspection is None or blocker is None or not blocker.id_prefix:
            return ""
        lock = next(
            (lock for lock in inspection.locks if lock.record.lock_id.startswith(blocker.id_prefix)), None
        )
        if lock is None:
            return ""
        verdict = lock.verdict
        logger.info(f"🔒 the lock that blocked this run is {verdict.verdict}: {verdict.reason}")
        if verdict.verdict == STALE:
            logger.info("   /bin/unlock removes it (or set LOCK_FORCE_INACTIVE=ON; see the Locks guide)")
        return f"; it is {verdict.verdict}: {verdict.reason}"


def every_id(sources: tuple[LockSource, ...]) -> set[str] | None:
    """The lock ids of every repository, or None when one of them cannot be listed."""
    listings = [source.list_ids() for source in sources]
    return None if any(ids is None for ids in listings) else set().union(*listings)


def annotate(
    completed: Completed, blocker: Blocker | None, budget: WaitBudget, verdict: str = ""
) -> Completed:
    """Name the blocking lock, its verdict and the wait in the hint, which becomes the run's error."""
    if completed.outcome.status is not Status.LOCKED or blocker is None:
        return completed
    waited = f" after waiting {budget.spent:.0f}s" if budget.spent else ""
    hint = f"{completed.outcome.hint} (held by {blocker.describe()}{waited}{verdict})"
    return dataclasses.replace(completed, outcome=dataclasses.replace(completed.outcome, hint=hint))
