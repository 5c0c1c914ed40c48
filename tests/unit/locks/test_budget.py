"""`WaitBudget` on a fake clock: it counts only the time between start and stop, across waits,
from an earlier instant when asked, and a run given no budget never starts it."""

from helper.locks.budget import WaitBudget
from tests.support.fake_clock import FakeClock


def test_a_new_budget_has_spent_nothing():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    fake.advance(30.0)
    assert (budget.spent, budget.remaining()) == (0.0, 60.0)


def test_it_runs_between_start_and_stop_only():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    budget.start()
    fake.sleep(10.0)
    assert (budget.spent, budget.remaining()) == (10.0, 50.0)
    budget.stop()
    fake.advance(100.0)  # work between two waits does not count
    assert (budget.spent, budget.remaining()) == (10.0, 50.0)


def test_waits_add_up_and_the_remaining_time_never_goes_below_zero():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    for seconds in (20.0, 25.0, 30.0):
        budget.start()
        fake.sleep(seconds)
        budget.stop()
    assert (budget.spent, budget.remaining()) == (75.0, 0.0)


def test_start_from_an_earlier_instant_counts_from_it():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    attempt_began = fake.monotonic()
    fake.advance(4.0)  # a restic call that ended in a lock conflict
    budget.start(attempt_began)
    fake.sleep(6.0)
    assert budget.spent == 10.0


def test_a_second_start_keeps_the_first():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    budget.start()
    fake.sleep(5.0)
    budget.start()
    fake.sleep(5.0)
    assert budget.spent == 10.0


def test_the_deadline_is_now_plus_what_remains():
    fake = FakeClock()
    budget = WaitBudget(60.0, fake.clock)
    budget.start()
    fake.sleep(15.0)
    assert budget.deadline() == fake.monotonic() + 45.0


def test_a_zero_budget_never_starts():
    fake = FakeClock()
    budget = WaitBudget(0.0, fake.clock)
    budget.start()
    fake.sleep(10.0)
    budget.stop()
    assert (budget.waiting_since, budget.spent, budget.remaining()) == (None, 0.0, 0.0)
