"""`$METRICS_DIR/restic_locks.prom`: the repository's locks as the last inspection saw them."""

import sys

from helper.locks.verdict import STALE
from helper.report import metrics, wait_for_preload
from helper.runlog import RunLog

GAUGES = {
    "restic_locks_total": "Repository locks at the last inspection",
    "restic_locks_exclusive": "Exclusive repository locks at the last inspection",
    "restic_locks_stale": "Repository locks the helper judged stale at the last inspection",
    "restic_lock_oldest_age_seconds": "Age of the oldest repository lock (0 when there is none)",
    "restic_locks_inspected_timestamp": "When the locks were last inspected (epoch)",
}


def values(inspection) -> dict[str, float]:
    """Given an Inspection, return the value of every gauge."""
    ages = [lock.age(inspection.at) for lock in inspection.locks]
    return {
        "restic_locks_total": len(inspection.locks),
        "restic_locks_exclusive": sum(lock.record.exclusive for lock in inspection.locks),
        "restic_locks_stale": sum(lock.verdict.verdict == STALE for lock in inspection.locks),
        "restic_lock_oldest_age_seconds": max(
            [age for age in ages if age is not None and age > 0], default=0
        ),
        "restic_locks_inspected_timestamp": inspection.at,
    }


def write(inspection, metrics_dir: str, hostname: str, log: RunLog | None = None) -> None:
    """Write the textfile atomically; nothing when METRICS_DIR is empty. Like any reporter, a
    failure (an unwritable METRICS_DIR, a broken library) is only a warning: it must not turn
    a lock wait or a failed run into an internal error without an audit trail."""
    if not metrics_dir:
        return
    try:
        _write(inspection, metrics_dir, hostname)
    except Exception as error:  # noqa: BLE001 - a reporter never changes the run's outcome
        message = f"lock metrics not written: {error}"
        if log is None:
            sys.stderr.write(f"⚠️ {message}\n")
        else:
            log.warning(message)


def _write(inspection, metrics_dir: str, hostname: str) -> None:
    wait_for_preload()
    from prometheus_client.core import GaugeMetricFamily

    families = []
    for name, value in values(inspection).items():
        family = GaugeMetricFamily(name, GAUGES[name], labels=["hostname"])
        family.add_metric([hostname], float(value))
        families.append(family)
    metrics.write(metrics.prom_path(metrics_dir, "locks"), families)
