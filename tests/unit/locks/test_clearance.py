"""Clearance carries out the removal plan against an in-memory repository: what goes, by which
means, and why a stale lock stays."""

from dataclasses import dataclass, field

from helper.locks import clearance
from helper.locks.inspect import Inspection
from helper.locks.verdict import LIVE, STALE, Holder, JudgedLock, LockRecord, Verdict

NOW = 2_000_000_000.0
HERE = "host-here"
HOUR = 3600.0


def lock(number: int, verdict: str, age: float, hostname: str = "host-a", holder=None) -> JudgedLock:
    record = LockRecord(f"{number:064x}", hostname, 100 + number, "root", NOW - age)
    return JudgedLock(record, Verdict(verdict, "because"), holder)


@dataclass
class Repository:
    """Locks in memory. `restic unlock` removes what `unlock_removes` names (restic's own rule,
    given by the test); removal by id works only on a direct backend."""

    present: set[str]
    direct: bool = True
    unlock_removes: set[str] = field(default_factory=set)
    unlocked: int = 0
    kind: str = "memory"

    def list_ids(self) -> set[str]:
        return set(self.present)

    def remove(self, lock_id: str) -> str | None:
        assert self.direct
        self.present.discard(lock_id)
        return None

    def unlock(self) -> None:
        self.unlocked += 1
        self.present -= self.unlock_removes


def clear(repository: Repository, locks: tuple[JudgedLock, ...], **options) -> clearance.Clearance:
    inspection = Inspection(NOW, HERE, locks)
    return clearance.clear(repository, lambda: inspection, inspection, **options)


def test_a_stale_lock_goes_by_id_and_a_live_one_stays():
    stale, live = lock(1, STALE, 10 * 60), lock(2, LIVE, 60)
    repository = Repository({stale.record.lock_id, live.record.lock_id})
    result = clear(repository, (stale, live))
    assert repository.present == {live.record.lock_id}
    assert result.removed == (stale.record.lock_id,)
    assert result.methods == ("by id (memory)",)
    assert repository.unlocked == 0  # restic's rule would remove nothing stale here
    assert [item.record.lock_id for item in result.remaining.locks] == [live.record.lock_id]


def test_restic_unlock_runs_when_safe_and_what_it_leaves_goes_by_id():
    # Both are past restic's 30 minutes, but restic removes only the first (the second is near
    # the limit on restic's clock): removal by id takes the other.
    first, second = lock(1, STALE, 2 * HOUR), lock(2, STALE, 2 * HOUR)
    repository = Repository(
        {first.record.lock_id, second.record.lock_id}, unlock_removes={first.record.lock_id}
    )
    result = clear(repository, (first, second))
    assert repository.unlocked == 1 and repository.present == set()
    assert result.methods == ("restic unlock", f"by id ({repository.kind})")
    assert result.ran_unlock and result.left == ()


def test_without_direct_access_a_lock_restic_refuses_to_remove_stays_with_a_reason():
    # A same-host lock whose pid is a live program that is not restic: restic's SIGHUP would hit it.
    other_program = Holder("alive", False, "sleep")
    refused = lock(1, LIVE, 10 * 60, HERE, other_program)
    stale = lock(2, STALE, 10 * 60)
    repository = Repository({refused.record.lock_id, stale.record.lock_id}, direct=False)
    result = clear(repository, (refused, stale), unlock_when_safe=True)
    assert repository.unlocked == 0
    assert result.left == (stale.record.lock_id,)
    assert "restic would send SIGHUP" in result.explanation()


def test_nothing_eligible_means_nothing_is_touched():
    live = lock(1, LIVE, 60)
    repository = Repository({live.record.lock_id})
    result = clear(repository, (live,), minimum_age=HOUR)
    assert repository.present == {live.record.lock_id} and repository.unlocked == 0
    assert result.removed == () and result.remaining.locks == (live,)


def test_a_stale_lock_younger_than_the_minimum_age_waits():
    young = lock(1, STALE, 10 * 60)
    repository = Repository({young.record.lock_id})
    assert clear(repository, (young,), minimum_age=HOUR).removed == ()
    assert clear(repository, (young,), minimum_age=60).removed == (young.record.lock_id,)
