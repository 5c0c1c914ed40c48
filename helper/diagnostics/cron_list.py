"""`cron-list [--json]`: the time zone, the current time, and for each job its expression, a
plain-English description and its next fire times. Exit 2 on any configuration problem (an
invalid expression, TZ or ENV_FILE, a job without what it needs): the scheduler would not start."""

import argparse
import json
import sys
from datetime import datetime

from helper import workers
from helper.clock import SYSTEM, wall_time
from helper.outcome import EXIT_CONFIG_ERROR
from helper.schedule import fire_times
from helper.scheduler.describe import describe, jitter_text
from helper.workers import configuration

SHOWN_FIRE_TIMES = 5


def job_rows(plan: configuration.Plan, now: datetime) -> list[dict]:
    """Return one row per job, enabled or not, with its next fire times in TZ."""
    zone = plan.zone
    schedules = {schedule.job: schedule for schedule in plan.schedules}
    rows = []
    for declared in workers.scheduled():
        job, variable = declared.NAME, declared.CRON_VARIABLE
        expression = plan.settings.values[variable.lower()]
        row = {"job": job, "variable": variable, "expression": expression, "enabled": job in schedules}
        problem = next((p for p in plan.problems if p.startswith(variable + ":")), None)
        if problem:
            row.update(enabled=False, problem=problem)
        elif job in schedules:
            times = fire_times(schedules[job], now, zone, SHOWN_FIRE_TIMES)
            row["description"] = describe(schedules[job])
            # The times are the effective ones: the cron instants plus this delay.
            row["jitter_seconds"] = schedules[job].offset.total_seconds()
            row["next"] = [moment.astimezone(zone).isoformat() for moment in times]
        rows.append(row)
    return rows


def print_text(plan: configuration.Plan, now: datetime, rows: list[dict]) -> None:
    zone_name, zone = plan.settings.tz, plan.zone
    # A problem of a job is shown on its row; every other one (TZ, ENV_FILE, ...) comes first.
    shown = {row.get("problem") for row in rows}
    other_problems = [problem for problem in plan.problems if problem not in shown]
    lines = [f"❌ {problem}" for problem in other_problems] + ([""] if other_problems else [])
    if any(problem.startswith("TZ:") for problem in plan.problems):
        zone_name += " (TZ is invalid; times are shown in this default)"
    lines += [
        "== Time zone ==",
        f"TZ   {zone_name}",
        f"now  {now.astimezone(zone):%Y-%m-%d %H:%M:%S %Z (%z)}",
    ]
    lines += ["", "== Schedules =="]
    for row in rows:
        if "problem" in row:
            lines.append(f"{row['job']:<7} ❌ {row['problem']}")
        elif not row["enabled"]:
            lines.append(f"{row['job']:<7} disabled ({row['variable']} is empty)")
        else:
            lines.append(f"{row['job']:<7} {row['variable']}={row['expression']}")
            lines.append(f"{'':<7} {row['description']}")
            if plan.settings.schedule_jitter:
                lines.append(f"{'':<7} {jitter_text(row['jitter_seconds'])} (SCHEDULE_JITTER)")
            upcoming = [wall_time(datetime.fromisoformat(m), zone) for m in row["next"]]
            lines += [f"{'':<7} next: {moment}" for moment in upcoming] or [f"{'':<7} never fires"]
    sys.stdout.write("\n".join(lines) + "\n")


def main(argv: list[str]) -> int:
    """Given `[--json]`, print the schedules and every problem; return 0, or 2 on any problem."""
    parser = argparse.ArgumentParser(prog="cron-list", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    options = parser.parse_args(argv)
    plan = configuration.load()
    now = SYSTEM.now()
    rows = job_rows(plan, now)
    if options.json:
        document = {
            "ok": not plan.problems,
            "errors": list(plan.problems),
            "time_zone": plan.settings.tz,
            "now": now.astimezone(plan.zone).isoformat(),
            "jobs": rows,
        }
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        print_text(plan, now, rows)
    return EXIT_CONFIG_ERROR if plan.problems else 0
