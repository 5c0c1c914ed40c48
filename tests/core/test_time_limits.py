"""A job's time limit (<JOB>_TIMEOUT) and the escalation of any stop: restic gets SIGINT and
removes its own lock; a restic that outlives the stop by its share of STOP_GRACE_SECONDS is
killed, and the run still reports."""

import json
import signal
import time

import pytest

from tests.core.conftest import helper_process, output, repository_locks, snapshots
from tests.support.receivers import black_hole


def events(sandbox) -> list[dict]:
    lines = (sandbox.log_dir / "events.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def snapshot_count(sandbox) -> int:
    return len(snapshots(sandbox))


def lingering_restic(sandbox):
    """A RESTIC_BIN whose process outlives restic: restic itself stops on SIGINT, then the
    wrapper, deaf to SIGINT, stays, as a restic did that printed "cleaning up" and hung."""
    wrapper = sandbox.root / "lingering-restic"
    wrapper.write_text(f"#!/bin/sh\ntrap '' INT\n{sandbox.env['RESTIC_BIN']} \"$@\"\nexec sleep 300\n")
    wrapper.chmod(0o755)
    return wrapper


def test_a_backup_against_a_black_hole_ends_at_its_timeout(sandbox):
    with black_hole() as port:
        started = time.monotonic()
        completed = sandbox.helper(
            "backup",
            RESTIC_REPOSITORY=f"rest:http://127.0.0.1:{port}/repo/",
            BACKUP_TIMEOUT="4s",
            STOP_GRACE_SECONDS="10",
            timeout=90,
        )
        elapsed = time.monotonic() - started
    text = output(completed)
    assert completed.returncode == 124, text
    assert elapsed < 4 + 8 + 10, elapsed  # the limit, restic's share of the grace, start-up
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("timeout", 124)
    assert "BACKUP_TIMEOUT=4s" in document["error"]
    assert [event["event"] for event in events(sandbox)][-2:] == ["timeout", "finished"]
    metrics = (sandbox.metrics_dir / "restic_backup.prom").read_text()
    assert 'restic_backup_last_status{hostname="' in metrics
    assert next(line for line in metrics.splitlines() if 'status="timeout"' in line).endswith(" 1.0")


def test_a_timed_out_backup_leaves_no_lock_and_no_snapshot(sandbox):
    before = snapshot_count(sandbox)
    completed = sandbox.helper(
        "backup",
        RESTIC_JOB_ARGS="--stdin-from-command --stdin-filename stuck -- sleep 120",
        BACKUP_ROOT_DIR="",
        BACKUP_TIMEOUT="3s",
    )
    assert completed.returncode == 124, output(completed)
    assert "backup ran longer than BACKUP_TIMEOUT=3s and was stopped" in output(completed)
    assert repository_locks(sandbox) == []
    assert snapshot_count(sandbox) == before


def test_a_restic_that_outlives_its_time_limit_is_killed_and_the_run_reports(sandbox):
    started = time.monotonic()
    completed = sandbox.helper(
        "backup",
        RESTIC_BIN=str(lingering_restic(sandbox)),
        RESTIC_JOB_ARGS="--stdin-from-command --stdin-filename stuck -- sleep 120",
        BACKUP_ROOT_DIR="",
        BACKUP_TIMEOUT="2s",
        STOP_GRACE_SECONDS="5",
    )
    text = output(completed)
    assert completed.returncode == 124, text
    assert time.monotonic() - started < 30
    assert "still runs 4s after it was told to stop: killing it (SIGKILL)" in text
    assert sandbox.last_json("backup")["status"] == "timeout"
    # restic itself got the SIGINT and removed its lock before the wrapper was killed.
    assert repository_locks(sandbox) == []


def test_a_stop_signal_escalates_the_same_way(sandbox):
    process = helper_process(
        sandbox,
        "backup",
        RESTIC_BIN=str(lingering_restic(sandbox)),
        RESTIC_JOB_ARGS="--stdin-from-command --stdin-filename stuck -- sleep 120",
        BACKUP_ROOT_DIR="",
        STOP_GRACE_SECONDS="5",
    )
    try:
        deadline = time.monotonic() + 30
        while not repository_locks(sandbox):
            assert time.monotonic() < deadline, "restic never locked the repository"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    stdout += stderr
    assert process.returncode == 130, stdout
    assert "still runs 4s after it was told to stop: killing it (SIGKILL)" in stdout
    assert sandbox.last_json("backup")["status"] == "interrupted"


@pytest.mark.parametrize("value", ["0.5s", "-1m", "soon"])
def test_a_time_limit_that_cannot_work_is_a_config_error_naming_it(sandbox, value):
    completed = sandbox.helper("forget", FORGET_TIMEOUT=value, RESTIC_FORGET_ARGS="--keep-last 1")
    assert completed.returncode == 2, output(completed)
    assert "FORGET_TIMEOUT: expected a duration" in output(completed)
    assert "Traceback" not in output(completed)


def test_restics_stuck_request_timeout_reaches_every_restic_call(sandbox):
    completed = sandbox.helper(
        "backup", RESTIC_STUCK_REQUEST_TIMEOUT="45s", RESTIC_FORGET_ARGS="--keep-last 5"
    )
    assert completed.returncode == 0, output(completed)
    log = (sandbox.log_dir / "backup-last.log").read_text()
    calls = [line for line in log.splitlines() if "$ restic " in line]
    assert len(calls) >= 2, log  # the backup, the guard's listing, the forget's dry run and itself
    assert all("$ restic --stuck-request-timeout 45s " in line for line in calls), calls
