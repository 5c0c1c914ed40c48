"""Removing stale repository locks, guarded by the helper's verdict.

Plain `restic unlock` runs only when everything restic would remove is stale by the
verdict and its SIGHUP probe can reach no live process other than restic; the inspection
is repeated right before, since locks come and go. Stale locks it leaves (another host's
lock proven by observation, a PID now owned by another program) are removed by id where
the backend is reachable. `--remove-all` never happens here. After a removal,
restic_locks.prom is written again from the locks that remain, so it never shows a removed lock;
the caller gets the same remaining locks, so it need not inspect the repository again.
"""

import dataclasses
from dataclasses import dataclass

from helper.locks import lock_metrics
from helper.locks.backend import LocalStore, RestStore
from helper.locks.inspect import Inspection, Inspector
from helper.locks.plan import RemovalPlan, plan_removal
from helper.locks.repository import list_lock_ids
from helper.runlog import RunLog


@dataclass(frozen=True)
class Clearance:
    eligible: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    refusals: tuple[str, ...] = ()
    left: tuple[str, ...] = ()  # eligible locks still there, with the reasons in `problems`
    problems: tuple[str, ...] = ()
    ran_unlock: bool = False
    remaining: Inspection | None = None  # the last inspection without the locks removed

    def explanation(self) -> str:
        """Why eligible locks are still there, in one sentence (empty when none are)."""
        if not self.left:
            return ""
        reasons = list(self.refusals) + list(self.problems)
        if not reasons:
            reasons = ["restic does not consider them stale yet, and this backend cannot be reached directly"]
        return f"{len(self.left)} stale lock(s) not removed: " + "; ".join(reasons)


def _plan(inspection: Inspection, minimum_age: float, direct: bool, unlock_when_safe: bool) -> RemovalPlan:
    return plan_removal(
        inspection.locks, inspection.at, inspection.hostname, minimum_age, direct, unlock_when_safe
    )


def _present(inspector: Inspector, store) -> set[str] | None:
    ids = store.list_ids() if store is not None else None
    if ids is None:
        listed, _ = list_lock_ids(inspector.restic)
        ids = None if listed is None else set(listed)
    return ids


def _restic_unlock(inspector: Inspector, store, log: RunLog, plan: RemovalPlan, before: set[str]) -> set[str]:
    removes = ", ".join(lock_id[:8] for lock_id in plan.restic_removes) or "nothing"
    log.info(f"🔓 restic unlock: every lock it would remove is stale ({removes})")
    inspector.restic.run("unlock")
    after = _present(inspector, store)
    # A lock that went away on its own meanwhile was released, not removed.
    return set() if after is None else (before - after) & set(plan.restic_removes)


def _remove_by_id(store, lock_ids: list[str]) -> tuple[set[str], list[str]]:
    """Remove each lock file by id; return the ids removed and the problems met."""
    removed, problems = set(), []
    for lock_id in lock_ids:
        problem = store.remove(lock_id)
        if problem:
            problems.append(f"removing {lock_id[:8]} from the {store.kind} backend failed: {problem}")
        else:
            removed.add(lock_id)
    return removed, problems


def _log_removed(log: RunLog, inspection: Inspection, removed: set[str]) -> None:
    for lock in inspection.locks:
        record = lock.record
        if record.lock_id in removed:
            log.info(
                f"🔓 removed stale lock {record.lock_id[:8]} of pid {record.pid} on "
                f"{record.hostname or '-'}: {lock.verdict.reason}"
            )


def _without(inspection: Inspection, removed: set[str]) -> Inspection:
    kept = tuple(lock for lock in inspection.locks if lock.record.lock_id not in removed)
    return dataclasses.replace(inspection, locks=kept)


def clear(
    inspector: Inspector,
    store: LocalStore | RestStore | None,
    log: RunLog,
    inspection: Inspection,
    minimum_age: float = 0.0,
    unlock_when_safe: bool = False,
) -> Clearance:
    """Given a fresh inspection, remove the stale locks at least `minimum_age` old; say what happened."""
    plan = _plan(inspection, minimum_age, store is not None, unlock_when_safe)
    if not plan.eligible and not plan.restic_unlock:
        return Clearance(refusals=plan.refusals, remaining=inspection)
    removed: set[str] = set()
    methods: list[str] = []
    if plan.restic_unlock:
        fresh, _ = inspector.inspect()
        if fresh is not None:
            inspection = fresh
            plan = _plan(fresh, minimum_age, store is not None, unlock_when_safe)
        if fresh is not None and plan.restic_unlock:
            removed |= _restic_unlock(inspector, store, log, plan, fresh.ids)
            methods.append("restic unlock")
    problems: list[str] = []
    # Whatever restic unlock left (or did not get to run for), where the backend allows it.
    rest = [lock_id for lock_id in plan.eligible if lock_id not in removed]
    if store is not None and rest:
        by_id, problems = _remove_by_id(store, rest)
        removed |= by_id
        methods += [f"by id ({store.kind})"] if by_id else []
    _log_removed(log, inspection, removed)
    remaining = _without(inspection, removed)
    if removed:
        # Every inspection wrote the gauges; only a removal makes them out of date.
        settings = inspector.settings
        lock_metrics.write(remaining, settings.metrics_dir, settings.hostname, log)
    return Clearance(
        eligible=plan.eligible,
        removed=tuple(sorted(removed)),
        methods=tuple(methods),
        refusals=plan.refusals,
        left=tuple(lock_id for lock_id in plan.eligible if lock_id not in removed),
        problems=tuple(problems),
        ran_unlock="restic unlock" in methods,
        remaining=remaining,
    )
