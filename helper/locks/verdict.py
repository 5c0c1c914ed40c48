"""The helper's own verdict on one restic repository lock: stale, live or unknown, with its reason.

Pure functions of recorded facts (what restic wrote in the lock, what /proc says about its
PID, what this helper saw of it over time), so tests drive them directly. The rules are
stricter than restic's `Lock.Stale()`, which probes a same-host PID with SIGHUP.

Which locks to remove, and whether plain `restic unlock` may do it, is pure as well.

`restic unlock` applies restic's own rule (`Lock.Stale()`): a lock older than 30 minutes, or
a lock of this hostname whose PID does not answer kill(pid, SIGHUP). That probe kills an
unrelated process that now has the PID, and calls a live process of another uid dead. So
the helper models the rule and calls `restic unlock` only when everything restic would
remove is stale by the helper's own verdict, and its SIGHUP could reach no live process
other than restic (which ignores SIGHUP).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from helper.restic_facts import MINIMUM_OBSERVATION_WINDOW, REFRESH_INTERVAL, RESTIC_STALE_AFTER
from helper.settings.kinds import format_duration as span

STALE = "stale"
LIVE = "live"
UNKNOWN = "unknown"

# A refresh may land late on a slow backend; a lock younger than interval + slack may be live.
REFRESH_SLACK = 60
LIVE_IF_WRITTEN_WITHIN = REFRESH_INTERVAL + REFRESH_SLACK
# A process's start time is /proc's boot time + ticks since boot, and a forward step of the
# clock (NTP) moves that boot time forward: until its next refresh, a live restic then seems
# to have started up to the size of the step after its own lock. Too large a tolerance only
# makes a PID reused within it look like the holder (live: kept, the safe side); too small a
# one removes a live lock. 60 s is well above the steps NTP makes on a running machine.
START_TIME_TOLERANCE = 60.0


@dataclass(frozen=True)
class LockRecord:
    """What restic recorded in one lock file (`restic --no-lock cat lock <id>`)."""

    lock_id: str
    hostname: str
    pid: int
    username: str = ""
    time: float | None = None  # epoch seconds; None when it cannot be read
    exclusive: bool = False
    uid: int | None = None


@dataclass(frozen=True)
class Holder:
    """What /proc on this host says about a same-host lock's PID."""

    state: str  # "alive", "zombie" or "gone"
    is_restic: bool | None = None  # None: alive, but its command cannot be read
    name: str = ""
    started_at: float | None = None  # epoch seconds
    signal_permitted: bool = True  # whether kill(pid, ...) from this process would succeed


@dataclass(frozen=True)
class Sighting:
    """This helper's own observation of one lock id, by its own clock."""

    first_seen: float
    refreshed: bool = False  # it replaced an earlier lock of the same (hostname, pid) while watched


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def judge(
    lock: LockRecord,
    now: float,
    this_hostname: str,
    holder: Holder | None = None,
    sighting: Sighting | None = None,
    container: str | None = None,
    window: float = MINIMUM_OBSERVATION_WINDOW,
) -> Verdict:
    """Given a lock and the facts about it, return the verdict and its reason.

    `holder` is /proc's view of the PID (same-host locks only), `sighting` this helper's
    observation of the id, `container` the Docker engine's view of the lock's hostname
    ("running", "stopped", "destroyed" or None), `window` the observation window (never less
    than MINIMUM_OBSERVATION_WINDOW, whatever is passed).
    """
    if lock.hostname and lock.hostname == this_hostname:
        return judge_same_host(lock, holder)
    return judge_other_host(lock, now, sighting, container, window)


def judge_same_host(lock: LockRecord, holder: Holder | None) -> Verdict:
    """Given a lock written on this host, judge it by its PID in /proc, never by a signal."""
    pid = lock.pid
    if pid <= 0:
        return Verdict(UNKNOWN, f"recorded pid {pid} is not a process id")
    if holder is None:
        return Verdict(UNKNOWN, f"pid {pid} was not examined")
    if holder.state == "gone":
        return Verdict(STALE, f"no process {pid} on this host: its holder is gone")
    if holder.state == "zombie":
        return Verdict(STALE, f"process {pid} is a zombie: its holder exited")
    if holder.is_restic is None:
        return Verdict(UNKNOWN, f"process {pid} is alive but its command cannot be read")
    if not holder.is_restic:
        return Verdict(STALE, f"pid {pid} now belongs to {holder.name or 'another program'!r}, not restic")
    if (
        lock.time is not None
        and holder.started_at is not None
        and holder.started_at > lock.time + START_TIME_TOLERANCE
    ):
        late = span(holder.started_at - lock.time)
        return Verdict(STALE, f"pid {pid} is a restic that started {late} after the lock was written")
    return Verdict(LIVE, f"pid {pid} is a running restic on this host")


def judge_other_host(
    lock: LockRecord, now: float, sighting: Sighting | None, container: str | None, window: float
) -> Verdict:
    """Given another host's lock, judge it by the Docker engine, observation and age.

    Only restic's own 30-minute rule reads the lock's time as proof (another host's clock, as
    restic trusts it); observation counts only what this helper watched by its own clock.
    """
    if container in ("stopped", "destroyed"):
        return Verdict(STALE, f"host {lock.hostname!r} is a {container} container of this Docker engine")
    window = max(window, MINIMUM_OBSERVATION_WINDOW)
    age = None if lock.time is None else now - lock.time
    watched = None if sighting is None else max(0.0, now - sighting.first_seen)
    # The same id means the same content: a live holder would have written a new lock.
    if watched is not None and watched >= window:
        return Verdict(
            STALE,
            f"unchanged for {span(watched)} of observation (window {span(window)}); "
            "a live holder rewrites its lock every 5 minutes",
        )
    if age is not None and age > RESTIC_STALE_AFTER:
        return Verdict(STALE, f"written {span(age)} ago, past restic's 30-minute limit")
    if sighting is not None and sighting.refreshed:
        return Verdict(LIVE, "its holder rewrote it while observed (restic refreshes live locks)")
    if age is None:
        return Verdict(UNKNOWN, "its time cannot be read")
    if age < 0:
        return Verdict(UNKNOWN, f"its time is {span(age)} in the future (clock skew): age proves nothing")
    if age <= LIVE_IF_WRITTEN_WITHIN:
        return Verdict(LIVE, f"written {span(age)} ago, within restic's 5-minute refresh interval")
    observed = (
        f"observed for {span(watched)} of {span(window)}" if watched is not None else "not observed yet"
    )
    return Verdict(UNKNOWN, f"another host's lock, not rewritten for {span(age)}; {observed}")


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
    # Eligible ids to remove by id after `restic unlock`, which may remove fewer than its rule
    # predicts (a lock near 30 minutes): those it did remove are skipped.
    direct: tuple[str, ...]
    refusals: tuple[str, ...]  # why `restic unlock` is not safe now
    left: tuple[str, ...]  # eligible ids that nothing is expected to remove


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
    direct = eligible if direct_available else ()
    left = () if direct_available else after_unlock
    return RemovalPlan(eligible, run_unlock, removes, direct, reasons, left)
