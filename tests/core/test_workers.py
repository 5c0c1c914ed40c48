"""Each worker end to end: the real restic binary on a real repository, run as users run it."""

import os
import signal
import subprocess
import sys

import pytest

from tests.core.conftest import output, read_metrics, repository_locks, snapshots


def log_text(sandbox, job: str) -> str:
    return (sandbox.log_dir / f"{job}-last.log").read_text()


# --- backup ---------------------------------------------------------------------------------


def test_backup_saves_a_tagged_snapshot_and_records_typed_fields(sandbox):
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"], document["error"]) == ("ok", 0, None)
    [snapshot] = snapshots(sandbox)
    assert snapshot["tags"] == ["automated"]
    assert document["snapshot_id"] == snapshot["id"]
    assert document["files_new"] == 2 and isinstance(document["files_new"], int)
    assert document["files_changed"] == 0 and document["files_unmodified"] == 0
    assert isinstance(document["bytes_added"], int) and document["bytes_added"] > 4096
    # the shell image's fields, typed
    assert document["bytes_stored"] == document["bytes_added_packed"] > 0
    assert (document["backup_root_dir"], document["restic_tag"]) == (str(sandbox.source), "automated")
    assert document["forget_exit_code"] is None
    assert isinstance(document["started_epoch"], int) and isinstance(document["duration_seconds"], float)
    assert document["started_at"].endswith("+00:00")
    assert "$ restic backup --json --tag automated " in log_text(sandbox, "backup")
    assert f"✅ snapshot {snapshot['id'][:8]} saved: 2 new, 0 changed, 0 unmodified files" in completed.stdout
    assert not (sandbox.log_dir / "backup-error-last.log").exists()


def test_backup_arguments_are_shell_words(sandbox):
    completed = sandbox.helper(
        "backup", RESTIC_TAG="nightly", RESTIC_JOB_ARGS="--exclude '*.bin' --tag \"two words\""
    )
    assert completed.returncode == 0, output(completed)
    [snapshot] = snapshots(sandbox)
    assert sorted(snapshot["tags"]) == ["nightly", "two words"]
    assert sandbox.last_json("backup")["files_new"] == 1  # b.bin was excluded


def test_backup_tag_survives_a_double_dash_in_the_job_arguments(sandbox):
    completed = sandbox.helper(
        "backup",
        BACKUP_ROOT_DIR="",
        RESTIC_JOB_ARGS="--stdin-from-command --stdin-filename dump.sql -- echo 'select 1'",
    )
    assert completed.returncode == 0, output(completed)
    [snapshot] = snapshots(sandbox)
    assert snapshot["tags"] == ["automated"]
    assert snapshot["paths"] == ["/dump.sql"]


def test_a_second_backup_of_an_unchanged_tree_counts_unmodified_files(sandbox):
    sandbox.helper("backup")
    completed = sandbox.helper("backup")
    assert completed.returncode == 0
    document = sandbox.last_json("backup")
    assert (document["files_new"], document["files_unmodified"]) == (0, 2)


def test_empty_tag_exits_2_and_still_leaves_the_audit_trail(sandbox):
    sandbox.hook("post-backup.sh", 'echo "post $1" > "$HOOKS_DIR/post.out"\n')
    completed = sandbox.helper("backup", RESTIC_TAG="")
    assert completed.returncode == 2
    assert "RESTIC_TAG is empty" in completed.stdout
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert (sandbox.hooks_dir / "post.out").read_text() == "post 2\n"
    assert snapshots(sandbox) == []


def test_backup_with_nothing_to_back_up_is_a_config_error_before_restic(sandbox):
    sandbox.hook("post-backup.sh", 'echo "post $1" > "$HOOKS_DIR/post.out"\n')
    completed = sandbox.helper("backup", BACKUP_ROOT_DIR="", RESTIC_JOB_ARGS="", RESTIC_TAG="")
    assert completed.returncode == 2, output(completed)
    assert "RESTIC_TAG is empty" in completed.stdout
    assert "neither BACKUP_ROOT_DIR nor RESTIC_JOB_ARGS names anything to back up" in completed.stdout
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert "RESTIC_TAG is empty" in document["error"] and "BACKUP_ROOT_DIR" in document["error"]
    assert (sandbox.hooks_dir / "post.out").read_text() == "post 2\n"
    assert "$ restic backup" not in log_text(sandbox, "backup")


def test_unreadable_file_gives_warning_exit_3_with_a_snapshot(sandbox):
    """Root reads everything, so the helper runs without the capabilities that bypass file
    permissions (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH): a mode-000 file is then unreadable
    for real, and restic itself reports exit 3."""
    (sandbox.source / "locked.txt").write_text("no entry\n")
    (sandbox.source / "locked.txt").chmod(0)
    completed = subprocess.run(
        [
            "setpriv",
            "--bounding-set=-dac_override,-dac_read_search",
            sys.executable,
            "-m",
            "helper",
            "backup",
        ],
        env={**sandbox.env, "RESTIC_FORGET_ARGS": "--keep-last 1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 3, output(completed)
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("warning", 3)
    [snapshot] = snapshots(sandbox)
    assert document["snapshot_id"] == snapshot["id"]
    assert document["forget_exit_code"] is None  # no retention after an incomplete snapshot
    assert "locked.txt: permission denied" in log_text(sandbox, "backup")
    assert (sandbox.log_dir / "backup-error-last.log").read_text() == log_text(sandbox, "backup")


def test_wrong_password_fails_with_restic_exit_12(sandbox):
    completed = sandbox.helper("backup", RESTIC_PASSWORD="not-the-password")
    assert completed.returncode == 12
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("failed", 12)
    assert "RESTIC_PASSWORD" in document["error"]


def test_missing_repository_fails_with_restic_exit_10(sandbox):
    completed = sandbox.helper("backup", RESTIC_REPOSITORY=str(sandbox.root / "nowhere"))
    assert completed.returncode == 10
    assert sandbox.last_json("backup")["status"] == "failed"
    assert "does not exist" in sandbox.last_json("backup")["error"]


# --- inline forget ----------------------------------------------------------------------------


def test_inline_forget_applies_the_policy_after_a_successful_backup(sandbox):
    assert sandbox.helper("backup").returncode == 0
    completed = sandbox.helper("backup", RESTIC_FORGET_ARGS="--keep-last 1")
    assert completed.returncode == 0, output(completed)
    assert len(snapshots(sandbox)) == 1
    assert sandbox.last_json("backup")["forget_exit_code"] == 0
    assert "$ restic forget --json --keep-last 1" in log_text(sandbox, "backup")


def test_inline_forget_is_left_to_forget_cron_when_set(sandbox):
    assert sandbox.helper("backup").returncode == 0
    completed = sandbox.helper("backup", RESTIC_FORGET_ARGS="--keep-last 1", FORGET_CRON="0 3 * * *")
    assert completed.returncode == 0
    assert len(snapshots(sandbox)) == 2
    assert sandbox.last_json("backup")["forget_exit_code"] is None
    assert "skipping inline forget: FORGET_CRON is set" in completed.stdout


@pytest.mark.slow
def test_inline_forget_locked_by_another_host_is_a_soft_skip(sandbox, other_host_lock):
    # Another host's backup holds a non-exclusive lock: our backup runs, our forget cannot.
    with other_host_lock(exclusive=False) as lock_id:
        completed = sandbox.helper("backup", RESTIC_FORGET_ARGS="--keep-last 1", RESTIC_AUTO_UNLOCK="ON")
        assert repository_locks(sandbox) == [lock_id]  # never unlocked
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"], document["forget_exit_code"]) == ("ok", 0, 11)
    assert "forget skipped: the repository is locked by another host" in completed.stdout
    assert "$ restic unlock" not in log_text(sandbox, "backup")


# --- forget -------------------------------------------------------------------------------------


def test_forget_without_policy_exits_2_with_audit(sandbox):
    sandbox.hook("post-forget.sh", 'echo "$1 $HELPER_STATUS" > "$HOOKS_DIR/post.out"\n')
    completed = sandbox.helper("forget")
    assert completed.returncode == 2
    assert "RESTIC_FORGET_ARGS is empty: no retention policy" in completed.stdout
    document = sandbox.last_json("forget")
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert "RESTIC_FORGET_ARGS is empty: no retention policy" in document["error"]
    assert (sandbox.hooks_dir / "post.out").read_text() == "2 failed\n"
    assert (sandbox.log_dir / "forget-error-last.log").exists()


def test_forget_applies_the_policy_and_counts_snapshots(sandbox):
    for _ in range(3):
        assert sandbox.helper("backup").returncode == 0
    completed = sandbox.helper("forget", RESTIC_FORGET_ARGS="--keep-last 1 --group-by host")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("forget")
    assert (document["status"], document["restic_exit_code"]) == ("ok", 0)
    assert (document["snapshots_kept"], document["snapshots_removed"]) == (1, 2)
    [kept] = snapshots(sandbox)
    assert "🧹 forget kept 1 snapshot(s), removed 2: " in completed.stdout
    assert kept["short_id"] not in completed.stdout.split("removed 2: ")[1]


@pytest.mark.slow
def test_forget_locked_by_another_host_is_skipped_and_never_unlocks(sandbox, other_host_lock):
    with other_host_lock() as lock_id:
        completed = sandbox.helper("forget", RESTIC_FORGET_ARGS="--keep-last 1", RESTIC_AUTO_UNLOCK="ON")
        assert repository_locks(sandbox) == [lock_id]
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("forget")
    assert (document["status"], document["exit_code"], document["restic_exit_code"]) == ("skipped", 0, 11)
    assert "$ restic unlock" not in log_text(sandbox, "forget")
    metrics = read_metrics(sandbox.metrics_dir / "restic_forget.prom")
    assert metrics["restic_forget_last_exit_code"] == 0
    assert metrics['restic_forget_last_status{status="skipped"}'] == 1
    assert metrics["restic_forget_last_success"] == 0  # retention did not happen
    assert not (sandbox.log_dir / "forget-error-last.log").exists()


def test_forget_failure_with_auto_unlock_runs_a_plain_unlock(sandbox):
    completed = sandbox.helper("forget", RESTIC_FORGET_ARGS="--keep-bogus 1", RESTIC_AUTO_UNLOCK="ON")
    assert completed.returncode == 1
    log = log_text(sandbox, "forget")
    assert "$ restic unlock\n" in log
    assert "--remove-all" not in log


# --- prune and check --------------------------------------------------------------------------


def test_prune_runs_with_its_arguments(sandbox):
    sandbox.helper("backup")
    (sandbox.source / "b.bin").write_bytes(os.urandom(8192))
    sandbox.helper("backup", RESTIC_FORGET_ARGS="--keep-last 1")
    completed = sandbox.helper("prune", RESTIC_PRUNE_ARGS="--max-unused 0")
    assert completed.returncode == 0, output(completed)
    assert sandbox.last_json("prune")["status"] == "ok"
    log = log_text(sandbox, "prune")
    assert "$ restic prune --max-unused 0" in log
    assert "to delete" in log or "remove" in log  # prune's own report reached the log


@pytest.mark.slow
def test_prune_locked_by_another_host_is_locked_exit_11_and_counted(sandbox, other_host_lock):
    with other_host_lock():
        completed = sandbox.helper("prune")
    assert completed.returncode == 11
    document = sandbox.last_json("prune")
    assert (document["status"], document["exit_code"]) == ("locked", 11)
    assert "unlock --dry-run" in document["error"]
    metrics = read_metrics(sandbox.metrics_dir / "restic_prune.prom")
    assert metrics["restic_prune_locked_runs_total"] == 1


def test_check_reports_typed_results(sandbox):
    sandbox.helper("backup")
    completed = sandbox.helper("check", RESTIC_CHECK_ARGS="--read-data-subset 50%")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("check")
    assert (document["status"], document["errors_found"]) == ("ok", 0)
    assert "$ restic check --json --read-data-subset 50%" in log_text(sandbox, "check")


def test_check_with_a_bad_flag_fails_with_restics_exit_code(sandbox):
    completed = sandbox.helper("check", RESTIC_CHECK_ARGS="--no-such-flag")
    assert completed.returncode == 1
    document = sandbox.last_json("check")
    assert (document["status"], document["exit_code"]) == ("failed", 1)
    assert "unknown flag" in log_text(sandbox, "check")


# --- unlock -------------------------------------------------------------------------------------


def leave_a_stale_lock(sandbox) -> None:
    """SIGKILL a running backup of this host: its lock stays behind, its PID is gone."""
    holder = subprocess.Popen(
        [sandbox.env["RESTIC_BIN"], "backup", "--stdin", "--stdin-filename", "x"],
        env=sandbox.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while not repository_locks(sandbox):
        assert holder.poll() is None
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdin.close()


def test_unlock_dry_run_only_counts(sandbox):
    leave_a_stale_lock(sandbox)
    completed = sandbox.helper("unlock", "--dry-run")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("unlock")
    assert (document["dry_run"], document["remove_all"]) == (True, False)
    assert (document["locks_before"], document["locks_after"]) == (1, 1)
    assert len(repository_locks(sandbox)) == 1
    assert "$ restic unlock" not in log_text(sandbox, "unlock")


def test_unlock_removes_a_stale_lock_of_this_host(sandbox):
    leave_a_stale_lock(sandbox)
    completed = sandbox.helper("unlock")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("unlock")
    assert (document["locks_before"], document["locks_after"]) == (1, 0)
    assert repository_locks(sandbox) == []


@pytest.mark.slow
def test_unlock_keeps_another_hosts_live_lock_unless_remove_all(sandbox, other_host_lock):
    with other_host_lock(exclusive=False):
        assert sandbox.helper("unlock").returncode == 0
        assert (sandbox.last_json("unlock")["locks_before"], sandbox.last_json("unlock")["locks_after"]) == (
            1,
            1,
        )
        assert sandbox.helper("unlock", "--remove-all").returncode == 0
        document = sandbox.last_json("unlock")
        assert (document["remove_all"], document["locks_before"], document["locks_after"]) == (True, 1, 0)


def test_unlock_without_repository_exits_2_with_audit(sandbox):
    completed = sandbox.helper("unlock", "--dry-run", RESTIC_REPOSITORY="")
    assert completed.returncode == 2
    document = sandbox.last_json("unlock")
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert "RESTIC_REPOSITORY" in document["error"]


def test_unlock_counts_are_null_when_the_listing_fails(sandbox):
    completed = sandbox.helper("unlock", "--dry-run", RESTIC_REPOSITORY=str(sandbox.root / "nowhere"))
    assert completed.returncode == 10
    document = sandbox.last_json("unlock")
    assert (document["locks_before"], document["locks_after"]) == (None, None)
