"""/bin/status (and /bin/health-summary): OK, WARN or FAIL from what the runs left behind in
LOG_DIR, never from restic. For each scheduled job: how its last run ended, how old its last
success is against what its schedule promises, then the repository's locks as the last run
saw them and the scheduler's heartbeat. Exit 0 for OK and WARN, 1 for FAIL.

This is how "the backups succeed, but forget has not succeeded for four days" is caught: a
skipped or failing forget keeps its last success's age growing.
"""

import argparse
import json
import logging
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from helper import heartbeat, workers
from helper.clock import SYSTEM
from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.settings import Setting, Settings, kinds
from helper.workers import health, run_records
from helper.workers.context import RunContext, WorkerReport

logger = logging.getLogger(__name__)

NAME = "status"
SUMMARY = (
    "OK, WARN or FAIL from the last runs' records, their age against each schedule, locks and the scheduler."
)
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
# It reads records, not the repository: a broken setting is no reason to stay silent.
RUNS_ON_BAD_CONFIGURATION = True
FIELDS = ("verdict", "warnings", "failures", "jobs")
GAUGES = ("warnings", "failures")
SETTINGS = (
    Setting(
        "STATUS_STALE_FACTOR",
        kinds.FACTOR,
        "3",
        "/bin/status: a job whose last success is older than this many times its schedule's "
        "longest interval (plus 10 minutes) is WARN; twice that, FAIL.",
        "Reporting",
    ),
)
SCHEMA = "restic-backup-helper.status/1"
# The jobs whose missing record is a warning, as in the shell image: the ones that keep the data.
CORE_JOBS = ("backup", "forget", "prune", "check", "replicate")
# How late the scheduler may be on its promised wake-up, as the health check allows.
HEARTBEAT_SLACK_SECONDS = 120


def requirements(settings: Settings) -> list[str]:
    """status reads LOG_DIR and nothing else."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j", "--json", action="store_true", help="print the status/1 JSON document on stdout"
    )


def job_rows(settings: Settings, now: float) -> tuple[list[dict], list[dict]]:
    """One row per scheduled job, and a finding for each that is not OK."""
    log_dir, zone = Path(settings.log_dir), ZoneInfo(settings.tz)
    rows, findings = [], []
    for job in workers.scheduled():
        cron = settings.values[job.CRON_VARIABLE.lower()]
        path = log_dir / f"last-{job.NAME}.json"
        document = run_records.read_document(path)
        limit = health.stale_after(
            health.interval_seconds(cron, SYSTEM.now(), zone) if cron else None, settings.status_stale_factor
        )
        status, level, detail = (
            health.judge_job(job.NAME, document, now, limit, run_records.alive(document, settings))
            if cron
            else ("disabled", health.OK, "")
        )
        if status == "ok" and document and document.get("status") == "running":
            status = "running"
        if status == "missing" and job.NAME not in CORE_JOBS:
            level = health.OK  # a weekly rotate_log that has not run yet in a new container: no news
        if cron and level != health.OK:
            findings.append({"level": level, "message": detail})
        elif not cron and document and document.get("exit_code") not in (0, None):
            findings.append(
                {
                    "level": health.WARN,
                    "message": f"{job.NAME} (not scheduled) last ended exit {document['exit_code']}",
                }
            )
        rows.append(row(job, cron, path, document, now, limit, status, detail))
    return rows, findings


def row(
    job,
    cron: str,
    path: Path,
    document: dict | None,
    now: float,
    limit: float | None,
    status: str,
    detail: str,
) -> dict:
    document = document or {}
    finished, success = document.get("finished_epoch"), document.get("last_success_epoch")
    age = None if finished is None else round(now - finished)
    success_age = None if success is None else round(now - success)
    return {
        "job": job.NAME, "enabled": bool(cron), "core": job.NAME in CORE_JOBS, "status": status, "cron": cron,
        "path": str(path), "present": bool(document), "exit_code": document.get("exit_code"),
        "age_seconds": age, "age_human": health.human_age(age), "finished_at": document.get("finished_at"),
        "detail": detail, "last_status": document.get("status"), "last_success_age_seconds": success_age,
        "stale_after_seconds": None if limit is None else round(limit),
    }  # fmt: skip


def other_findings(settings: Settings) -> list[dict]:
    """A non-zero exit in the last run of a job that no schedule runs (restore-test, unlock …)."""
    scheduled = {job.NAME for job in workers.scheduled()}
    findings = []
    for name in (name for name in workers.NAMES if name not in scheduled and name != NAME):
        document = run_records.read_document(Path(settings.log_dir) / f"last-{name}.json")
        if document and document.get("exit_code") not in (0, None):
            message = f"{name}'s last run ended {document.get('status')} (exit {document['exit_code']})"
            findings.append({"level": health.WARN, "message": message})
    return findings


def lock_picture(settings: Settings, now: float) -> tuple[dict | None, list[dict]]:
    """The newest look any run took at the repository's locks, and a finding for stale ones."""
    seen = [
        run_records.read_document(Path(item["path"]))
        for item in run_records.recent_json(settings)
        if item["present"]
    ]
    pictures = [
        document["repository_locks"] for document in seen if document and document.get("repository_locks")
    ]
    newest = max(pictures, key=lambda picture: picture.get("inspected_at") or 0, default=None)
    if newest is None:
        return None, []
    picture = {**newest, "seen_seconds_ago": round(now - (newest.get("inspected_at") or now))}
    if newest.get("stale"):
        holders = ", ".join(newest.get("holders") or [])
        message = (
            f"{newest['stale']} stale lock(s) in the repository, held by {holders}: see /bin/unlock --dry-run"
        )
        return picture, [{"level": health.WARN, "message": message}]
    return picture, []


def scheduler_picture(settings: Settings, any_enabled: bool, now: float) -> tuple[dict, list[dict]]:
    """The heartbeat of the scheduler of this container, and a finding when it is not alive."""
    document = heartbeat.read(heartbeat.path_in(settings.log_dir))
    if document is None:
        finding = {"level": health.WARN, "message": "no scheduler heartbeat: nothing runs on schedule here"}
        return {"present": False}, [finding] if any_enabled else []
    if document.get("hostname") != settings.hostname:
        # A logs volume shared with another container: its processes are not ours to see.
        return {"present": True, "hostname": document.get("hostname"), "checked": False}, []
    healthy, reason = heartbeat.verdict(document, now, HEARTBEAT_SLACK_SECONDS)
    picture = {"present": True, "healthy": healthy, "reason": reason, "state": document.get("state")}
    picture["next_wake_at"] = document.get("next_wake_at")
    return picture, [] if healthy else [{"level": health.FAIL, "message": f"scheduler: {reason}"}]


def build(settings: Settings) -> dict:
    """The status/1 document: the shell image's keys with real types, then ours."""
    moment = SYSTEM.now().astimezone()
    now = moment.timestamp()
    jobs, findings = job_rows(settings, now)
    locks, lock_findings = lock_picture(settings, now)
    scheduler, scheduler_findings = scheduler_picture(settings, any(row["enabled"] for row in jobs), now)
    # A configuration the scheduler refuses runs nothing: that fails, whatever the records say.
    # (Imported here: the plan reads every job's declarations, this module's among them.)
    from helper.workers import configuration

    refused = [{"level": health.FAIL, "message": problem} for problem in configuration.load().problems]
    findings += refused + other_findings(settings) + lock_findings + scheduler_findings
    levels = [finding["level"] for finding in findings]
    verdict = health.verdict(levels)
    return {
        "schema": SCHEMA, "command": NAME, "release": settings.restic_backup_helper_release,
        "hostname": settings.hostname, "generated_at": moment.isoformat(timespec="seconds"),
        "generated_epoch": int(now), "verdict": verdict, "warnings": levels.count(health.WARN),
        "failures": levels.count(health.FAIL), "exit_code": EXIT_FAILED if verdict == health.FAIL else 0,
        "runtime": {"tz": settings.tz, "repository": settings.restic_repository},
        "schedules": [
            {"job": job, "enabled": bool(cron), "cron": cron, "command": f"/bin/{job}"}
            for job, cron in ((row["job"], row["cron"]) for row in jobs)
        ],
        "jobs": jobs, "recent_json": run_records.recent_json(settings), "findings": findings,
        "locks": locks, "scheduler": scheduler,
    }  # fmt: skip


def run(context: RunContext) -> WorkerReport:
    settings = context.settings
    document = settings.masker.mask_data(build(settings))
    if context.options.json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    for line in health.text(document):
        logger.info(line)
    extras = {key: document[key] for key in ("verdict", "warnings", "failures")}
    extras["jobs"] = [
        {key: row[key] for key in ("job", "status", "age_seconds", "last_success_age_seconds")}
        for row in document["jobs"]
    ]
    if document["verdict"] == health.FAIL:
        message = "; ".join(
            finding["message"] for finding in document["findings"] if finding["level"] == health.FAIL
        )
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), extras, message)
    return WorkerReport(outcome_for(Status.OK), extras)
