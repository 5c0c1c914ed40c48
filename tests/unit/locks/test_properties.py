"""Property-based: in random worlds of locks, the helper never removes a lock whose holder lives.

Each drawn lock has a true story (which host, whether its holder runs, is stopped, died,
or died and had its PID reused, how long ago it was written, the writer's clock skew, how
long this helper has watched it). The helper only sees the facts that story leaves behind,
as it would in a real repository. Whether `restic unlock` would remove a lock, and whom it
would send SIGHUP, is worked out here from the true story with restic's own rule, not with
the helper's model of it.

The world follows the real constraints: a running holder on another host rewrites its lock
every 5 minutes (a refresh may land up to a minute late); a paused one (SIGSTOP, `docker
pause`) there may have gone up to restic's refreshability timeout (22m30s) without a refresh,
since on resuming it refreshes without checking that its lock still exists (a holder paused
longer checks, and cancels itself when its lock is gone: removing that lock is safe); the
helper cannot have watched a lock for longer than it has existed. Other hosts' clocks may be
up to 20 minutes ahead or behind, but a living holder's lock never looks older than restic's
30 minutes by this host's clock: that is restic's own premise (`restic unlock` on any host
would remove it). `restic unlock` runs up to a minute after the inspection the plan used.
Any observation window may be configured; the verdict never uses less than the minimum.
"""

from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helper.locks import clearance
from helper.locks.inspect import Inspection
from helper.locks.verdict import (
    LIVE_IF_WRITTEN_WITHIN,
    START_TIME_TOLERANCE,
    Holder,
    JudgedLock,
    LockRecord,
    Sighting,
    judge,
)
from helper.restic_facts import MINIMUM_OBSERVATION_WINDOW, REFRESHABILITY_TIMEOUT, RESTIC_STALE_AFTER

NOW = 2_000_000_000.0
HERE = "host-here"
DAY = 86400.0
# How much later than the inspection `restic unlock` may judge the locks.
UNLOCK_DELAY = 60.0
KINDS = ("running", "stopped", "running-unreadable", "dead", "zombie", "reused-by-other", "reused-by-restic")
LIVING = {"running", "stopped", "running-unreadable"}


@dataclass(frozen=True)
class Story:
    record: LockRecord
    kind: str
    same_host: bool
    true_age: float
    holder: Holder | None
    sighting: Sighting | None
    container: str | None

    @property
    def living(self) -> bool:
        return self.kind in LIVING

    @property
    def process_exists(self) -> bool:
        return self.same_host and self.kind != "dead"


@st.composite
def story(draw, index: int, max_skew: float) -> Story:
    same_host = draw(st.booleans())
    kind = draw(st.sampled_from(KINDS))
    living = kind in LIVING
    if living and not same_host:
        # A running holder rewrites its lock every 5 minutes; a paused one may have missed
        # refreshes up to restic's refreshability timeout.
        true_age = draw(st.floats(0, REFRESHABILITY_TIMEOUT if kind == "stopped" else LIVE_IF_WRITTEN_WITHIN))
    else:
        # Ages near restic's 30 minutes, where a late `restic unlock` sees them past it, drawn often.
        near_the_limit = st.floats(RESTIC_STALE_AFTER - 2 * UNLOCK_DELAY, RESTIC_STALE_AFTER + UNLOCK_DELAY)
        true_age = draw(st.floats(0, 3 * DAY) | near_the_limit)
    # Positive skew: the writer's clock is behind this host's, so its lock looks older.
    behind = max_skew
    if living and not same_host:
        behind = min(max_skew, RESTIC_STALE_AFTER - UNLOCK_DELAY - true_age)
    skew = 0.0 if same_host else draw(st.floats(-max_skew, behind))
    written = NOW - true_age - skew  # by the writer's clock
    pid = 1000 + index
    permitted = draw(st.booleans())
    holder = None
    if same_host:
        started_before = written - draw(st.floats(0, DAY))
        started_after = draw(st.floats(min(NOW, written + 3), NOW))
        holder = {
            "running": Holder("alive", True, "restic", started_before, permitted),
            "stopped": Holder("alive", True, "restic", started_before, permitted),
            "running-unreadable": Holder("alive", None, "", None, permitted),
            "dead": Holder("gone"),
            "zombie": Holder("zombie", signal_permitted=permitted),
            "reused-by-other": Holder("alive", False, "sleep", started_after, permitted),
            "reused-by-restic": Holder("alive", True, "restic", started_after, permitted),
        }[kind]
    watched = draw(st.none() | st.floats(0, true_age))
    sighting = None if watched is None else Sighting(NOW - watched, refreshed=draw(st.booleans()))
    containers = ("running", None) if living else ("running", "stopped", "destroyed", None)
    container = None if same_host else draw(st.sampled_from(containers))
    record = LockRecord(
        f"{index:064x}",
        HERE if same_host else draw(st.sampled_from(["host-a", "host-b", "0123456789ab"])),
        pid,
        "root",
        written,
        draw(st.booleans()),
    )
    return Story(record, kind, same_host, true_age, holder, sighting, container)


def worlds(max_skew: float):
    return st.integers(1, 8).flatmap(lambda size: st.tuples(*(story(i, max_skew) for i in range(size))))


def restic_truly_removes(item: Story, delay: float) -> bool:
    """restic's Lock.Stale() run on this host `delay` seconds after the inspection, from the true story."""
    if NOW + delay - item.record.time > RESTIC_STALE_AFTER:
        return True
    if not item.same_host:
        return False
    return not (item.process_exists and item.holder.signal_permitted)


def sighup_hits_a_live_program(item: Story, delay: float) -> bool:
    """Whether restic's SIGHUP probe would reach a live process that is not restic."""
    probed = item.same_host and NOW + delay - item.record.time <= RESTIC_STALE_AFTER
    return probed and item.kind in ("reused-by-other", "running-unreadable")


@dataclass
class WorldSource:
    """One world's repository, in memory: plain `restic unlock` follows restic's true rule, and
    removal by id takes exactly the lock named."""

    world: tuple[Story, ...]
    delay: float
    direct: bool
    present: set[str] = field(default_factory=set)
    kind: str = "memory"

    def list_ids(self) -> set[str]:
        return set(self.present)

    def remove(self, lock_id: str) -> str | None:
        assert self.direct, "removal by id on a backend the helper cannot reach"
        self.present.discard(lock_id)
        return None

    def unlock(self) -> None:
        assert not any(sighup_hits_a_live_program(item, self.delay) for item in self.world)
        self.present -= {item.record.lock_id for item in self.world if restic_truly_removes(item, self.delay)}


def check_world(
    world: tuple[Story, ...], window: float, minimum_age: float, direct: bool, always: bool, delay: float
):
    """Run the clearance code itself on the world; no living holder's lock may disappear, and
    with a reachable backend every lock it found eligible must be gone."""
    judged = tuple(
        JudgedLock(
            item.record,
            judge(item.record, NOW, HERE, item.holder, item.sighting, item.container, window),
            item.holder,
            None if item.sighting is None else NOW - item.sighting.first_seen,
        )
        for item in world
    )
    inspection = Inspection(NOW, HERE, judged)
    ids = {item.record.lock_id for item in world}
    source = WorldSource(world, delay, direct, set(ids))
    result = clearance.clear(source, lambda: inspection, inspection, minimum_age, always)
    removed = ids - source.present
    living = {item.record.lock_id for item in world if item.living}
    assert not (removed & living), [
        (item.kind, item.true_age) for item in world if item.record.lock_id in removed
    ]
    assert set(result.removed) == removed
    if direct:
        assert set(result.eligible) <= removed


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    world=worlds(max_skew=20 * 60),
    window=st.floats(0.5, 2 * 3600),
    minimum_age=st.sampled_from([0.0, 1.0, 3600.0, 7200.0]),
    direct=st.booleans(),
    always=st.booleans(),
    delay=st.floats(0, UNLOCK_DELAY),
)
def test_no_living_holder_ever_loses_its_lock(world, window, minimum_age, direct, always, delay):
    check_world(world, window, minimum_age, direct, always, delay)


@settings(max_examples=300, deadline=None)
@given(world=worlds(max_skew=20 * 60), window=st.floats(0.5, 2 * 3600))
def test_dead_holders_are_found_stale(world, window):
    # The other direction, so the property above cannot pass by removing nothing.
    for item in world:
        # A restic that took the PID within the start-time tolerance may be the holder: kept.
        late = item.holder and (item.holder.started_at or 0) > item.record.time + START_TIME_TOLERANCE
        dead_here = item.same_host and (
            item.kind in ("dead", "zombie", "reused-by-other") or (item.kind == "reused-by-restic" and late)
        )
        # Another host's dead holder, watched unchanged for the (effective) window.
        watched = None if item.sighting is None else NOW - item.sighting.first_seen
        proven_elsewhere = (
            not item.same_host
            and not item.living
            and watched is not None
            and watched >= max(window, MINIMUM_OBSERVATION_WINDOW)
        )
        if dead_here or proven_elsewhere:
            verdict = judge(item.record, NOW, HERE, item.holder, item.sighting, item.container, window)
            assert verdict.verdict == "stale"
