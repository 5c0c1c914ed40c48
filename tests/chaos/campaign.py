"""The fault campaign: hosts back up to one shared repository on second-resolution schedules
while faults hit them at random moments from a printed seed; then every invariant is checked
against what the tool knows it did. `bench/chaos.py` runs it from the command line; the short
profile runs in CI (tests/chaos/test_campaign.py).

A run: start the stack, warm up, inject faults for the profile's time (and touch the nodes'
data, so backups have something to save), let stale locks clear, stop every host as `docker
stop` does, run `restic check --read-data`, and judge."""

import dataclasses
import json
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.chaos import evidence, invariants, stack
from tests.chaos.faults import KILLS_RESTIC, Injector
from tests.container.engine import docker

WARM_UP_SECONDS = 12
ACTIONS = frozenset({"manual_backup", "manual_unlock"})


@dataclass(frozen=True)
class Profile:
    seconds: float
    mean_gap: float  # seconds between two injections, on average
    nodes: int = 3


PROFILES = {"short": Profile(120, 0.7), "long": Profile(3600, 2.5)}


def touch_data(hosts: list[stack.Host], rng: random.Random, number: int) -> None:
    node = rng.choice([host for host in hosts if host.role == "node"])
    (node.data / f"file-{number:05d}.txt").write_text(f"{number}\n" * rng.randint(1, 2000))


def inject(injector: Injector, profile: Profile, say) -> None:
    deadline, count = time.time() + profile.seconds, 0
    while time.time() < deadline:
        fault = injector.inject_one()
        if fault is not None:
            count += 1
            if count % 25 == 0:
                say(f"{count} injections, {deadline - time.time():.0f}s left")
        if count % 3 == 0:
            touch_data(injector.stack.hosts, injector.rng, count)
        time.sleep(min(injector.rng.expovariate(1 / profile.mean_gap), 5))
    injector.finish()


def drain(watch: evidence.LockWatch, injector: Injector, say) -> None:
    """Wait, within the clearance bound, until no lock of a killed holder is left."""
    deadline = time.time() + invariants.CLEARANCE_BOUND_SECONDS
    while time.time() < deadline:
        stale = [
            lock for lock in watch.present()
            if any(f.kind in KILLS_RESTIC and f.host == lock.hostname and f.started >= lock.written - 1
                   for f in injector.faults)
        ]  # fmt: skip
        if not stale:
            return
        time.sleep(2)
    say("the clearance bound passed with stale locks left; the invariant reports them")


def final_stop(
    stack_: stack.Stack, watch: evidence.LockWatch, watcher: threading.Thread
) -> tuple[list, list]:
    """Stop every host; return the locks left then, and those the owner did not clear."""
    docker("stop", "-t", "10", *(host.container for host in stack_.hosts), check=False, timeout=120)
    watch.stopping.set()
    watcher.join(60)
    watch.sample()
    left = watch.present()
    return left, cleared_by_the_owner(stack_, watch, left)


def cleared_by_the_owner(stack_: stack.Stack, watch: evidence.LockWatch, left: list) -> list:
    """Restart the owner until the locks the final stop left are gone, within the clearance
    bound; return those still there. A stop can end a restic while it uploads its new lock:
    the upload lands, restic sees its request cancelled and never removes the lock (seen in a
    replay, "unable to create lock in backend: context canceled"). Such a lock is a dead
    holder's, which the owner's rules must clear as any other."""
    if not left:
        return []
    owner = stack_.host("owner").container
    docker("start", owner, check=False)
    deadline = time.time() + invariants.CLEARANCE_BOUND_SECONDS
    while time.time() < deadline and any(lock.gone_at is None for lock in left):
        time.sleep(2)
        watch.sample()
    docker("stop", "-t", "10", owner, check=False, timeout=60)
    return [lock for lock in left if lock.gone_at is None]


def gather(
    stack_: stack.Stack, injector: Injector, watch: evidence.LockWatch, ended: float
) -> invariants.Evidence:
    return invariants.Evidence(
        faults=injector.faults,
        events={host.name: evidence.events_of(host) for host in stack_.hosts},
        exits={host.name: evidence.worker_exits(host) for host in stack_.hosts},
        locks=watch.locks,
        snapshots=evidence.final_snapshots(stack_),
        owner="owner",
        ended=ended,
    )


def keep_record(work: Path, evidence_: invariants.Evidence) -> None:
    """The fault log and the locks seen, beside the hosts' logs, for reading a failure."""
    (work / "faults.jsonl").write_text(
        "".join(json.dumps(dataclasses.asdict(f)) + "\n" for f in evidence_.faults)
    )
    (work / "locks.json").write_text(
        json.dumps([dataclasses.asdict(lock) for lock in evidence_.locks.values()], indent=1)
    )


def run(profile: Profile, seed: int, helper_image: str, work: Path, say=print) -> tuple[dict, list[str]]:
    """Run one campaign; return its figures and its violations."""
    say(f"seed {seed} (replay: python3 bench/chaos.py --seed {seed} --seconds {profile.seconds:g})")
    with stack.running(helper_image, work, profile.nodes) as stack_:
        watch = evidence.LockWatch(stack_)
        watcher = threading.Thread(target=watch.run, daemon=True)
        watcher.start()
        time.sleep(WARM_UP_SECONDS)
        injector = Injector(stack_, seed)
        inject(injector, profile, say)
        drain(watch, injector, say)
        ended = time.time()
        left, kept = final_stop(stack_, watch, watcher)
        # Integrity is judged apart from the locks: a lock left behind is the next line's.
        checked = stack.observe(stack_, "--no-lock", "check", "--read-data", timeout=600)
        evidence_ = gather(stack_, injector, watch, ended)
        keep_record(work, evidence_)
        figures, violations = invariants.summarise(evidence_)
        figures["locks left by the final stop"] = f"{len(left)}, {len(left) - len(kept)} cleared by the owner"
        violations += [
            f"lock left behind after every host stopped, and not cleared by the owner: "
            f"{lock.id[:8]} of {lock.hostname} pid {lock.pid}"
            for lock in kept
        ]
        if checked.returncode != 0:
            tail = (checked.stdout + checked.stderr)[-2000:]
            violations.append(f"restic check --read-data exited {checked.returncode}: {tail}")
        figures["restic check --read-data"] = "clean" if checked.returncode == 0 else "FAILED"
    return figures, violations


def table(figures: dict, violations: list[str]) -> str:
    """The summary as printed at the end of a run."""
    faults = figures["faults"]
    injected = {kind: n for kind, n in faults.items() if kind not in ACTIONS}
    lines = [
        f"faults: {sum(injected.values())} ({', '.join(f'{k} {n}' for k, n in sorted(injected.items()))})",
        f"actions: {', '.join(f'{k} {n}' for k, n in sorted(faults.items()) if k in ACTIONS) or 'none'}",
        "runs by status: " + ", ".join(f"{k} {n}" for k, n in sorted(figures["runs"].items())),
    ]
    lines += [f"{name}: {figures[name]}" for name in figures if name not in ("faults", "runs")]
    lines.append(f"violations: {len(violations)}")
    lines += [f"  - {violation}" for violation in violations]
    return "\n".join(lines)
