"""The scheduler loop reads the time only from the clock it is given: a fake clock decides what
is due, what a tick's delay was, what the heartbeat says, and how long a failed drain waits."""

import io
import json
import os
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from helper import heartbeat
from helper.masking import Masker
from helper.output import LineReader
from helper.scheduler import children, loop, ticks
from helper.scheduler.console import Console
from helper.scheduler.state import LATE_LIMIT, Loop, plan_jobs
from helper.workers import configuration
from tests.support.fake_clock import FakeClock

NOON = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)  # FakeClock's start


def fake_loop(tmp_path, fake: FakeClock) -> Loop:
    environment = {
        "BACKUP_CRON": "",
        "CHECK_CRON": "*/5 * * * * *",
        "TZ": "UTC",
        "LOG_DIR": str(tmp_path),
        "LOCK_DIR": str(tmp_path),
        "RESTIC_REPOSITORY": str(tmp_path / "repository"),
        "RESTIC_PASSWORD": "unused",
        "STOP_GRACE_SECONDS": "20",
    }
    plan = configuration.load(environment)
    console = Console(Masker.from_secrets(()), io.StringIO())
    state = Loop(plan, environment, console, signals=None, clock=fake.clock)
    state.jobs = plan_jobs(plan.schedules, plan.zone, state.clock.now())
    return state


def ended_output() -> LineReader:
    """The output of a stand-in worker: a pipe whose writer is already gone."""
    read_end, write_end = os.pipe()
    os.close(write_end)
    return LineReader(os.fdopen(read_end, "rb"), lambda _line: None)


def spawned_at_the_fake_now(monkeypatch) -> list:
    """Stand in for the worker's process: record the spawn, return a Child dated by the clock."""
    started = []

    def spawn(job, environment, scheduled_for, clock, emit):
        child = children.Child(job, SimpleNamespace(pid=4242), scheduled_for, clock.now(), ended_output())
        started.append(child)
        return child

    monkeypatch.setattr(ticks.children, "spawn", spawn)
    return started


def test_a_tick_is_due_at_the_fake_time_and_its_delay_is_read_from_the_fake_clock(tmp_path, monkeypatch):
    fake = FakeClock()
    state = fake_loop(tmp_path, fake)
    assert state.started_at == NOON
    started = spawned_at_the_fake_now(monkeypatch)
    fake.sleep(4.9)
    ticks.tick(state)
    assert started == []
    fake.sleep(0.103)
    ticks.tick(state)
    (child,) = started
    assert (child.scheduled_for, child.started_at) == (NOON + timedelta(seconds=5), fake.now())
    assert "⏰ check tick 2024-05-01 12:00:05 UTC → pid 4242 (+3.0 ms)" in state.console.stream.getvalue()
    document = json.loads(heartbeat.path_in(str(tmp_path)).read_text())
    assert document["written_at"] == heartbeat.iso(fake.now())
    assert document["jobs"]["check"]["next_fire"] == heartbeat.iso(NOON + timedelta(seconds=10))


def test_a_tick_found_too_late_by_the_fake_clock_is_skipped(tmp_path, monkeypatch):
    fake = FakeClock()
    state = fake_loop(tmp_path, fake)
    started = spawned_at_the_fake_now(monkeypatch)
    fake.advance(5 + LATE_LIMIT.total_seconds() + 1)  # a suspended host
    ticks.tick(state)
    assert started == []
    assert state.jobs["check"].missed_ticks == 1
    assert "skipped the tick of 2024-05-01 12:00:05 UTC" in state.console.stream.getvalue()


def test_a_failed_drain_waits_out_the_grace_on_the_fake_clock(tmp_path):
    fake = FakeClock()
    state = fake_loop(tmp_path, fake)
    hung = children.Child("check", SimpleNamespace(pid=-4242, returncode=None), NOON, NOON, ended_output())
    state.children[hung.pid] = hung  # never exits: no real process answers to it
    deadline = fake.monotonic() + state.plan.settings.stop_grace_seconds
    loop.wait_out_grace(state, deadline)
    assert fake.elapsed == state.plan.settings.stop_grace_seconds
