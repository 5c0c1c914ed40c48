"""The helper's own verdict on one restic repository lock: stale, live or unknown, with its reason.

Pure functions of recorded facts (what restic wrote in the lock, what /proc says about its
PID, what this helper saw of it over time), so tests drive them directly. The rules are
stricter than restic's `Lock.Stale()`, which probes a same-host PID with SIGHUP.
"""

from dataclasses import dataclass

STALE = "stale"
LIVE = "live"
UNKNOWN = "unknown"

# restic's StaleLockTimeout: `restic unlock` removes any lock older than this.
RESTIC_STALE_AFTER = 30 * 60
# restic rewrites a live lock (under a new id) this often.
REFRESH_INTERVAL = 5 * 60
# A refresh may land late on a slow backend; a lock younger than interval + slack may be live.
REFRESH_SLACK = 60
LIVE_IF_WRITTEN_WITHIN = REFRESH_INTERVAL + REFRESH_SLACK
# restic 0.15+ stops refreshing normally once its last refresh is this old (30m - 1.5 * 5m):
# it then checks that its lock still exists and cancels itself when it does not. A holder
# paused for less (SIGSTOP, `docker pause`) resumes with a plain refresh that never looks
# for its old lock, so removing that lock while it is paused lets it run on without one.
REFRESHABILITY_TIMEOUT = RESTIC_STALE_AFTER - 3 * REFRESH_INTERVAL / 2
# Observation proves a lock stale only past restic's timeout plus a margin for a refresh whose
# upload was slow (restic counts from when it finished) and for small steps of this host's clock.
MINIMUM_OBSERVATION_WINDOW = 25 * 60
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


def span(seconds: float) -> str:
    """Given seconds, return a short human duration such as 45s, 12m05s or 3h07m."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


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
