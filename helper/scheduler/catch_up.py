"""MISSED_RUN_POLICY: what a starting scheduler does about ticks that passed while no scheduler
ran (a host switched off over night, a container stopped for an upgrade).

`skip` (the default) runs nothing and says which tick was missed, once. `once` starts each such job
once, at once, for its latest missed tick, however many passed: a week away is one backup, not
a burst of them. It runs after the start-up probe, so a host whose network comes up after it
boots does not fail its catch-up. The catch-up is recorded as the job's last fire, so a restart
right after it does not run it again.

A job the records do not know (a first start, a job newly enabled, an expression changed
since) has missed nothing that the scheduler can tell: it is recorded as fired now instead.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helper import events
from helper.schedule import Schedule, next_fire
from helper.scheduler import fires, ticks
from helper.scheduler.state import Loop, local, save_fires, write_heartbeat

# How far back the search for the latest missed tick looks first; it doubles from there.
FIRST_LOOK_BACK = timedelta(minutes=1)


def latest_fire(schedule: Schedule, since: datetime, until: datetime, zone: ZoneInfo) -> datetime | None:
    """Return the job's latest fire time in (since, until], or None when it has none there.
    The window grows backwards from `until`, so a long absence costs a few steps, not one step
    per tick that passed."""
    look_back = FIRST_LOOK_BACK
    while True:
        start = max(since, until - look_back)
        first = next_fire(schedule, start, zone)
        if first is not None and first <= until:
            latest = first
            while (following := next_fire(schedule, latest, zone)) is not None and following <= until:
                latest = following
            return latest
        if start == since:
            return None
        look_back *= 2


def missed_ticks(
    records: dict[str, fires.Fire], schedules: tuple[Schedule, ...], now: datetime, zone: ZoneInfo
) -> dict[str, datetime]:
    """Given the recorded last fires, return job -> its latest tick at or before `now` that came
    after its recorded fire: one per job, however many passed. A job without a record, or whose
    record is of another expression, is left out: nothing it missed is known."""
    missed = {}
    for schedule in schedules:
        record = records.get(schedule.job)
        if record is None or record.expression != schedule.expression:
            continue
        tick = latest_fire(schedule, record.last_fire, now, zone)
        if tick is not None:
            missed[schedule.job] = tick
    return missed


def start(loop: Loop) -> None:
    """At start-up, once the probe has passed: catch up (MISSED_RUN_POLICY=once) or report
    (skip) each job's missed tick, and record every job the records did not know as fired now.
    Either way the missed tick becomes the job's last fire: it is dealt with."""
    path = fires.path_in(loop.plan.settings.log_dir)
    records, problem = fires.read(path)
    if problem:
        loop.say(f"⚠️ {problem}; starting its records afresh, so no missed tick is known this time")
    now = loop.clock.now()
    missed = missed_ticks(records, loop.plan.schedules, now, loop.plan.zone)
    loop.last_fires = fires.baseline(records, loop.plan.schedules, now)
    policy = loop.plan.settings.missed_run_policy
    for job, tick in missed.items():
        if policy == "once":
            ticks.dispatch(loop, loop.jobs[job], tick, catching_up=True)
            continue
        loop.say(
            f"⏭ {job}: the tick of {local(loop, tick)} passed while the scheduler was not "
            f"running; not run (MISSED_RUN_POLICY={policy})"
        )
        events.emit("missed", job, tick=tick)
        loop.last_fires[job] = fires.Fire(loop.jobs[job].schedule.expression, tick)
    save_fires(loop)
    if missed and policy == "once":
        write_heartbeat(loop)
