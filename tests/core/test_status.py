"""/bin/status and /bin/health-summary after real runs on a real repository, read as a user's
script reads them: the JSON on stdout, the exit code."""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

from helper.clock import SYSTEM
from tests.core.conftest import output
from tests.scheduler.conftest import exclusive_lock_of_other_host

SCHEDULED = {"BACKUP_CRON": "0 3 * * *", "FORGET_CRON": "0 8 * * *", "RESTIC_FORGET_ARGS": "--keep-last 3"}
DAY = 86400


def status(sandbox, *arguments: str, **overrides) -> tuple[subprocess.CompletedProcess, dict]:
    completed = sandbox.helper("status", "--json", *arguments, **{**SCHEDULED, **overrides})
    return completed, json.loads(completed.stdout)


def age_last_success(sandbox, job: str, seconds: float) -> None:
    """What the passing of time does to a record: its last success moves into the past."""
    path = sandbox.log_dir / f"last-{job}.json"
    document = json.loads(path.read_text())
    moment = datetime.fromtimestamp(int(SYSTEM.time() - seconds), UTC)
    document.update(last_success_epoch=int(moment.timestamp()), last_success_at=moment.isoformat())
    path.write_text(json.dumps(document))


def test_after_good_runs_the_jobs_are_ok_and_only_the_missing_scheduler_warns(sandbox):
    assert sandbox.helper("backup", **SCHEDULED).returncode == 0
    assert sandbox.helper("forget", **SCHEDULED).returncode == 0
    completed, document = status(sandbox)

    assert completed.returncode == 0, output(completed)
    assert document["schema"] == "restic-backup-helper.status/1" and document["command"] == "status"
    assert (document["verdict"], document["failures"], document["warnings"]) == ("WARN", 0, 1)
    jobs = {row["job"]: row for row in document["jobs"]}
    assert (jobs["backup"]["status"], jobs["forget"]["status"], jobs["prune"]["status"]) == (
        "ok",
        "ok",
        "disabled",
    )
    assert jobs["backup"]["stale_after_seconds"] == 3 * DAY + 600
    assert jobs["backup"]["last_success_age_seconds"] < 60
    assert document["findings"] == [
        {"level": "WARN", "message": "no scheduler heartbeat: nothing runs on schedule here"}
    ]
    assert document["locks"] is None, "no run met a lock, so none looked at them"
    assert {item["path"].rsplit("/", 1)[1] for item in document["recent_json"] if item["present"]} == {
        "last-backup.json",
        "last-forget.json",
        "last-status.json",  # status's own run, announced as it started
    }
    assert sandbox.last_json("status")["verdict"] == "WARN"


def test_a_forget_that_keeps_being_skipped_turns_warn_then_fail_while_backups_succeed(sandbox):
    assert sandbox.helper("forget", **SCHEDULED).returncode == 0
    first_success = sandbox.last_json("forget")["last_success_epoch"]
    age_last_success(sandbox, "forget", 4 * DAY)
    with exclusive_lock_of_other_host(sandbox.env):
        skipped = sandbox.helper("forget", **SCHEDULED)
    assert skipped.returncode == 0 and sandbox.last_json("forget")["status"] == "skipped"
    assert sandbox.last_json("forget")["last_success_epoch"] < first_success - 3 * DAY, "not carried over"
    assert sandbox.helper("backup", **SCHEDULED).returncode == 0

    completed, document = status(sandbox)
    assert completed.returncode == 0, output(completed)
    assert document["verdict"] == "WARN"
    assert "forget last succeeded 4d 0h ago; its schedule expects a success within 3d 0h" in [
        finding["message"] for finding in document["findings"]
    ]
    # The skipped forget looked at the lock that stopped it.
    assert document["locks"]["total"] == 1 and document["locks"]["holders"][0].startswith("otherhost (pid ")

    age_last_success(sandbox, "forget", 7 * DAY)
    completed, document = status(sandbox)
    assert completed.returncode == 1 and document["verdict"] == "FAIL"
    assert sandbox.last_json("status")["status"] == "failed"
    # A tighter STATUS_STALE_FACTOR, a stricter verdict.
    _, document = status(sandbox, STATUS_STALE_FACTOR="1.5")
    assert {row["job"]: row["stale_after_seconds"] for row in document["jobs"]}["forget"] == 1.5 * DAY + 600


def test_a_failed_backup_fails_and_health_summary_is_the_same_command(sandbox):
    assert sandbox.helper("backup", **SCHEDULED, RESTIC_PASSWORD="not-the-password").returncode == 12
    completed = sandbox.helper("health-summary", **SCHEDULED)

    assert completed.returncode == 1, output(completed)
    assert (
        "== Jobs ==" in completed.stdout
        and "[FAIL] backup's last run ended failed (exit 12)" in completed.stdout
    )
    assert sandbox.last_json("status")["verdict"] == "FAIL"
    assert "not-the-password" not in output(completed)


def test_a_configuration_the_scheduler_refuses_fails_and_names_the_variable(sandbox):
    # status still answers, where every other job would stop at the bad setting.
    completed, document = status(sandbox, STATUS_STALE_FACTOR="0.5", RESTIC_PASSWORD="")
    assert completed.returncode == 1, output(completed)
    messages = [finding["message"] for finding in document["findings"] if finding["level"] == "FAIL"]
    assert "STATUS_STALE_FACTOR: expected a number of 1 or more, got '0.5'" in messages
    assert any(message.startswith("RESTIC_PASSWORD: not set") for message in messages)


def test_a_run_killed_outright_shows_as_killed_in_status_and_metrics(sandbox):
    # The run says it started before its pre-hook; the hook holds it there until the kill.
    hook_pid = sandbox.root / "hook.pid"
    sandbox.hook("pre-backup.sh", f"echo $$ > {hook_pid}\nexec sleep 60\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "helper", "backup"], env={**sandbox.env, **SCHEDULED},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not hook_pid.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sandbox.last_json("backup")["status"] == "running"
        assert sandbox.last_json("backup")["pid"] == run.pid
        metrics = (sandbox.metrics_dir / "restic_backup.prom").read_text()
        assert re.search(r"^restic_backup_running\{[^}]*\} 1\.0$", metrics, re.M)
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        run.kill()
        if hook_pid.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(hook_pid.read_text()), signal.SIGKILL)

    completed, document = status(sandbox)
    assert completed.returncode == 1, output(completed)
    backup = {row["job"]: row for row in document["jobs"]}["backup"]
    assert backup["status"] == "killed"
    assert any("backup was killed" in finding["message"] for finding in document["findings"])
    metrics = (sandbox.metrics_dir / "restic_backup.prom").read_text()
    assert re.search(r"^restic_backup_running\{[^}]*\} 1\.0$", metrics, re.M), "the kill left no trace"

    # The next backup finds the record of the killed run and writes it into the audit log.
    sandbox.hook("pre-backup.sh", "exit 0\n")
    assert sandbox.helper("backup", **SCHEDULED).returncode == 0
    lines = (sandbox.log_dir / "events.jsonl").read_text().splitlines()
    kinds = [
        (event["event"], event.get("killed_pid"))
        for event in map(json.loads, lines)
        if event["job"] == "backup"
    ]
    assert kinds == [("started", None), ("killed", run.pid), ("started", None), ("finished", None)]
