"""`$METRICS_DIR/restic_locks.prom`: the repository's locks as the run's last inspection saw them
(after any removal). A run that never inspected the locks leaves the file alone."""

from helper.logs import RunLog
from helper.report import metrics
from helper.result import RunResult
from helper.settings import Settings

# Gauge name -> (the inspection summary's key, help text).
GAUGES = {
    "restic_locks_held": ("total", "Repository locks at the last inspection"),
    "restic_locks_exclusive": ("exclusive", "Exclusive repository locks at the last inspection"),
    "restic_locks_stale": ("stale", "Repository locks the helper judged stale at the last inspection"),
    "restic_lock_oldest_age_seconds": (
        "oldest_age_seconds",
        "Age of the oldest repository lock (0 when there is none)",
    ),
    "restic_locks_inspected_timestamp": ("inspected_at", "When the locks were last inspected (epoch)"),
}


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not settings.metrics_dir or result.locks is None:
        return
    from prometheus_client.core import GaugeMetricFamily

    families = []
    for name, (key, help_text) in GAUGES.items():
        family = GaugeMetricFamily(name, help_text, labels=["hostname"])
        family.add_metric([result.hostname], float(result.locks[key]))
        families.append(family)
    metrics.write(metrics.prom_path(settings.metrics_dir, "locks"), families)
