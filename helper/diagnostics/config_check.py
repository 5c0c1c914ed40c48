"""`config-check [--json|-j]`: validate every setting, ENV_FILE and each schedule (with croniter),
print every problem and warning, and exit 0, or 2 when there is any problem. Starts nothing.

The JSON document carries the shell image's `restic-backup-helper.config-check/1` keys, so its
users' scripts read it unchanged: `errors` and `warnings` are counts, `checks` has one entry per
variable (`key`, `status` ok/warn/fail, `message`); the messages themselves are in
`error_messages` and `warning_messages`."""

import argparse
import json
import sys

from helper import workers
from helper.clock import SYSTEM
from helper.outcome import EXIT_CONFIG_ERROR, EXIT_OK
from helper.settings import Settings, displayed
from helper.workers import configuration

SCHEMA = "restic-backup-helper.config-check/1"
# Not a variable of its own: the shell image's check that something is named to back up.
BACKUP_PATHS = "BACKUP_PATHS"


def subject(message: str) -> str:
    """The variable a problem or warning is about: its first word, as `NAME:` or `NAME is`,
    with a `_FILE` twin counted as its variable; CONFIG for the others."""
    word = message.split(" ", 1)[0].rstrip(":")
    if not word.isupper():
        return "CONFIG"
    names = {row.name for row in workers.settings_table()}
    return word.removesuffix("_FILE") if word.removesuffix("_FILE") in names else word


def backup_paths(settings: Settings) -> dict:
    if settings.backup_root_dir or settings.restic_job_args:
        root = settings.backup_root_dir or "empty"
        return {
            "key": BACKUP_PATHS,
            "status": "ok",
            "message": settings.masker.mask(f"BACKUP_ROOT_DIR {root}"),
        }
    status = "fail" if settings.backup_cron else "warn"
    return {
        "key": BACKUP_PATHS,
        "status": status,
        "message": "neither BACKUP_ROOT_DIR nor RESTIC_JOB_ARGS names a path",
    }


def checks(plan: configuration.Plan) -> list[dict]:
    """One check per variable, in the settings table's order, then the checks of problems that
    belong to no variable: each `fail` with its problem, `warn` with its warning, else `ok`."""
    masker = plan.settings.masker
    found: dict[str, dict] = {}
    for status, messages in (("fail", plan.problems), ("warn", plan.warnings)):
        for message in messages:
            found.setdefault(
                subject(message), {"key": subject(message), "status": status, "message": masker.mask(message)}
            )
    result = [
        found.pop(row.name, {"key": row.name, "status": "ok", "message": displayed(plan.settings, row)})
        for row in workers.settings_table()
    ]
    return [*result, backup_paths(plan.settings), *found.values()]


def document(plan: configuration.Plan) -> dict:
    settings, now = plan.settings, SYSTEM.now().astimezone()
    return {
        "schema": SCHEMA,
        "command": "config-check",
        "release": settings.restic_backup_helper_release,
        "hostname": settings.masker.mask(settings.hostname),
        "generated_at": now.isoformat(timespec="seconds"),
        "generated_epoch": int(now.timestamp()),
        "ok": not plan.problems,
        "exit_code": EXIT_CONFIG_ERROR if plan.problems else EXIT_OK,
        "errors": len(plan.problems),
        "warnings": len(plan.warnings),
        "error_messages": [settings.masker.mask(problem) for problem in plan.problems],
        "warning_messages": [settings.masker.mask(warning) for warning in plan.warnings],
        "checks": checks(plan),
    }


def main(argv: list[str]) -> int:
    """Given `[--json|-j]`, print the verdict on the configuration and return 0 or 2."""
    parser = argparse.ArgumentParser(prog="config-check", description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--json", action="store_true", help="print one JSON document")
    options = parser.parse_args(argv)
    plan = configuration.load()
    if options.json:
        sys.stdout.write(json.dumps(document(plan), indent=2, ensure_ascii=False) + "\n")
    else:
        for problem in plan.problems:
            sys.stdout.write(f"❌ {problem}\n")
        for warning in plan.warnings:
            sys.stdout.write(f"⚠️ {warning}\n")
        verdict = "OK" if not plan.problems else f"{len(plan.problems)} error(s)"
        sys.stdout.write(f"config-check: {verdict}, {len(plan.warnings)} warning(s)\n")
    return EXIT_CONFIG_ERROR if plan.problems else EXIT_OK
