"""The local reporters: last-<job>.json, the Prometheus textfile and the per-run logs."""

import json
from datetime import UTC, datetime

from tests.core.conftest import output, read_metrics

ENVELOPE_TYPES = {
    "schema_version": int,
    "job": str,
    "hostname": str,
    "release": str,
    "repository": str,
    "started_at": str,
    "finished_at": str,
    "started_epoch": int,
    "finished_epoch": int,
    "duration_seconds": float,
    "exit_code": int,
    "status": str,
}
BACKUP_FIELDS = (
    "snapshot_id",
    "files_new",
    "files_changed",
    "files_unmodified",
    "bytes_added",
    "forget_exit_code",
)
REQUIRED_GAUGES = (
    "last_exit_code",
    "last_success",
    "last_duration_seconds",
    "last_started_timestamp",
    "last_finished_timestamp",
    "last_success_timestamp",
)


def test_the_json_envelope_has_real_types(sandbox):
    completed = sandbox.helper(
        "backup", RESTIC_BACKUP_HELPER_RELEASE="1.2.3", RESTIC_FORGET_ARGS="--keep-last 5"
    )
    assert completed.returncode == 0, output(completed)
    text = (sandbox.log_dir / "last-backup.json").read_text()
    document = json.loads(text)
    for name, kind in ENVELOPE_TYPES.items():
        assert isinstance(document[name], kind), name
    assert document["release"] == "1.2.3"
    assert document["repository"] == sandbox.env["RESTIC_REPOSITORY"]
    assert document["finished_epoch"] >= document["started_epoch"]
    assert document["status"] == "ok"
    for name in BACKUP_FIELDS:
        assert name in document
    assert document["forget_exit_code"] == 0
    # Written whole, via a temporary file that is renamed into place.
    assert text.endswith("}\n")
    assert [path.name for path in sandbox.log_dir.iterdir() if path.name.startswith(".")] == []


def test_timestamps_follow_tz(sandbox):
    sandbox.helper("backup", TZ="Asia/Kolkata")
    document = sandbox.last_json("backup")
    assert document["started_at"].endswith("+05:30")
    assert "+05:30 ▶️ backup" in (sandbox.log_dir / "backup-last.log").read_text()


def test_json_describes_the_latest_run_even_when_it_failed_early(sandbox):
    sandbox.helper("backup")
    sandbox.helper("backup", HOOK_TIMEOUT="soon")
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert "HOOK_TIMEOUT" in document["error"]
    # The same keys as a full run, null: consumers never meet a missing field.
    for name in BACKUP_FIELDS:
        assert document[name] is None, name


def test_every_status_keeps_the_workers_fields(sandbox):
    sandbox.hook("pre-forget.sh", "exit 75\n")
    sandbox.helper("forget", RESTIC_FORGET_ARGS="--keep-last 1")
    sandbox.helper("check", RESTIC_PASSWORD="wrong-password")
    skipped, failed = sandbox.last_json("forget"), sandbox.last_json("check")
    assert skipped["status"] == "skipped"
    assert {name: skipped[name] for name in ("snapshots_kept", "snapshots_removed", "restic_exit_code")} == (
        dict.fromkeys(("snapshots_kept", "snapshots_removed", "restic_exit_code"))
    )
    assert failed["exit_code"] == 12
    assert failed["errors_found"] is None


def test_metrics_parse_and_carry_the_required_gauges(sandbox):
    sandbox.helper("backup", RESTIC_FORGET_ARGS="--keep-last 5")
    metrics = read_metrics(sandbox.metrics_dir / "restic_backup.prom")
    for gauge in REQUIRED_GAUGES:
        assert f"restic_backup_{gauge}" in metrics, gauge
    for extra in ("files_new", "files_changed", "files_unmodified", "bytes_added", "forget_exit_code"):
        assert f"restic_backup_last_{extra}" in metrics, extra
    assert metrics["restic_backup_last_success"] == 1
    assert metrics["restic_backup_last_exit_code"] == 0
    assert metrics["restic_backup_last_files_new"] == 2
    assert metrics['restic_backup_last_status{status="ok"}'] == 1
    document = sandbox.last_json("backup")
    assert int(metrics["restic_backup_last_started_timestamp"]) == document["started_epoch"]


def test_metrics_say_when_a_job_is_due_and_when_it_last_failed(sandbox):
    sandbox.helper("backup", BACKUP_CRON="0 3 * * *", TZ="UTC")
    metrics = read_metrics(sandbox.metrics_dir / "restic_backup.prom")
    assert metrics["restic_backup_running"] == 0
    assert metrics["restic_backup_expected_interval_seconds"] == 86400
    next_run = datetime.fromtimestamp(metrics["restic_backup_next_run_timestamp"], UTC)
    assert (next_run.hour, next_run.minute) == (3, 0) and next_run > datetime.now(UTC)
    assert "restic_backup_last_failure_timestamp" not in metrics, "it never failed"

    assert sandbox.helper("backup", RESTIC_PASSWORD="not-the-password").returncode == 12
    failed_at = sandbox.last_json("backup")["finished_epoch"]
    assert sandbox.helper("backup", BACKUP_CRON="").returncode == 0
    metrics = read_metrics(sandbox.metrics_dir / "restic_backup.prom")
    assert int(metrics["restic_backup_last_failure_timestamp"]) == failed_at, "carried over a success"
    assert "restic_backup_next_run_timestamp" not in metrics, "BACKUP_CRON is empty: never due"


def test_metric_labels_are_only_hostname_and_status(sandbox):
    from prometheus_client.parser import text_string_to_metric_families

    sandbox.helper("backup")
    text = (sandbox.metrics_dir / "restic_backup.prom").read_text()
    labels = {
        key for family in text_string_to_metric_families(text) for s in family.samples for key in s.labels
    }
    assert labels == {"hostname", "status"}
    assert sandbox.env["RESTIC_REPOSITORY"] not in text


def test_last_success_timestamp_survives_a_failed_run(sandbox):
    path = sandbox.metrics_dir / "restic_backup.prom"
    assert sandbox.helper("backup").returncode == 0
    success = read_metrics(path)["restic_backup_last_success_timestamp"]
    assert sandbox.helper("backup", RESTIC_PASSWORD="wrong-password").returncode == 12
    metrics = read_metrics(path)
    assert metrics["restic_backup_last_success"] == 0
    assert metrics["restic_backup_last_exit_code"] == 12
    assert metrics["restic_backup_last_success_timestamp"] == success
    assert metrics["restic_backup_last_finished_timestamp"] > success
    assert metrics['restic_backup_last_status{status="failed"}'] == 1


def test_each_job_has_its_own_textfile(sandbox):
    sandbox.helper("check")
    sandbox.helper("forget", RESTIC_FORGET_ARGS="--keep-last 1")
    assert sorted(path.name for path in sandbox.metrics_dir.iterdir()) == [
        "restic_check.prom",
        "restic_forget.prom",
    ]
    assert read_metrics(sandbox.metrics_dir / "restic_check.prom")["restic_check_last_errors_found"] == 0


def test_no_metrics_dir_no_textfile(sandbox):
    completed = sandbox.helper("backup", METRICS_DIR="")
    assert completed.returncode == 0
    assert list(sandbox.metrics_dir.iterdir()) == []


def test_an_unwritable_metrics_dir_is_a_warning_only(sandbox):
    blocker = sandbox.root / "not-a-dir"
    blocker.write_text("")
    completed = sandbox.helper("backup", METRICS_DIR=str(blocker / "metrics"))
    assert completed.returncode == 0
    assert "metrics reporter failed" in completed.stdout
    assert sandbox.last_json("backup")["status"] == "ok"


def test_error_log_keeps_the_last_failure(sandbox):
    sandbox.helper("backup", RESTIC_PASSWORD="wrong-password")
    failure = (sandbox.log_dir / "backup-error-last.log").read_text()
    assert "wrong password" in failure
    sandbox.helper("backup")
    assert "wrong password" not in (sandbox.log_dir / "backup-last.log").read_text()
    assert (sandbox.log_dir / "backup-error-last.log").read_text() == failure


def test_an_internal_error_is_a_failed_run_with_the_traceback_only_in_the_log(sandbox):
    # A restic stand-in whose forget output has an unexpected shape.
    odd_restic = sandbox.root / "odd-restic"
    odd_restic.write_text("#!/bin/sh\necho '[1, 2]'\n")
    odd_restic.chmod(0o755)
    completed = sandbox.helper("forget", RESTIC_BIN=str(odd_restic), RESTIC_FORGET_ARGS="--keep-last 1")
    assert completed.returncode == 1
    assert "internal error in forget" in completed.stdout
    assert "Traceback" not in output(completed)
    assert "Traceback" in (sandbox.log_dir / "forget-last.log").read_text()
    document = sandbox.last_json("forget")
    assert (document["status"], document["exit_code"]) == ("failed", 1)


def test_lock_gauges_that_cannot_be_written_leave_the_audit_trail(sandbox):
    # RESTIC_AUTO_UNLOCK inspects the locks after the failure, so the run writes
    # restic_locks.prom: it fails here like every other metrics write.
    trace = sandbox.root / "trace"
    sandbox.hook("post-check.sh", f'echo "$1 $HELPER_STATUS" > {trace}\n')
    blocker = sandbox.root / "not-a-dir"
    blocker.write_text("")
    completed = sandbox.helper(
        "check",
        RESTIC_CHECK_ARGS="--no-such-flag",
        RESTIC_AUTO_UNLOCK="ON",
        METRICS_DIR=str(blocker / "metrics"),
    )
    assert completed.returncode == 1, output(completed)
    assert "lock_metrics reporter failed" in completed.stdout
    assert "internal error" not in output(completed)
    assert "Traceback" not in output(completed)
    document = sandbox.last_json("check")
    assert (document["status"], document["exit_code"]) == ("failed", 1)
    assert "internal error" not in document["error"]
    assert trace.read_text() == "1 failed\n"


def test_a_backup_that_changed_most_files_is_a_warning_and_keeps_every_snapshot(sandbox, tmp_path):
    source = tmp_path / "documents"
    source.mkdir()
    for number in range(10):
        (source / f"file-{number}.txt").write_text(f"version 1 of {number}\n")
    watched = {
        "BACKUP_ROOT_DIR": str(source),
        "BACKUP_CHURN_WARN": "50",
        "RESTIC_FORGET_ARGS": "--keep-last 1",
    }
    assert sandbox.helper("backup", **watched).returncode == 0
    assert sandbox.last_json("backup")["files_changed_ratio"] is None, "a first backup is all new"

    for number in range(6):  # what ransomware leaves: most files rewritten
        (source / f"file-{number}.txt").write_text(f"encrypted {number}\n")
    completed = sandbox.helper("backup", **watched)

    assert completed.returncode == 3, output(completed)
    document = sandbox.last_json("backup")
    assert (document["status"], document["files_changed_ratio"]) == ("warning", 0.6)
    assert document["error"].startswith("60% of the files are new or changed since the last snapshot")
    assert document["forget_exit_code"] is None, "forgot old snapshots after a suspicious backup"
    assert len(json.loads(sandbox.restic("snapshots", "--json").stdout)) == 2
    metrics = read_metrics(sandbox.metrics_dir / "restic_backup.prom")
    assert metrics["restic_backup_last_files_changed_ratio"] == 0.6

    assert sandbox.helper("backup", **watched).returncode == 0, "an unchanged tree is quiet again"
    assert sandbox.last_json("backup")["files_changed_ratio"] == 0.0
