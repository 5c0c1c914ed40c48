"""The configuration as the scheduler, config-check, cron-list and doctor judge it alike: the
settings, the ENV_FILE overlay and each job's Schedule, with every problem and warning
collected at once, each naming its variable. Here, in the workers' layer, because it reads the
registry and a job (doctor) reports on it."""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from helper import schedule as schedule_module
from helper import workers
from helper.clock import SYSTEM, wall_time
from helper.schedule import Schedule
from helper.settings import Settings
from helper.workers import forget_scope, jitter

# ENV_FILE reloads the schedules; other variables would make scheduled runs differ from
# `docker exec` runs, which never read the file.
# A schedule's old name (SYNC_CRON) is reloadable as the schedule is.
RELOADABLE = frozenset({"TZ"}) | {
    name
    for job in workers.scheduled()
    for name in (job.CRON_VARIABLE, getattr(job, "CRON_OLD_NAME", ""))
    if name
}
# How many fire times of the rarer job are checked when looking for two jobs due at once.
COLLISION_HORIZON = 200
# What a scheduled job's missing setting costs beyond its own runs failing.
SCHEDULED_CONSEQUENCES = {
    "forget": (
        "; backups skip their inline forget while FORGET_CRON is set, so nothing would ever be forgotten"
    ),
}


@dataclass(frozen=True)
class Plan:
    """Everything the scheduler needs, or the problems that stop it."""

    settings: Settings
    environment: Mapping[str, str]
    schedules: tuple[Schedule, ...]
    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.tz)


def parse_environment_file(text: str) -> tuple[dict[str, str], list[str]]:
    """Given `KEY=VALUE` lines (blank, `#` and `export ` prefixes allowed, one level of quotes),
    return the values and a problem per malformed line."""
    values: dict[str, str] = {}
    problems = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if not separator or not key.replace("_", "").isalnum():
            problems.append(f"ENV_FILE: line {number} is not KEY=VALUE: {raw.strip()!r}")
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values, problems


def read_environment_file(path: str) -> tuple[dict[str, str], list[str], list[str]]:
    """Return (the reloadable values in the file, problems, warnings)."""
    try:
        with open(path, encoding="utf-8") as handle:
            values, problems = parse_environment_file(handle.read())
    except (OSError, UnicodeDecodeError) as error:
        return {}, [f"ENV_FILE: cannot read {path}: {error}"], []
    ignored = sorted(set(values) - RELOADABLE)
    warnings = []
    if ignored:
        warnings.append(
            f"ENV_FILE: ignoring {', '.join(ignored)}: only {', '.join(sorted(RELOADABLE))} are read from it"
        )
    return {key: value for key, value in values.items() if key in RELOADABLE}, problems, warnings


def job_schedules(settings: Settings) -> tuple[list[Schedule], list[str]]:
    """Parse every enabled job's expression with croniter; return the schedules and problems."""
    schedules, problems = [], []
    for job in workers.scheduled():
        expression = settings.values[job.CRON_VARIABLE.lower()]
        if not expression:
            continue
        offset = jitter.offset(settings.hostname, job.NAME, settings.schedule_jitter)
        try:
            schedules.append(schedule_module.parse(job.NAME, job.CRON_VARIABLE, expression, offset))
        except ValueError as error:
            problems.append(f"{job.CRON_VARIABLE}: {error}")
    return schedules, problems


def job_needs(settings: Settings, schedules: list[Schedule]) -> list[str]:
    """Return a problem for each scheduled job whose every run would end in a configuration
    error (exit 2), naming its schedule and what it lacks."""
    problems = []
    for schedule in schedules:
        for lack in workers.load(schedule.job).requirements(settings):
            consequence = SCHEDULED_CONSEQUENCES.get(schedule.job, "")
            problems.append(
                f"{schedule.variable}: {schedule.job} is scheduled, but every run would exit 2: "
                f"{lack}{consequence}; empty {schedule.variable} to disable it"
            )
    return problems


def first_common_fire(times: dict[Schedule, list[datetime]], zone: ZoneInfo, pair) -> datetime | None:
    """Return the first instant both jobs fire at, checked over the rarer job's fire times."""
    rarer, other = sorted(pair, key=lambda schedule: times[schedule][-1])[::-1]
    for instant in times[rarer]:
        if schedule_module.next_fire(other, instant - schedule_module.ONE_MICROSECOND, zone) == instant:
            return instant
    return None


def schedule_warnings(schedules: list[Schedule], zone: ZoneInfo, settings: Settings) -> list[str]:
    """Warn about expressions that never fire, jobs due in the same second, and a
    SCHEDULE_JITTER wider than a job's interval."""
    now, lock_wait = SYSTEM.now(), settings.schedule_lock_wait
    times = {
        schedule: schedule_module.fire_times(schedule, now, zone, COLLISION_HORIZON) for schedule in schedules
    }
    warnings = [
        f"{schedule.variable}: {schedule.expression!r} can never fire, so {schedule.job} never runs"
        for schedule in schedules
        if not times[schedule]
    ]
    too_wide = (
        jitter.too_wide(schedule, times[schedule], settings.schedule_jitter) for schedule in schedules
    )
    warnings += [warning for warning in too_wide if warning]
    # Only jobs that take the run lock can skip each other.
    firing = [
        schedule for schedule in schedules if times[schedule] and workers.load(schedule.job).TAKES_RUN_LOCK
    ]
    for index, first in enumerate(firing):
        for second in firing[index + 1 :]:
            common = first_common_fire(times, zone, (first, second)) if lock_wait <= 0 else None
            if common:
                warnings.append(
                    f"{first.variable} and {second.variable} both fire at "
                    f"{wall_time(common, zone)}: they share the run lock, so one "
                    "of them is skipped; stagger them or set SCHEDULE_LOCK_WAIT"
                )
    return warnings


def unreadable_files(settings: Settings, environment: Mapping[str, str]) -> list[str]:
    """Files restic and rclone read themselves, checked here so that a typo stops the start
    with its name rather than every run: RESTIC_CACERT, and RCLONE_CONFIG for an `rclone:`
    repository that names a remote (an inline `rclone::backend,…` or a remote defined in
    variables needs none)."""
    wanted = [("RESTIC_CACERT", environment.get("RESTIC_CACERT", ""))]
    remote = settings.restic_repository.removeprefix("rclone:")
    # rclone also reads remotes from RCLONE_CONFIG_<REMOTE>_* variables, without any file.
    from_variables = any(name.startswith("RCLONE_CONFIG_") for name in environment)
    if remote != settings.restic_repository and not remote.startswith(":") and not from_variables:
        wanted.append(("RCLONE_CONFIG", environment.get("RCLONE_CONFIG", "")))
    return [
        f"{name}: cannot read {path}"
        + (" (the rclone: repository's remote is defined there)" if name == "RCLONE_CONFIG" else "")
        for name, path in wanted
        if path and not os.access(path, os.R_OK)
    ]


def load(base: Mapping[str, str] | None = None) -> Plan:
    """Given the process environment (default: os.environ), return the Plan: the environment
    with ENV_FILE applied, its settings and schedules, and every problem and warning."""
    environment = dict(os.environ if base is None else base)
    problems, warnings = [], []
    file_name = environment.get("ENV_FILE", "")
    if file_name:
        overlay, file_problems, file_warnings = read_environment_file(file_name)
        environment.update(overlay)
        problems += file_problems
        warnings += file_warnings
    loaded, setting_problems = workers.load_settings(environment)
    problems += setting_problems
    warnings += loaded.warnings
    schedules, cron_problems = job_schedules(loaded)
    problems += cron_problems + job_needs(loaded, schedules) + unreadable_files(loaded, environment)
    warnings += schedule_warnings(schedules, ZoneInfo(loaded.tz), loaded)
    warnings += forget_scope.scope_warnings(loaded)
    return Plan(loaded, environment, tuple(schedules), tuple(problems), tuple(warnings))
