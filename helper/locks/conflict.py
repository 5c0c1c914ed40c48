"""What a run does once restic met a repository lock: wait for its release, remove locks the
helper proves stale when the settings allow it, and say which lock blocked the run."""

import dataclasses
import io
import time
from dataclasses import dataclass, field

from helper import restic as restic_module
from helper.locks import backend, clearance, waiting
from helper.locks.budget import WaitBudget
from helper.locks.inspect import Inspector, table
from helper.locks.repository import Blocker, blocker_from, list_lock_ids
from helper.locks.verdict import STALE
from helper.outcome import Outcome, Status
from helper.restic import Completed, Restic
from helper.runlog import RunLog
from helper.settings import Settings


class Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


def quiet(restic: Restic) -> Restic:
    """Return a runner whose polling calls stay out of the run log (it would fill with them)."""
    return Restic(restic.binary, restic.environment, RunLog(None, restic.log.masker, Discard()))


def make_watch(restic: Restic, settings: Settings) -> waiting.Watch:
    store = backend.open_store(settings.restic_repository, restic.environment)
    poller = quiet(restic)

    def list_ids() -> set[str] | None:
        ids = store.list_ids() if store is not None else None
        if ids is None:
            listed, _ = list_lock_ids(poller)
            ids = None if listed is None else set(listed)
        return ids

    poll = waiting.POLL_DIRECT_SECONDS if store is not None else waiting.POLL_RESTIC_SECONDS
    return waiting.Watch(
        list_ids, poll, settings.lock_dir, settings.restic_repository, settings.lock_observation_window
    )


@dataclass
class LockRetry:
    restic: Restic
    settings: Settings
    log: RunLog
    budget: WaitBudget
    watch: waiting.Watch
    shown: set[frozenset[str]] = field(default_factory=set)

    def clear_stale(self) -> bool:
        """LOCK_FORCE_INACTIVE: remove stale locks old enough; return whether any went."""
        inspector = Inspector(self.restic, self.settings)
        inspection, _ = inspector.inspect()
        if inspection is None:
            return False
        if frozenset(inspection.ids) not in self.shown:
            self.shown.add(frozenset(inspection.ids))
            for line in (*inspection.notes, *table(inspection)):
                self.log.info("   " + line)
        store = backend.open_store(self.settings.restic_repository, self.restic.environment)
        result = clearance.clear(inspector, store, self.log, inspection, self.settings.restic_stale_lock_age)
        if result.left:
            self.log.warning(result.explanation())
        return bool(result.removed)

    def verdict_on(self, blocker: Blocker | None) -> str:
        """Inspect the locks once more (which also refreshes restic_locks.prom); return the
        verdict on the lock that blocked this run, as words for its error."""
        inspection, _ = Inspector(self.restic, self.settings).inspect()
        if inspection is None or blocker is None or not blocker.id_prefix:
            return ""
        lock = next(
            (lock for lock in inspection.locks if lock.record.lock_id.startswith(blocker.id_prefix)), None
        )
        if lock is None:
            return ""
        verdict = lock.verdict
        self.log.info(f"🔒 the lock that blocked this run is {verdict.verdict}: {verdict.reason}")
        if verdict.verdict == STALE:
            self.log.info("   /bin/unlock removes it (or set LOCK_FORCE_INACTIVE=ON; see the Locks guide)")
        return f"; it is {verdict.verdict}: {verdict.reason}"

    def wait(self, blocker: Blocker | None, announced: set[str]) -> waiting.Wake:
        """Say once per blocking lock that the run waits, then wait for its release."""
        described = blocker.describe() if blocker else "another process"
        if described not in announced:
            announced.add(described)
            self.log.info(
                f"⏳ repository locked by {described}; waiting up to "
                f"{self.budget.remaining():.0f}s more (retrying as soon as it is released)"
            )
        settings = self.settings
        wake = waiting.wait_for_release(
            self.watch, blocker, self.budget, settings.restic_lock_retry_after, settings.lock_force_inactive
        )
        if wake is waiting.Wake.BUDGET:
            self.log.warning(
                f"lock wait budget of {self.budget.total:.0f}s spent; the repository is still locked"
            )
        return wake

    def attempt(self, arguments: tuple[str, ...]) -> Completed:
        """Run the call again; the budget's clock stops while it runs, and counts it after all
        when it met a lock once more."""
        self.budget.stop()
        began = self.budget.clock()
        completed = self.restic.run(*arguments)
        if completed.outcome.status is Status.LOCKED:
            self.budget.start(began)
        return completed

    def retry(self, arguments: tuple[str, ...], completed: Completed, began: float) -> Completed:
        """Given a call begun at `began` (a budget clock reading) that hit a lock, retry it while
        the settings and the budget allow. Everything from `began` to the start of the attempt
        that gets through is lock wait, the failed attempts and the inspections included."""
        self.budget.start(began)
        self.watch.since = time.monotonic()
        try:
            completed, blocker = self._retry(arguments, completed)
        finally:
            self.budget.stop()
        if completed.outcome.status is not Status.LOCKED:
            return completed
        # Saying which lock blocked the run is not waiting for it: off the budget.
        return annotate(completed, blocker, self.budget, self.verdict_on(blocker))

    def _retry(self, arguments: tuple[str, ...], completed: Completed) -> tuple[Completed, Blocker | None]:
        blocker = None
        announced: set[str] = set()
        while completed.outcome.status is Status.LOCKED and not restic_module.interrupted():
            blocker = blocker_from(completed) or blocker
            if self.settings.lock_force_inactive and self.clear_stale():
                self.log.info("🔁 retrying after removing stale locks")
                completed = self.attempt(arguments)
                continue
            if self.budget.remaining() <= 0:
                break
            wake = self.wait(blocker, announced)
            if wake is waiting.Wake.INTERRUPTED:
                outcome = Outcome(
                    Status.INTERRUPTED, 130, "interrupted while waiting for the repository lock"
                )
                return dataclasses.replace(completed, exit_code=130, outcome=outcome), blocker
            if wake is waiting.Wake.BUDGET:
                break
            if wake is not waiting.Wake.PROVABLE:
                completed = self.attempt(arguments)
        return completed, blocker


def annotate(
    completed: Completed, blocker: Blocker | None, budget: WaitBudget, verdict: str = ""
) -> Completed:
    """Name the blocking lock, its verdict and the wait in the hint, which becomes the run's error."""
    if completed.outcome.status is not Status.LOCKED or blocker is None:
        return completed
    waited = f" after waiting {budget.spent:.0f}s" if budget.spent else ""
    hint = f"{completed.outcome.hint} (held by {blocker.describe()}{waited}{verdict})"
    return dataclasses.replace(completed, outcome=dataclasses.replace(completed.outcome, hint=hint))


def clear_after_failure(context) -> None:
    """RESTIC_AUTO_UNLOCK after a failed run: remove the locks the helper proves stale."""
    log = context.log
    log.info("🔓 RESTIC_AUTO_UNLOCK=ON: removing repository locks the helper proves stale")
    inspector = Inspector(context.restic, context.settings)
    inspection, _ = inspector.inspect()
    if inspection is None:
        log.warning("RESTIC_AUTO_UNLOCK: the repository's locks cannot be listed; nothing removed")
        return
    store = backend.open_store(context.settings.restic_repository, context.restic.environment)
    result = clearance.clear(inspector, store, log, inspection, 0.0, unlock_when_safe=True)
    if result.refusals and not result.ran_unlock:
        log.warning("RESTIC_AUTO_UNLOCK: not running restic unlock: " + "; ".join(result.refusals))
    if result.left:
        log.warning(result.explanation())
