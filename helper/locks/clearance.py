"""Removing stale repository locks: this carries out the RemovalPlan that the pure rules in
helper.locks.verdict made, and derives nothing of its own.

Plain `restic unlock` runs only when the plan says it is safe; since locks come and go, the
locks are inspected once more right before it and planned afresh from that inspection. Then
the plan's eligible locks that restic left are removed by id where the backend allows it.
`--remove-all` never happens here. The caller gets the locks that remain, so it need not
inspect the repository again.
"""

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from helper import events
from helper.locks.inspect import Inspection
from helper.locks.verdict import RemovalPlan, plan_removal

logger = logging.getLogger(__name__)


class Source(Protocol):
    """What clearance needs of a repository's locks (helper.locks.access.LockSource)."""

    direct: bool
    kind: str

    def list_ids(self) -> set[str] | None: ...

    def remove(self, lock_id: str) -> str | None: ...

    def unlock(self) -> None: ...


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


def make_plan(
    inspection: Inspection, minimum_age: float, direct: bool, unlock_when_safe: bool
) -> RemovalPlan:
    return plan_removal(
        inspection.locks, inspection.at, inspection.hostname, minimum_age, direct, unlock_when_safe
    )


def _restic_unlock(source: Source, plan: RemovalPlan, before: set[str]) -> set[str]:
    """Run plain `restic unlock`; return the planned ids it removed."""
    removes = ", ".join(lock_id[:8] for lock_id in plan.restic_removes) or "nothing"
    logger.info(f"🔓 restic unlock: every lock it would remove is stale ({removes})")
    source.unlock()
    after = source.list_ids()
    # A lock that went away on its own meanwhile was released, not removed.
    return set() if after is None else (before - after) & set(plan.restic_removes)


def _remove_by_id(source: Source, lock_ids: list[str]) -> tuple[set[str], list[str]]:
    """Remove each lock file by id; return the ids removed and the problems met."""
    removed, problems = set(), []
    for lock_id in lock_ids:
        problem = source.remove(lock_id)
        if problem:
            problems.append(f"removing {lock_id[:8]} from the {source.kind} backend failed: {problem}")
        else:
            removed.add(lock_id)
    return removed, problems


def _log_removed(inspection: Inspection, removed: set[str]) -> None:
    for lock in inspection.locks:
        record = lock.record
        if record.lock_id in removed:
            logger.info(
                f"🔓 removed stale lock {record.lock_id[:8]} of pid {record.pid} on "
                f"{record.hostname or '-'}: {lock.verdict.reason}"
            )
            events.emit(
                "lock_removed", lock_id=record.lock_id, holder=record.hostname, holder_pid=record.pid,
                verdict=lock.verdict.verdict, reason=lock.verdict.reason,
            )  # fmt: skip


def clear(
    source: Source,
    inspect: Callable[[], Inspection | None],
    inspection: Inspection,
    minimum_age: float = 0.0,
    unlock_when_safe: bool = False,
) -> Clearance:
    """Given a fresh inspection, remove the stale locks at least `minimum_age` old; say what
    happened. `inspect` looks again, right before a `restic unlock`."""
    plan = make_plan(inspection, minimum_age, source.direct, unlock_when_safe)
    if not plan.eligible and not plan.restic_unlock:
        return Clearance(refusals=plan.refusals, remaining=inspection)
    removed: set[str] = set()
    methods: list[str] = []
    if plan.restic_unlock:
        fresh = inspect()
        if fresh is not None:
            inspection = fresh
            plan = make_plan(fresh, minimum_age, source.direct, unlock_when_safe)
        if fresh is not None and plan.restic_unlock:
            removed |= _restic_unlock(source, plan, fresh.ids)
            methods.append("restic unlock")
    by_id, problems = _remove_by_id(source, [lock_id for lock_id in plan.direct if lock_id not in removed])
    removed |= by_id
    methods += [f"by id ({source.kind})"] if by_id else []
    _log_removed(inspection, removed)
    kept = tuple(lock for lock in inspection.locks if lock.record.lock_id not in removed)
    return Clearance(
        eligible=plan.eligible,
        removed=tuple(sorted(removed)),
        methods=tuple(methods),
        refusals=plan.refusals,
        left=tuple(lock_id for lock_id in plan.eligible if lock_id not in removed),
        problems=tuple(problems),
        ran_unlock="restic unlock" in methods,
        remaining=dataclasses.replace(inspection, locks=kept),
    )
