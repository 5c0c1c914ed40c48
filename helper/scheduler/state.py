"""The scheduler's state between wake-ups, and the timing decisions made on it: which job is
due, which tick came too late, when to wake next. The clock is a parameter, so tests drive it."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from helper import heartbeat
from helper.clock import SYSTEM, Clock, wall_time
from helper.schedule import Schedule, next_fire
from helper.scheduler import fires
from helper.scheduler.children import Child
from helper.scheduler.console import Console
from helper.scheduler.signals import SignalPipe
from helper.workers import configuration

# A tick found later than this (a suspended host, a clock step) is skipped, not run.
LATE_LIMIT = timedelta(seconds=60)


@dataclass
class JobState:
    """One scheduled job: when it fires next, and what its last tick did."""

    schedule: Schedule
    next_fire: datetime | None
    last_tick: datetime | None = None
    last_pid: int | None = None
    last_exit_code: int | None = None
    ticks: int = 0
    missed_ticks: int = 0


@dataclass
class Loop:
    """Everything the running scheduler holds. Every reading of the time and every sleep goes
    through `clock`, so a test drives the loop with a fake one."""

    plan: configuration.Plan
    base_environment: dict[str, str]
    console: Console
    signals: SignalPipe
    clock: Clock = SYSTEM
    jobs: dict[str, JobState] = field(default_factory=dict)
    children: dict[int, Child] = field(default_factory=dict)
    started_at: datetime | None = None  # default: the clock's now when the loop is built
    orphans_reaped: int = 0
    state: str = "running"
    # Each job's last tick dealt with, kept in LOG_DIR for the next start (MISSED_RUN_POLICY).
    last_fires: dict[str, fires.Fire] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.started_at is None:
            self.started_at = self.clock.now()

    def say(self, text: str) -> None:
        self.console.line("scheduler", text)


def plan_jobs(schedules, zone, now: datetime, previous: dict[str, JobState] | None = None) -> dict:
    """Return a JobState per schedule; an unchanged schedule keeps its state and next fire."""
    jobs = {}
    for schedule in schedules:
        kept = (previous or {}).get(schedule.job)
        if kept is not None and kept.schedule == schedule:
            jobs[schedule.job] = kept
        else:
            jobs[schedule.job] = JobState(schedule, next_fire(schedule, now, zone))
    return jobs


def advance(jobs: dict[str, JobState], now: datetime, zone) -> tuple[list, list]:
    """Given the clock, move every due job to its next fire after `now`. Return (jobs to run
    now with their scheduled instant, jobs whose tick came too late to run)."""
    run, missed = [], []
    for job in jobs.values():
        scheduled = job.next_fire
        if scheduled is None or scheduled > now:
            continue
        job.next_fire = next_fire(job.schedule, now, zone)
        if now - scheduled > LATE_LIMIT:
            job.missed_ticks += 1
            missed.append((job, scheduled))
        else:
            run.append((job, scheduled))
    return run, missed


def earliest(jobs: dict[str, JobState]) -> datetime | None:
    """Given the jobs, return the earliest next fire (when to wake), or None for never."""
    return min((job.next_fire for job in jobs.values() if job.next_fire), default=None)


def local(loop: Loop, moment: datetime) -> str:
    """Given an instant, return it as TZ wall time for log lines."""
    return wall_time(moment, loop.plan.zone)


def write_heartbeat(loop: Loop) -> None:
    """Rewrite `$LOG_DIR/scheduler.json` from the loop's state; a failure is logged, not raised."""
    running = {child.job: child.pid for child in loop.children.values()}
    document = {
        **heartbeat.identity(loop.plan.settings.hostname),
        "state": loop.state,
        "started_at": heartbeat.iso(loop.started_at),
        "written_at": heartbeat.iso(loop.clock.now()),
        "time_zone": loop.plan.settings.tz,
        "next_wake_at": heartbeat.iso(earliest(loop.jobs)) if loop.state == "running" else None,
        "orphans_reaped": loop.orphans_reaped,
        "jobs": {
            name: {
                "variable": job.schedule.variable,
                "expression": job.schedule.expression,
                "next_fire": heartbeat.iso(job.next_fire),
                "last_tick": heartbeat.iso(job.last_tick),
                "last_pid": job.last_pid,
                "last_exit_code": job.last_exit_code,
                "running_pid": running.get(name),
                "ticks": job.ticks,
                "missed_ticks": job.missed_ticks,
            }
            for name, job in loop.jobs.items()
        },
    }
    try:
        heartbeat.write(heartbeat.path_in(loop.plan.settings.log_dir), document)
    except OSError as error:
        loop.say(f"⚠️ cannot write the heartbeat: {error}")


def save_fires(loop: Loop) -> None:
    """Rewrite `$LOG_DIR/scheduler-fires.json` from the loop; a failure is logged, not raised:
    it costs at most one catch-up that a later start cannot know about."""
    try:
        fires.write(fires.path_in(loop.plan.settings.log_dir), loop.last_fires)
    except OSError as error:
        loop.say(f"⚠️ cannot record the last fire times: {error}")


def record_fire(loop: Loop, schedule: Schedule, scheduled: datetime) -> None:
    """Note a tick as the job's last fire, so the next start does not catch it up."""
    loop.last_fires[schedule.job] = fires.Fire(schedule.expression, scheduled)
    save_fires(loop)
