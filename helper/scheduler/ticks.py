"""Scheduling proper: announce the plan, start each due job as a worker child, and reload the
schedules from ENV_FILE on SIGHUP."""

import os
from datetime import datetime

from helper import events, workers
from helper import settings as settings_module
from helper.outcome import EXIT_CANNOT_START
from helper.scheduler import children, fires
from helper.scheduler.describe import describe, jitter_text
from helper.scheduler.state import (
    JobState,
    Loop,
    advance,
    earliest,
    local,
    plan_jobs,
    record_fire,
    save_fires,
    write_heartbeat,
)
from helper.workers import configuration


def announce(loop: Loop) -> None:
    """Log the plan: each job's expression in words and its next fire, then "scheduler ready"."""
    settings = loop.plan.settings
    loop.say(
        f"restic-helper scheduler, pid {os.getpid()} on {settings.hostname}, TZ {settings.tz}, "
        f"STOP_GRACE_SECONDS {settings.stop_grace_seconds}"
    )
    for job in workers.scheduled():
        state = loop.jobs.get(job.NAME)
        if state is None:
            loop.say(f"{job.NAME}: disabled ({job.CRON_VARIABLE} is empty)")
            continue
        upcoming = local(loop, state.next_fire) if state.next_fire else "never"
        offset = state.schedule.offset.total_seconds()
        delay = f", {jitter_text(offset)}" if settings.schedule_jitter else ""
        loop.say(
            f"{job.NAME}: {job.CRON_VARIABLE}={state.schedule.expression} "
            f"({describe(state.schedule)}{delay}); next {upcoming}"
        )
    wake = earliest(loop.jobs)
    loop.say(f"scheduler ready: {len(loop.jobs)} job(s), next fire {local(loop, wake) if wake else 'none'}")
    events.open_sink(settings.log_dir, settings.masker, settings.hostname)
    events.emit("scheduler_started", jobs=sorted(loop.jobs), next_fire=wake)


def running_child(loop: Loop, job: str) -> children.Child | None:
    """Return the job's worker that has not exited yet, if any."""
    return next((c for c in loop.children.values() if c.job == job and c.exit_code is None), None)


def skip_overlap(loop: Loop, job: JobState, scheduled: datetime, previous: children.Child) -> None:
    """The job's previous worker still runs (it may be waiting out SCHEDULE_LOCK_WAIT): start
    nothing, so no waiting runs pile up, and log and count the skip as a busy run lock is."""
    # Loaded on the first such skip only: recording it is the one thing here that needs it.
    from helper.report import skips

    name = job.schedule.job
    line = (
        f"⏭ {name} skipped: previous run still active (pid {previous.pid}, the tick of "
        f"{local(loop, previous.scheduled_for)}); the tick of {local(loop, scheduled)} is not replayed"
    )
    skips.record(name, line, loop.plan.settings, loop.say)


def dispatch(loop: Loop, job: JobState, scheduled: datetime, catching_up: bool = False) -> None:
    """Start the job's worker for the tick scheduled at `scheduled` and track it; record the
    tick as the job's last fire, started or skipped for an overlap, since a later start must
    not count it missed. `catching_up`: the tick passed before this scheduler started."""
    previous = running_child(loop, job.schedule.job)
    if previous is not None:
        record_fire(loop, job.schedule, scheduled)
        skip_overlap(loop, job, scheduled, previous)
        return
    try:
        child = children.spawn(
            job.schedule.job, loop.plan.environment, scheduled, loop.clock, loop.console.line
        )
    except OSError as error:
        loop.say(f"❌ {job.schedule.job}: cannot start the worker: {error}")
        job.last_exit_code = EXIT_CANNOT_START
        return
    delay = (child.started_at - scheduled).total_seconds() * 1000
    loop.children[child.pid] = child
    job.last_tick, job.last_pid, job.ticks = scheduled, child.pid, job.ticks + 1
    record_fire(loop, job.schedule, scheduled)
    if catching_up:
        loop.say(
            f"⏰ {job.schedule.job}: catching up the missed tick of {local(loop, scheduled)} "
            f"(MISSED_RUN_POLICY=once) → pid {child.pid}"
        )
        events.emit("catch_up", job.schedule.job, tick=scheduled)
    else:
        loop.say(f"⏰ {job.schedule.job} tick {local(loop, scheduled)} → pid {child.pid} (+{delay:.1f} ms)")


def tick(loop: Loop) -> None:
    """Run every job that is due now, warn about ticks that came too late."""
    run, missed = advance(loop.jobs, loop.clock.now(), loop.plan.zone)
    for job, scheduled in missed:
        loop.say(f"⚠️ {job.schedule.job}: skipped the tick of {local(loop, scheduled)}, found too late to run")
        events.emit("missed", job.schedule.job, tick=scheduled)
        record_fire(loop, job.schedule, scheduled)  # dealt with: no later start catches it up
    for job, scheduled in run:
        dispatch(loop, job, scheduled)
    if run or missed:
        write_heartbeat(loop)


def reload(loop: Loop) -> None:
    """SIGHUP: re-read ENV_FILE and take its schedules, or keep the current ones on any problem."""
    if not loop.plan.settings.env_file:
        loop.say("SIGHUP ignored: ENV_FILE is not set, so there is nothing to reload")
        return
    plan = configuration.load(loop.base_environment)
    if plan.problems:
        for problem in plan.problems:
            loop.say(f"❌ reload rejected: {problem}")
        loop.say("keeping the current schedules")
        return
    for warning in plan.warnings:
        loop.say(f"⚠️ {warning}")
    zone_changed = plan.settings.tz != loop.plan.settings.tz
    loop.plan = plan
    settings_module.apply_time_zone(plan.settings)
    loop.jobs = plan_jobs(plan.schedules, plan.zone, loop.clock.now(), None if zone_changed else loop.jobs)
    # A changed expression starts its records afresh, as it would at a start.
    loop.last_fires = fires.baseline(loop.last_fires, plan.schedules, loop.clock.now())
    save_fires(loop)
    loop.say(f"SIGHUP: reloaded the schedules from {plan.settings.env_file}")
    announce(loop)
    write_heartbeat(loop)
