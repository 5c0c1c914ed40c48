"""Which locks to remove, and whether plain `restic unlock` may do it: pure functions.

`restic unlock` applies restic's own rule (`Lock.Stale()`): a lock older than 30 minutes, or
a lock of this hostname whose PID does not answer kill(pid, SIGHUP). That probe kills an
unrelated process that now has the PID, and calls a live process of another uid dead. So
the helper models the rule and calls `restic unlock` only when everything restic would
remove is stale by the helper's own verdict, and its SIGHUP could reach no live process
other than restic (which ignores SIGHUP).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from helper.locks.verdict import RESTIC_STALE_AFTER, STALE, Holder, LockRecord, Verdict

# `restic unlock` judges the locks a moment after the inspection (a key derivation, a slow
# backend), by then older: a lock this close to restic's 30 minutes may already be past them.
UNLOCK_DELAY_MARGIN = 60


@dataclass(frozen=True)
class JudgedLock:
    record: LockRecord
    verdict: Verdict
    holder: Holder | None = None  # same-host locks only
    observed_seconds: float | None = None

    def age(self, now: float) -> float | None:
        return None if self.record.time is None else now - self.record.time

    def evidence_age(self, now: float) -> float:
        """How long the lock has stood unchanged, by its own time or by this helper's watch."""
        return max(self.age(now) or 0.0, self.observed_seconds or 0.0)


@dataclass(frozen=True)
class RemovalPlan:
    eligible: tuple[str, ...]  # stale and at least minimum_age old: to be removed
    restic_unlock: bool  # run plain `restic unlock` first
    restic_removes: tuple[str, ...]  # what restic's own rule would remove
    direct: tuple[str, ...]  # eligible ids left for removal by id
    refusals: tuple[str, ...]  # why `restic unlock` is not safe now
    left: tuple[str, ...]  # eligible ids that nothing will remove


def restic_signals(lock: LockRecord, now: float, this_hostname: str) -> bool:
    """Whether `restic unlock` on this host may send SIGHUP to the lock's PID (locks only age,
    so one not past 30 minutes now may still be probed)."""
    if lock.time is None:
        return False  # restic cannot read it either and skips it
    return now - lock.time <= RESTIC_STALE_AFTER and bool(lock.hostname) and lock.hostname == this_hostname


def restic_removes(lock: LockRecord, now: float, this_hostname: str, holder: Holder | None) -> bool:
    """Whether `restic unlock` on this host, run up to UNLOCK_DELAY_MARGIN after `now`, may
    remove the lock (restic's Lock.Stale())."""
    if lock.time is None:
        return False
    if now - lock.time > RESTIC_STALE_AFTER - UNLOCK_DELAY_MARGIN:
        return True
    if not restic_signals(lock, now, this_hostname):
        return False
    probe_succeeds = holder is not None and holder.state != "gone" and holder.signal_permitted
    return not probe_succeeds


def refusals(judged: Iterable[JudgedLock], now: float, this_hostname: str) -> list[str]:
    """Return every reason why plain `restic unlock` is unsafe now; empty when it is safe."""
    reasons = []
    for lock in judged:
        record, holder = lock.record, lock.holder
        short = record.lock_id[:8]
        if restic_signals(record, now, this_hostname):
            if record.pid <= 0:
                reasons.append(f"lock {short}: restic would send SIGHUP to process group {record.pid}")
            elif holder is not None and holder.state == "alive" and holder.is_restic is not True:
                name = holder.name or "unreadable"
                reasons.append(
                    f"lock {short}: restic would send SIGHUP to pid {record.pid} ({name}), "
                    "a live process that is not restic"
                )
        if restic_removes(record, now, this_hostname, holder) and lock.verdict.verdict != STALE:
            verdict = lock.verdict
            reasons.append(
                f"lock {short}: restic would remove it, but it is {verdict.verdict}: {verdict.reason}"
            )
    return reasons


def plan_removal(
    judged: Iterable[JudgedLock],
    now: float,
    this_hostname: str,
    minimum_age: float = 0.0,
    direct_available: bool = False,
    unlock_when_safe: bool = False,
) -> RemovalPlan:
    """Given judged locks, return what to remove and how.

    Stale locks at least `minimum_age` old are eligible. `restic unlock` runs when it is
    safe and would remove one of them (or always when safe, given `unlock_when_safe`);
    the eligible locks it leaves are removed by id when the backend allows it.
    """
    judged = list(judged)
    eligible = tuple(
        lock.record.lock_id
        for lock in judged
        if lock.verdict.verdict == STALE and lock.evidence_age(now) >= minimum_age
    )
    removes = tuple(
        lock.record.lock_id for lock in judged if restic_removes(lock.record, now, this_hostname, lock.holder)
    )
    reasons = tuple(refusals(judged, now, this_hostname))
    useful = bool(set(removes) & set(eligible)) or unlock_when_safe
    run_unlock = useful and not reasons
    after_unlock = tuple(lock_id for lock_id in eligible if not (run_unlock and lock_id in removes))
    direct = after_unlock if direct_available else ()
    left = () if direct_available else after_unlock
    return RemovalPlan(eligible, run_unlock, removes, direct, reasons, left)
