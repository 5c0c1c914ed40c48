"""MISSED_RUN_POLICY at a scheduler's start: with `once`, a job whose latest tick passed while no
scheduler ran is run once, after the start-up probe, and a restart does not run it again; with
`skip`, it is only reported. First with a fake clock, then as real processes."""

import io
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from helper import events
from helper.masking import Masker
from helper.scheduler import catch_up, fires, ticks
from helper.scheduler.console import Console
from helper.scheduler.state import LATE_LIMIT, Loop, plan_jobs
from helper.workers import configuration
from tests.scheduler.test_loop_clock import spawned_at_the_fake_now
from tests.support.fake_clock import FakeClock

NOON = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)  # FakeClock's start


@pytest.fixture(autouse=True)
def own_event_sink(monkeypatch):
    """The sink is the process's; each test here opens its own, gone after it."""
    monkeypatch.setattr(events, "SINK", [])


def starting_loop(tmp_path, fake: FakeClock, policy: str) -> Loop:
    """A scheduler at its start, as loop.schedule() has it just before catch_up.start."""
    environment = {
        "BACKUP_CRON": "",
        "CHECK_CRON": "0 3 * * *",
        "MISSED_RUN_POLICY": policy,
        "TZ": "UTC",
        "LOG_DIR": str(tmp_path),
        "LOCK_DIR": str(tmp_path),
        "RESTIC_REPOSITORY": str(tmp_path / "repository"),
        "RESTIC_PASSWORD": "unused",
    }
    plan = configuration.load(environment)
    assert plan.problems == ()
    console = Console(Masker.from_secrets(()), io.StringIO())
    state = Loop(plan, environment, console, signals=None, clock=fake.clock)
    state.jobs = plan_jobs(plan.schedules, plan.zone, state.clock.now())
    events.open_sink(str(tmp_path), Masker.from_secrets(()), "nas")
    return state


def recorded(tmp_path) -> dict:
    return json.loads(fires.path_in(str(tmp_path)).read_text())


def logged_events(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / events.FILE_NAME).read_text().splitlines()]


def test_once_runs_the_latest_missed_tick_once_and_a_restart_runs_nothing(tmp_path, monkeypatch):
    three_days_ago = datetime(2024, 4, 28, 3, 0, tzinfo=UTC)
    fires.write(fires.path_in(str(tmp_path)), {"check": fires.Fire("0 3 * * *", three_days_ago)})
    started = spawned_at_the_fake_now(monkeypatch)
    fake = FakeClock()

    first = starting_loop(tmp_path, fake, "once")
    catch_up.start(first)
    (child,) = started
    tick = datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert (child.job, child.scheduled_for) == ("check", tick)
    output = first.console.stream.getvalue()
    assert (
        "⏰ check: catching up the missed tick of 2024-05-01 03:00:00 UTC (MISSED_RUN_POLICY=once) → pid 4242"
        in output
    )
    assert datetime.fromisoformat(recorded(tmp_path)["check"]["last_fire"]) == tick
    assert [(event["event"], event["job"]) for event in logged_events(tmp_path)] == [("catch_up", "check")]

    fake.advance(60)
    catch_up.start(starting_loop(tmp_path, fake, "once"))
    assert len(started) == 1, "a restart ran the caught-up tick again"


def test_skip_runs_nothing_and_says_which_tick_was_missed(tmp_path, monkeypatch):
    fires.write(fires.path_in(str(tmp_path)), {"check": fires.Fire("0 3 * * *", NOON - timedelta(days=2))})
    started = spawned_at_the_fake_now(monkeypatch)
    state = starting_loop(tmp_path, FakeClock(), "skip")
    catch_up.start(state)
    assert started == []
    assert (
        "⏭ check: the tick of 2024-05-01 03:00:00 UTC passed while the scheduler was not running; "
        "not run (MISSED_RUN_POLICY=skip)"
    ) in state.console.stream.getvalue()
    assert [event["event"] for event in logged_events(tmp_path)] == ["missed"]
    # Dealt with: a later start, even one that would catch up, neither reports nor runs it.
    again = starting_loop(tmp_path, FakeClock(), "once")
    catch_up.start(again)
    assert started == [] and "03:00:00" not in again.console.stream.getvalue()


def test_a_first_start_catches_nothing_up_and_records_the_start(tmp_path, monkeypatch):
    started = spawned_at_the_fake_now(monkeypatch)
    fake = FakeClock()
    catch_up.start(starting_loop(tmp_path, fake, "once"))
    assert started == []
    assert datetime.fromisoformat(recorded(tmp_path)["check"]["last_fire"]) == NOON
    fake.advance(timedelta(days=1).total_seconds())  # a stop over the next 03:00
    catch_up.start(starting_loop(tmp_path, fake, "once"))
    assert [child.scheduled_for for child in started] == [datetime(2024, 5, 2, 3, 0, tzinfo=UTC)]


def test_a_tick_a_running_scheduler_found_too_late_is_not_caught_up_at_the_next_start(tmp_path, monkeypatch):
    started = spawned_at_the_fake_now(monkeypatch)
    fake = FakeClock()
    running = starting_loop(tmp_path, fake, "once")
    catch_up.start(running)
    fake.advance((timedelta(hours=15) + LATE_LIMIT).total_seconds() + 1)  # suspended over 03:00
    ticks.tick(running)
    assert running.jobs["check"].missed_ticks == 1 and started == []
    catch_up.start(starting_loop(tmp_path, fake, "once"))
    assert started == []


def test_an_unknown_policy_is_a_problem_naming_it(sandbox, start_entry):
    scheduler = start_entry(MISSED_RUN_POLICY="always", CHECK_CRON="0 3 * * *")
    assert scheduler.finish() == 2
    assert "❌ MISSED_RUN_POLICY: expected one of skip, once, got 'always'" in scheduler.output


def daily_at(moment: datetime) -> str:
    """A 6-field expression that fires once a day, at `moment`'s UTC time of day."""
    return f"{moment.second} {moment.minute} {moment.hour} * * *"


def test_a_restart_after_a_missed_tick_runs_it_once_after_the_probe_and_never_twice(sandbox, start_entry):
    # Time enough for the first scheduler to start and stop on a busy machine.
    tick = (datetime.now(UTC) + timedelta(seconds=8)).replace(microsecond=0)
    settings = {"BACKUP_CRON": daily_at(tick), "MISSED_RUN_POLICY": "once"}
    first = start_entry(**settings)
    first.wait_for("scheduler ready")
    assert first.stop()[0] == 0
    assert datetime.now(UTC) < tick, "the first scheduler must stop before the tick"
    time.sleep(max(0.0, (tick - datetime.now(UTC)).total_seconds()) + 0.5)

    second = start_entry(**settings, RESTIC_CHECK_REPOSITORY_STATUS="ON")
    second.wait_for(r"\[backup\] ✅ backup finished: ok", timeout=60)
    assert second.stop()[0] == 0, second.output
    catch_ups = second.matching(r"catching up the missed tick of .* \(MISSED_RUN_POLICY=once\)")
    assert len(catch_ups) == 1, second.output
    assert f"{tick:%H:%M:%S} UTC" in catch_ups[0]
    probed = second.lines.index(second.matching(r"\[probe\] ✅ repository .* is reachable")[0])
    assert probed < second.lines.index(catch_ups[0]), "the catch-up ran before the probe"

    third = start_entry(**settings)
    third.wait_for("scheduler ready")
    assert third.stop()[0] == 0
    assert not third.matching("catching up|passed while the scheduler was not running"), third.output
    assert len(json.loads(sandbox.restic("snapshots", "--json").stdout)) == 1
    kinds = [
        json.loads(line)["event"] for line in (sandbox.log_dir / events.FILE_NAME).read_text().splitlines()
    ]
    assert kinds.count("catch_up") == 1
