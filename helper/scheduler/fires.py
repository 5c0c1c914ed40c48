"""`$LOG_DIR/scheduler-fires.json`: each job's expression and the last tick a running scheduler
dealt with (started it, or skipped it for an overlap or for coming too late), kept across
restarts so that a new scheduler knows which ticks passed while none was running
(MISSED_RUN_POLICY). Written atomically after every such tick:

    {"backup": {"expression": "0 3 * * *", "last_fire": "2024-05-01T03:04:12.000+02:00"}}
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from helper import heartbeat
from helper.files import atomic_write_text
from helper.schedule import Schedule

FILE_NAME = "scheduler-fires.json"


@dataclass(frozen=True)
class Fire:
    """The last tick of a job that a scheduler dealt with, under the expression of that time."""

    expression: str
    last_fire: datetime


def path_in(log_dir: str) -> Path:
    return Path(log_dir) / FILE_NAME


def read(path: Path) -> tuple[dict[str, Fire], str | None]:
    """Return (job -> its Fire, None), or ({}, why) when the file exists but cannot be read.
    No file is no records: a first start. An entry that makes no sense is left out."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as error:
        return {}, f"cannot read {path}: {error}"
    if not isinstance(document, dict):
        return {}, f"cannot read {path}: not a JSON object"
    records = {}
    for job, entry in document.items():
        try:
            last_fire = datetime.fromisoformat(entry["last_fire"])
            expression = entry["expression"]
        except (TypeError, KeyError, ValueError):
            continue
        if isinstance(expression, str) and last_fire.tzinfo is not None:
            records[job] = Fire(expression, last_fire)
    return records, None


def write(path: Path, records: dict[str, Fire]) -> None:
    """Replace the file with `records`; raise OSError when LOG_DIR cannot be written."""
    document = {
        job: {"expression": fire.expression, "last_fire": heartbeat.iso(fire.last_fire)}
        for job, fire in sorted(records.items())
    }
    atomic_write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def baseline(records: dict[str, Fire], schedules: Iterable[Schedule], now: datetime) -> dict[str, Fire]:
    """Return a record per schedule: its own when it has one for the same expression, else one
    dated `now`. From then on, a tick that passes unstarted is known; before it, nothing was
    missed that the scheduler knows of. A job no longer scheduled loses its record, so
    re-enabling it later does not count its disabled time as missed."""
    kept = {}
    for schedule in schedules:
        record = records.get(schedule.job)
        fresh = record is None or record.expression != schedule.expression
        kept[schedule.job] = Fire(schedule.expression, now) if fresh else record
    return kept
