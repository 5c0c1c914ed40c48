"""`waiting.wait_for_release` on a fake clock: each way a lock wait ends, at the fake second it
should, and the backoff of the polling over an hour, in milliseconds of real time."""

import pytest

from helper.locks import waiting
from helper.locks.access import Blocker
from helper.locks.budget import WaitBudget
from helper.locks.waiting import Wake
from tests.support.fake_clock import FakeClock

BLOCKING_ID = "aaaa1111" + "0" * 56
OTHER_ID = "bbbb2222" + "0" * 56
BLOCKER = Blocker(id_prefix=BLOCKING_ID[:8], hostname="host-b", pid=42, exclusive=True)
HOUR = 3600.0


class Listing:
    """A lock listing that answers from the fake time: `gone_at` fake seconds into the test,
    the blocking lock disappears. Records when it was asked."""

    def __init__(self, fake: FakeClock, gone_at: float = float("inf"), others: frozenset = frozenset()):
        self.fake, self.gone_at, self.others = fake, gone_at, set(others)
        self.asked_at: list[float] = []

    def __call__(self) -> set[str]:
        self.asked_at.append(self.fake.elapsed)
        return set(self.others) | ({BLOCKING_ID} if self.fake.elapsed < self.gone_at else set())


def watch_for(fake, listing, tmp_path, poll=waiting.POLL_DIRECT_SECONDS, window=60.0, stopped=None):
    return waiting.Watch(
        listing,
        poll,
        str(tmp_path),
        "rest:http://repository.invalid/",
        window,
        stopped or (lambda: False),
        fake.clock,
    )


def wait(watch, fake, blocker=BLOCKER, budget_seconds=HOUR, retry_after=HOUR, force_inactive=False):
    budget = WaitBudget(budget_seconds, fake.clock)
    budget.start()
    return waiting.wait_for_release(watch, blocker, budget, retry_after, force_inactive), budget


@pytest.mark.parametrize(
    ("poll", "gone_at", "noticed_at"),
    [(waiting.POLL_DIRECT_SECONDS, 10.0, 10.0), (waiting.POLL_RESTIC_SECONDS, 7.0, 9.0)],
)
def test_a_release_is_noticed_at_the_first_poll_after_it(tmp_path, poll, gone_at, noticed_at):
    fake = FakeClock()
    listing = Listing(fake, gone_at)
    wake, _ = wait(watch_for(fake, listing, tmp_path, poll), fake)
    assert wake is Wake.RELEASED
    assert fake.elapsed == noticed_at
    assert listing.asked_at == [poll * n for n in range(1, int(noticed_at / poll) + 1)]


def test_without_a_named_lock_any_lock_that_goes_away_is_a_release(tmp_path):
    fake = FakeClock()
    listing = Listing(fake, gone_at=5.0, others=frozenset({OTHER_ID}))
    wake, _ = wait(watch_for(fake, listing, tmp_path), fake, blocker=None)
    assert (wake, fake.elapsed) == (Wake.RELEASED, 5.0)


def test_retry_after_restic_lock_retry_after_when_the_lock_stays(tmp_path):
    fake = FakeClock()
    wake, _ = wait(watch_for(fake, Listing(fake), tmp_path), fake, retry_after=30.0)
    assert (wake, fake.elapsed) == (Wake.RETRY, 30.0)


def test_budget_when_it_is_spent_and_it_counts_the_fake_wait(tmp_path):
    fake = FakeClock()
    fake.advance(12.5)  # the budget was started before this wait: only what is left is waited
    watch = watch_for(fake, Listing(fake), tmp_path)
    budget = WaitBudget(45.0, fake.clock)
    budget.start(since=fake.monotonic() - 12.5)
    wake = waiting.wait_for_release(watch, BLOCKER, budget, HOUR, False)
    assert (wake, fake.elapsed) == (Wake.BUDGET, 45.0)
    assert budget.spent == 45.0
    budget.stop()
    assert (budget.spent, budget.remaining()) == (45.0, 0.0)


def test_interrupted_within_a_slice_of_the_stop(tmp_path):
    fake = FakeClock()
    watch = watch_for(fake, Listing(fake), tmp_path, stopped=lambda: fake.elapsed >= 5.1)
    wake, _ = wait(watch, fake)
    assert wake is Wake.INTERRUPTED
    assert 5.1 <= fake.elapsed <= 5.1 + waiting.SLICE_SECONDS


def test_provable_once_the_blocker_was_watched_for_the_window_and_only_once(tmp_path):
    fake = FakeClock()
    watch = watch_for(fake, Listing(fake), tmp_path, window=60.0)
    wake, _ = wait(watch, fake, force_inactive=True)
    # First seen at the first poll (1 s), so watched for the window at the poll of 61 s.
    assert (wake, fake.elapsed) == (Wake.PROVABLE, 61.0)
    wake, _ = wait(watch, fake, retry_after=30.0, force_inactive=True)
    assert wake is Wake.RETRY  # the same lock is not proven twice


def test_never_provable_without_force_inactive(tmp_path):
    fake = FakeClock()
    wake, _ = wait(watch_for(fake, Listing(fake), tmp_path), fake, retry_after=120.0)
    assert (wake, fake.elapsed) == (Wake.RETRY, 120.0)


def test_polling_backs_off_after_the_first_minute(tmp_path):
    fake = FakeClock()
    listing = Listing(fake)
    watch = watch_for(fake, listing, tmp_path, poll=waiting.POLL_RESTIC_SECONDS)
    wake, budget = wait(watch, fake, budget_seconds=HOUR, retry_after=2 * HOUR)
    assert (wake, fake.elapsed, budget.spent) == (Wake.BUDGET, HOUR, HOUR)
    gaps = [later - earlier for earlier, later in zip(listing.asked_at, listing.asked_at[1:], strict=False)]
    first_minute = [gap for at, gap in zip(listing.asked_at, gaps, strict=False) if at < 60]
    assert set(first_minute) == {waiting.POLL_RESTIC_SECONDS}
    assert gaps[-1] == pytest.approx(waiting.POLL_RESTIC_SECONDS * waiting.BACKOFF_LIMIT)
    # A fixed 3 s poll would list the locks 1,200 times in the hour.
    assert len(listing.asked_at) < 300
