"""/bin/doctor: a read-only support bundle, safe to paste into a public issue. The runtime and
versions, every variable's effective value (masked; a secret's never shown), every
configuration check, a `--no-lock` probe of the repository, the replicate job file, the hooks,
the writable directories, the recent run records and the tail of cron.log. Exit 1 when any
check fails.

It locks nothing, initialises nothing and writes nothing but its own record, and it runs when
the configuration is broken: that is when it is needed most.
"""

import argparse
import json
import logging
import sys
from pathlib import Path

from helper.clock import SYSTEM
from helper.outcome import EXIT_FAILED, EXIT_OK, Outcome, Status, outcome_for
from helper.settings import Settings
from helper.workers import doctor_sections as sections
from helper.workers import run_records
from helper.workers.context import RunContext, WorkerReport

logger = logging.getLogger(__name__)

NAME = "doctor"
SUMMARY = "A read-only support bundle: versions, masked settings, checks, a repository probe, hooks, records."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
RUNS_ON_BAD_CONFIGURATION = True
FIELDS = ("errors", "warnings", "repository_probe_status")
GAUGES = ("errors", "warnings")
SCHEMA = "restic-backup-helper.doctor/1"
CRON_LOG_LINES = 40


def requirements(settings: Settings) -> list[str]:
    """doctor needs nothing: it reports what is missing."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-j", "--json", action="store_true", help="print the doctor/1 JSON document on stdout"
    )


def configuration_checks() -> list[sections.Check]:
    # Imported here: the plan reads every job's declarations, this module's among them.
    from helper.workers import configuration

    plan = configuration.load()
    checks = [("configuration", "fail", problem) for problem in plan.problems]
    checks += [("configuration", "warn", warning) for warning in plan.warnings]
    return checks or [("configuration", "ok", "every setting and schedule is valid")]


def build(context: RunContext) -> dict:
    settings, moment = context.settings, SYSTEM.now().astimezone()
    runtime, checks = sections.runtime(settings)
    checks += configuration_checks()
    probe, probe_checks = sections.repository_probe(settings, context.restic)
    replicate, replicate_checks = sections.replicate(settings)
    hooks, hook_checks = sections.hooks(settings)
    checks += probe_checks + replicate_checks + hook_checks + sections.directories(settings)
    statuses = [status for _, status, _ in checks]
    return {
        "schema": SCHEMA,
        "command": NAME,
        "release": settings.restic_backup_helper_release,
        "hostname": settings.hostname,
        "generated_at": moment.isoformat(timespec="seconds"),
        "generated_epoch": int(moment.timestamp()),
        "warnings": statuses.count("warn"),
        "errors": statuses.count("fail"),
        "exit_code": EXIT_FAILED if "fail" in statuses else EXIT_OK,
        "runtime": runtime,
        "environment": sections.environment(settings),
        "repository_probe": probe,
        "replicate": replicate,
        "hooks": hooks,
        "recent_json": run_records.recent_json(settings),
        "checks": [
            {"section": section, "status": level, "message": message} for section, level, message in checks
        ],
    }


def cron_log_tail(settings: Settings) -> list[str]:
    try:
        lines = (Path(settings.log_dir) / "cron.log").read_text(errors="replace").splitlines()
    except OSError:
        return ["(no cron.log)"]
    return lines[-CRON_LOG_LINES:]


def text(document: dict, tail: list[str]) -> list[str]:
    lines = ["== Runtime =="] + [f"{key:<34}{value}" for key, value in document["runtime"].items()]
    lines += ["== Effective environment =="] + [
        f"{key:<34}{value}" for key, value in document["environment"].items()
    ]
    lines += ["== Checks =="] + [
        f"[{check['status'].upper()}] {check['section']}: {check['message']}" for check in document["checks"]
    ]
    lines += ["== Recent JSON =="] + [
        f"{item['path']:<50}{item['size_bytes'] if item['present'] else 'absent'}"
        for item in document["recent_json"]
    ]
    lines += ["== Recent cron log ==", *tail]
    verdict = (
        f"[FAIL] doctor found {document['errors']} error(s)"
        if document["errors"]
        else "[OK] doctor found no errors"
    )
    return [*lines, f"{verdict}, {document['warnings']} warning(s)."]


def run(context: RunContext) -> WorkerReport:
    masker = context.settings.masker
    document = masker.mask_data(build(context))
    if context.options.json:
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        for line in text(document, [masker.mask(line) for line in cron_log_tail(context.settings)]):
            sys.stdout.write(line + "\n")
    extras = {"errors": document["errors"], "warnings": document["warnings"]}
    extras["repository_probe_status"] = document["repository_probe"]["status"]
    logger.info(f"doctor: {document['errors']} error(s), {document['warnings']} warning(s)")
    if document["errors"]:
        failed = "; ".join(check["message"] for check in document["checks"] if check["status"] == "fail")
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, failed), extras, failed)
    return WorkerReport(outcome_for(Status.OK), extras)
