"""`$METRICS_DIR/restic_<job>.prom`, a textfile for node-exporter, built with prometheus-client.

Values that must survive a run (the last success time, counters of skipped and locked
runs) are carried over from the previous file, so no other state file is needed.
"""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from helper import schedule, workers
from helper.clock import SYSTEM
from helper.logs import RunLog
from helper.masking import printable
from helper.outcome import Status
from helper.result import RunResult
from helper.settings import Settings
from helper.workers import health, jitter

COUNTERS = ("skipped_runs", "locked_runs")
RUNNING_HELP = {
    "running": "1 from a run's start to its final report; still 1 after a run killed outright",
    "running_since_timestamp": "Start of the run in progress (epoch)",
}


def metric_prefix(job: str) -> str:
    return f"restic_{job.replace('-', '_')}"


def prom_path(metrics_dir: str, job: str) -> Path:
    return Path(metrics_dir) / f"{metric_prefix(job)}.prom"


class _Families:
    """A collector that yields prepared metric families, so one registry write emits them."""

    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self) -> list:
        return self.families


def read_previous(path: Path) -> dict[str, float]:
    """Return sample name -> value from an earlier textfile, or {} when there is none."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = path.read_text()
    except OSError:
        return {}
    try:
        return {
            sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
    except ValueError:
        return {}


def write(path: Path, families: list) -> None:
    from prometheus_client import CollectorRegistry, write_to_textfile

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


def schedule_values(job: str, settings: Settings) -> dict[str, tuple[str, object]]:
    """When the job runs next and the longest gap of its schedule, so an alert can say
    "overdue" without hard-coding an interval; nothing for a job no schedule runs."""
    variable = workers.load(job).CRON_VARIABLE
    expression = settings.values.get(variable.lower()) if variable else ""
    if not expression:
        return {}
    zone, now = ZoneInfo(settings.tz), SYSTEM.now()
    # The scheduler's own time: SCHEDULE_JITTER delays the job as it does in the scheduler.
    offset = jitter.offset(settings.hostname, job, settings.schedule_jitter)
    upcoming = schedule.next_fire(schedule.parse(job, variable, expression, offset), now, zone)
    return {
        "next_run_timestamp": (
            "When the schedule fires next (epoch)",
            upcoming.timestamp() if upcoming else None,
        ),
        "expected_interval_seconds": (
            "The longest gap between the schedule's next fire times",
            health.interval_seconds(expression, now, zone),
        ),
    }


def gauge_values(result: RunResult, previous: dict[str, float]) -> dict[str, tuple[str, object]]:
    """Return gauge name (after the prefix) -> (help text, value or None to leave it out)."""
    prefix = metric_prefix(result.job)
    last_success = (
        result.finished_at.timestamp()
        if result.succeeded
        else previous.get(f"{prefix}_last_success_timestamp")
    )
    last_failure = (
        result.finished_at.timestamp() if result.failed else previous.get(f"{prefix}_last_failure_timestamp")
    )
    values = {
        "running": (RUNNING_HELP["running"], 0),
        "last_failure_timestamp": ("End of the last run that exited non-zero (epoch)", last_failure),
        "last_exit_code": ("Exit code of the last run", result.exit_code),
        "last_success": ("1 when the last run ended ok, else 0", int(result.succeeded)),
        "last_duration_seconds": ("Wall time of the last run", result.duration_seconds),
        "last_started_timestamp": ("Start of the last run (epoch)", result.started_at.timestamp()),
        "last_finished_timestamp": ("End of the last run (epoch)", result.finished_at.timestamp()),
        "last_success_timestamp": ("End of the last run that ended ok (epoch)", last_success),
        "last_lock_wait_seconds": ("Seconds the last run waited for locks", result.lock_wait_seconds),
    }
    # Only the job's declared GAUGES: a snapshot id or a tag must never turn into a metric.
    for extra in workers.load(result.job).GAUGES:
        values[f"last_{extra}"] = (f"{extra} of the last run", result.extras.get(extra))
    return values


def build_families(
    result: RunResult, previous: dict[str, float], increments: dict, settings: Settings
) -> list:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    prefix = metric_prefix(result.job)
    labels = {"hostname": result.hostname}
    families = []
    values = {**gauge_values(result, previous), **schedule_values(result.job, settings)}
    for name, (help_text, value) in values.items():
        if value is not None:
            family = GaugeMetricFamily(f"{prefix}_{name}", help_text, labels=list(labels))
            family.add_metric(list(labels.values()), float(value))
            families.append(family)
    status = GaugeMetricFamily(
        f"{prefix}_last_status", "1 for the last run's status", labels=["hostname", "status"]
    )
    for candidate in Status:
        status.add_metric([result.hostname, str(candidate)], float(candidate is result.status))
    families.append(status)
    for counter in COUNTERS:
        total = previous.get(f"{prefix}_{counter}_total", 0.0) + increments.get(counter, 0)
        family = CounterMetricFamily(
            f"{prefix}_{counter}", f"Runs that ended {counter[:-5]}", labels=list(labels)
        )
        family.add_metric(list(labels.values()), total)
        families.append(family)
    return families


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not settings.metrics_dir:
        return
    path = prom_path(settings.metrics_dir, result.job)
    increments = {"locked_runs": int(result.status is Status.LOCKED)}
    write(path, build_families(result, read_previous(path), increments, settings))


def count_skip(job: str, settings: Settings) -> None:
    """Count a run skipped because the run lock was busy, keeping the last run's gauges."""
    if not settings.metrics_dir:
        return
    from prometheus_client.parser import text_string_to_metric_families

    path = prom_path(settings.metrics_dir, job)
    name = f"{metric_prefix(job)}_skipped_runs"
    try:
        families = list(text_string_to_metric_families(path.read_text()))
    except (OSError, ValueError):
        families = []
    counter = next((family for family in families if family.name == name), None)
    if counter is None:
        from prometheus_client.core import CounterMetricFamily

        counter = CounterMetricFamily(name, "Runs that ended skipped", labels=["hostname"])
        counter.add_metric([printable(settings.hostname)], 0.0)
        families.append(counter)
    counter.samples = [sample._replace(value=sample.value + 1) for sample in counter.samples]
    write(path, families)


def announce(job: str, settings: Settings, started_at: datetime) -> None:
    """Set `<job>_running` to 1 and `<job>_running_since_timestamp` as a run starts, keeping the
    last run's gauges: a run killed outright leaves them standing, which an alert can see."""
    if not settings.metrics_dir:
        return
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.parser import text_string_to_metric_families

    path = prom_path(settings.metrics_dir, job)
    prefix = metric_prefix(job)
    wanted = {f"{prefix}_running": 1.0, f"{prefix}_running_since_timestamp": started_at.timestamp()}
    try:
        families = [
            family for family in text_string_to_metric_families(path.read_text()) if family.name not in wanted
        ]
    except (OSError, ValueError):
        families = []
    for name, value in wanted.items():
        family = GaugeMetricFamily(name, RUNNING_HELP[name.removeprefix(prefix + "_")], labels=["hostname"])
        family.add_metric([printable(settings.hostname)], value)
        families.append(family)
    write(path, families)
