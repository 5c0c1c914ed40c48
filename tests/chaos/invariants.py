"""The campaign's verdict: each invariant reads the evidence and the fault log, and returns its
violations, each with the evidence that shows it. The tool injected every fault, so it knows
which lock holders and which runs were killed, and which were alive."""

import statistics
from collections import Counter
from dataclasses import dataclass

from tests.chaos.evidence import SeenLock
from tests.chaos.faults import KILLS_RESTIC, KILLS_WORKER, Fault
from tests.chaos.stack import KEEP_LAST

MAINTENANCE = frozenset({"forget", "prune", "check"})
# A fault that found nothing to kill killed nothing.
NOTHING_HIT = ("no restic running", "no worker running", "injection failed")
# Same-host dead holders are cleared at once; another host's after the scaled observation
# window (45 s) and the slack of the "written within" rule (20 s), at the owner's next
# exclusive run (every 15 s, each waiting up to 20 s) and the watch's sampling (2 s).
CLEARANCE_BOUND_SECONDS = 150
# Faults that keep the remover (the owner) or the repository from working: each delays a
# clearance by the time it overlaps it (a replay's owner, paused for 59 s of a lock's
# 149 s, cleared it a second inside the bound).
HOLDS_UP_THE_REMOVER = frozenset(
    {"pause", "disconnect", "stop", "kill", "restart_same_hostname", "rest_restart"}
)


@dataclass(frozen=True)
class Evidence:
    faults: list[Fault]
    events: dict[str, list[dict]]  # hostname -> its events, oldest first
    exits: dict[str, list[tuple[float, str, int, int]]]  # hostname -> worker exits
    locks: dict[str, SeenLock]
    snapshots: list[dict]
    owner: str
    ended: float


def real(faults: list[Fault], kinds: frozenset, host: str) -> list[Fault]:
    return [f for f in faults if f.kind in kinds and f.host == host and not f.detail.startswith(NOTHING_HIT)]


def killed_between(evidence: Evidence, kinds: frozenset, host: str, start: float, end: float) -> bool:
    return any(start - 1 <= f.started <= end for f in real(evidence.faults, kinds, host))


def live_locks_removed(evidence: Evidence) -> list[str]:
    """Invariant 1: a removed lock's holder was killed by a fault after the lock was written."""
    violations = []
    for remover, events in evidence.events.items():
        for event in (e for e in events if e["event"] == "lock_removed"):
            seen = evidence.locks.get(event["lock_id"])
            written = seen.written if seen else event["epoch"] - 600
            if not killed_between(evidence, KILLS_RESTIC, event["holder"], written - 5, event["epoch"]):
                violations.append(
                    f"live lock removed: {remover} removed {event['lock_id'][:8]} of {event['holder']} "
                    f"pid {event['holder_pid']} at {event['at']} ({event['verdict']}: {event['reason']}); "
                    "no fault had killed that holder"
                )
    return violations


def runs(events: list[dict]) -> list[tuple[dict, dict | None]]:
    """Each run's started event with its finished event, or None; by worker pid, in order."""
    open_runs: dict[int, dict] = {}
    paired = []
    for event in events:
        if event["event"] == "started":
            if event["pid"] in open_runs:  # the pid came back: the earlier run never finished
                paired.append((open_runs.pop(event["pid"]), None))
            open_runs[event["pid"]] = event
        elif event["event"] == "finished" and event["pid"] in open_runs:
            paired.append((open_runs.pop(event["pid"]), event))
    return paired + [(started, None) for started in open_runs.values()]


def unreported_runs(evidence: Evidence) -> list[str]:
    """Invariant 4: every run that no SIGKILL hit is reported, and one that was shows up as
    killed by the next run of its job."""
    violations = []
    for host, events in evidence.events.items():
        for started, finished in runs(events):
            if finished is not None:
                continue
            following = [e for e in events if e["epoch"] > started["epoch"] and e["job"] == started["job"]]
            # Runs of one job never overlap on a host: this one ended before the next started.
            next_start = [e["epoch"] for e in following if e["event"] == "started"]
            end = next_start[0] if next_start else evidence.ended
            if not killed_between(evidence, KILLS_WORKER | {"full_logs"}, host, started["epoch"], end):
                violations.append(
                    f"unreported run: {started['job']} pid {started['pid']} on {host} from {started['at']}"
                )
            elif (
                any(e["event"] == "started" for e in following)
                and not any(
                    e["event"] == "killed" and e.get("killed_pid") == started["pid"] for e in following
                )
                and not real(evidence.faults, frozenset({"full_logs"}), host)
            ):
                violations.append(
                    f"killed run not shown as killed: {started['job']} pid {started['pid']} on {host}"
                )
    return violations


def exit_codes_differ(evidence: Evidence) -> list[str]:
    """Invariant 4, second half: a worker exits with the code its report records, even when a
    stop signal comes after the report is written; only a SIGKILL may change it."""
    violations = []
    for host, events in evidence.events.items():
        exits = evidence.exits.get(host, [])
        restarts = [e["epoch"] for e in events if e["event"] == "scheduler_started"]
        for finished in (e for e in events if e["event"] == "finished"):
            # PIDs start again at each restart of the container, and the scheduler logs only
            # a non-zero exit: a later incarnation's worker of the same pid is another run.
            until = next((at for at in restarts if at > finished["epoch"]), float("inf"))
            later = [x for x in exits if x[2] == finished["pid"] and finished["epoch"] - 1 <= x[0] < until]
            if not later:
                continue  # a manual run, or a container killed before its scheduler saw the exit
            at, job, _, code = min(later)
            if code != finished["exit_code"] and not killed_between(
                evidence, KILLS_WORKER, host, finished["epoch"], at
            ):
                violations.append(
                    f"exit code differs: {job} pid {finished['pid']} on {host} recorded "
                    f"{finished['exit_code']} at {finished['at']} but exited {code}"
                )
    return violations


def maintenance_elsewhere(evidence: Evidence) -> list[str]:
    """Invariant 6: forget, prune and check run only on the owner."""
    return [
        f"{event['job']} ran on {host} at {event['at']}, not on the owner"
        for host, events in evidence.events.items()
        if host != evidence.owner
        for event in events
        if event["event"] == "started" and event["job"] in MAINTENANCE
    ]


def lost_snapshots(evidence: Evidence) -> list[str]:
    """Invariant 2: each snapshot a run reported is still there, unless the owner's
    --keep-last could have removed it: at least KEEP_LAST newer ones of its host remain."""
    present = {snapshot["id"] for snapshot in evidence.snapshots}
    violations = []
    for host, events in evidence.events.items():
        for finished in (e for e in events if e["event"] == "finished" and e.get("snapshot_id")):
            if finished["snapshot_id"] in present:
                continue
            run_started = finished["epoch"] - (finished.get("duration_seconds") or 0)
            newer = [s for s in evidence.snapshots if s["hostname"] == host and epoch_of(s) > run_started]
            if len(newer) < KEEP_LAST:
                violations.append(
                    f"snapshot lost: {finished['snapshot_id'][:8]} of {host}, reported {finished['at']}"
                )
    return violations


def epoch_of(snapshot: dict) -> float:
    from tests.chaos.evidence import epoch

    return epoch(snapshot["time"])


def clearance_times(evidence: Evidence) -> tuple[list[float], list[str]]:
    """Invariant 5: each lock whose holder a fault killed goes within the bound. Return the
    clearance times and the violations."""
    times, violations = [], []
    for lock in evidence.locks.values():
        kills = [
            f for f in real(evidence.faults, KILLS_RESTIC, lock.hostname)
            if lock.written - 1 <= f.started and (lock.gone_at is None or f.started < lock.gone_at)
        ]  # fmt: skip
        if not kills:
            continue
        killed_at = min(f.started for f in kills)
        if lock.gone_at is None:
            violations.append(
                f"stale lock {lock.id[:8]} of {lock.hostname} (killed {killed_at:.0f}) never cleared"
            )
            continue
        times.append(lock.gone_at - killed_at)
        bound = CLEARANCE_BOUND_SECONDS + held_up(evidence, killed_at, lock.gone_at)
        if times[-1] > bound:
            violations.append(
                f"stale lock {lock.id[:8]} of {lock.hostname} cleared after {times[-1]:.0f}s "
                f"(bound {bound:.0f}s)"
            )
    return times, violations


def held_up(evidence: Evidence, start: float, end: float) -> float:
    """Seconds between `start` and `end` that a fault held up the owner or the repository."""
    return sum(
        max(0.0, min(end, fault.ended or end) - max(start, fault.started))
        for fault in evidence.faults
        if fault.kind in HOLDS_UP_THE_REMOVER and fault.host in (evidence.owner, "rest")
    )


def recovery_times(evidence: Evidence) -> list[float]:
    """After each fault on a node, the time to its next backup that ended ok."""
    delays = []
    for fault in evidence.faults:
        hosts = [fault.host] if fault.host != "rest" else list(evidence.events)
        for host in hosts:
            oks = [e["epoch"] for e in evidence.events.get(host, [])
                   if e["event"] == "finished" and e["job"] == "backup" and e["status"] == "ok"
                   and e["epoch"] > (fault.ended or fault.started)]  # fmt: skip
            if oks and host != evidence.owner:
                delays.append(min(oks) - (fault.ended or fault.started))
    return delays


def summarise(evidence: Evidence) -> tuple[dict, list[str]]:
    """The figures of the run and every violation."""
    clearances, clearance_violations = clearance_times(evidence)
    removed = [e for events in evidence.events.values() for e in events if e["event"] == "lock_removed"]
    live = live_locks_removed(evidence)
    lost = lost_snapshots(evidence)
    violations = [
        *live, *lost, *unreported_runs(evidence), *exit_codes_differ(evidence),
        *maintenance_elsewhere(evidence), *clearance_violations,
    ]  # fmt: skip
    recoveries = recovery_times(evidence)
    statuses = Counter(
        f"{e['job']}:{e['status']}"
        for events in evidence.events.values()
        for e in events
        if e["event"] == "finished"
    )
    figures = {
        "faults": Counter(f.kind for f in evidence.faults),
        "runs": statuses,
        "locks removed": len(removed),
        "live locks removed": len(live),
        "snapshots lost": len(lost),
        "clearance": describe(clearances),
        "first ok backup after a fault": describe(recoveries),
    }
    return figures, violations


def describe(values: list[float]) -> str:
    if not values:
        return "none"
    return f"median {statistics.median(values):.1f}s, max {max(values):.1f}s over {len(values)}"
