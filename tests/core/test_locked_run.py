"""`locked_run <job> <lockfile> <command…>` and the run lock that manual runs share."""

import json
import os
import signal

from tests.core.conftest import HELPER, lock_held_by_sleep, output, read_metrics, run_lock


def test_a_busy_run_lock_skips_logs_and_counts_and_leaves_the_json_alone(sandbox):
    assert sandbox.helper("backup").returncode == 0
    before = (sandbox.log_dir / "last-backup.json").read_text()
    path = run_lock(sandbox)
    with lock_held_by_sleep(sandbox) as holder:
        skipped = sandbox.helper("locked_run", "backup", str(path), *HELPER, "backup")
        again = sandbox.helper("locked_run", "backup", str(path), *HELPER, "backup")
    assert (skipped.returncode, again.returncode) == (0, 0), output(skipped)
    assert f"⏭ backup skipped: previous run still active (lock {path})" in skipped.stdout
    assert f"held by pid {holder.pid} (backup)" in skipped.stdout
    assert (sandbox.log_dir / "last-backup.json").read_text() == before
    metrics = read_metrics(sandbox.metrics_dir / "restic_backup.prom")
    assert metrics["restic_backup_skipped_runs_total"] == 2
    # The last real run's gauges are still there.
    assert metrics["restic_backup_last_success"] == 1


def test_a_manual_run_shares_the_run_lock_with_scheduled_ones(sandbox):
    with lock_held_by_sleep(sandbox, job="prune"):
        completed = sandbox.helper("check")
    assert completed.returncode == 0
    assert "check skipped: previous run still active" in completed.stdout
    assert not (sandbox.log_dir / "last-check.json").exists()
    assert read_metrics(sandbox.metrics_dir / "restic_check.prom")["restic_check_skipped_runs_total"] == 1


def test_locked_run_runs_the_command_and_the_worker_inherits_the_lock(sandbox):
    completed = sandbox.helper("locked_run", "backup", str(run_lock(sandbox)), *HELPER, "backup")
    assert completed.returncode == 0, output(completed)
    assert sandbox.last_json("backup")["status"] == "ok"
    holder = json.loads(run_lock(sandbox).read_text())
    assert holder["job"] == "backup"


def test_locked_run_passes_the_exit_code_through_and_releases_the_lock(sandbox):
    path = str(run_lock(sandbox))
    assert sandbox.helper("locked_run", "job", path, "sh", "-c", "exit 7").returncode == 7
    assert sandbox.helper("locked_run", "job", path, "true").returncode == 0


def test_locked_run_usage_errors_exit_2(sandbox):
    for arguments in ([], ["backup"], ["backup", str(run_lock(sandbox))]):
        completed = sandbox.helper("locked_run", *arguments)
        assert completed.returncode == 2, arguments
        assert "usage: locked_run" in completed.stderr
        assert "Traceback" not in output(completed)


def test_locked_run_of_a_missing_command_exits_127(sandbox):
    completed = sandbox.helper("locked_run", "job", str(run_lock(sandbox)), "/nonexistent/command")
    assert completed.returncode == 127
    assert "cannot run /nonexistent/command" in completed.stderr


def test_an_unusable_lock_dir_is_a_configuration_error_with_audit(sandbox):
    blocker = sandbox.root / "a-file"
    blocker.write_text("")
    completed = sandbox.helper("backup", LOCK_DIR=str(blocker / "locks"))
    assert completed.returncode == 2
    assert "LOCK_DIR: cannot use the run lock" in completed.stdout
    assert "Traceback" not in output(completed)
    assert sandbox.last_json("backup")["exit_code"] == 2


def test_locked_run_with_an_unusable_lock_file_exits_2(sandbox):
    blocker = sandbox.root / "a-file"
    blocker.write_text("")
    completed = sandbox.helper("locked_run", "backup", str(blocker / "run.lock"), "true")
    assert completed.returncode == 2
    assert "locked_run: cannot use the lock file" in completed.stderr
    assert "Traceback" not in output(completed)


def test_a_skip_whose_counter_cannot_be_written_still_exits_0(sandbox):
    blocker = sandbox.root / "a-file"
    blocker.write_text("")
    with lock_held_by_sleep(sandbox):
        completed = sandbox.helper("backup", METRICS_DIR=str(blocker / "metrics"))
    assert completed.returncode == 0
    assert "skipped: previous run still active" in completed.stdout
    assert "metrics reporter failed" in completed.stdout
    assert "Traceback" not in output(completed)


def test_a_takeover_by_locked_run_is_logged(sandbox):
    # The command of a locked_run left a child behind that inherited the lock: the recorded
    # holder is gone, the lock is still held.
    path = str(run_lock(sandbox))
    left = sandbox.helper("locked_run", "backup", path, "sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!")
    straggler = int(left.stdout.split()[-1])
    try:
        skipped = sandbox.helper("locked_run", "backup", path, "true")
        assert "backup skipped: previous run still active" in skipped.stdout
        completed = sandbox.helper("locked_run", "backup", path, "true", LOCK_FORCE_INACTIVE="ON")
    finally:
        os.kill(straggler, signal.SIGKILL)
    assert completed.returncode == 0, output(completed)
    assert f"took over the run lock {path} from" in completed.stderr
    assert "whose process is gone (LOCK_FORCE_INACTIVE)" in completed.stderr
