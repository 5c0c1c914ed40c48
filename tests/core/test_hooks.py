"""Pre and post hooks: order, context variables, time limits, the skip convention."""

import os
import signal
import subprocess
import sys
import time

from tests.core.conftest import output, process_gone, snapshots, wait_until


def test_hooks_run_around_the_worker_with_context_variables(sandbox):
    trace = sandbox.root / "trace"
    sandbox.hook(
        "pre-backup.sh",
        f'echo "pre $# $HELPER_JOB $HELPER_PHASE" >> {trace}\n'
        # Written into the source before the backup, so the snapshot proves the order.
        'echo made-by-hook > "$BACKUP_ROOT_DIR/from-pre-hook.txt"\n',
    )
    sandbox.hook(
        "post-backup.sh",
        'echo "post $1 $HELPER_JOB $HELPER_PHASE $HELPER_STATUS $HELPER_EXIT_CODE $HELPER_SNAPSHOT_ID"'
        f" >> {trace}\n",
    )
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("backup")
    assert document["files_new"] == 3
    assert trace.read_text().splitlines() == [
        "pre 0 backup pre",
        f"post 0 backup post ok 0 {document['snapshot_id']}",
    ]


def test_hook_output_reaches_the_run_log_masked(sandbox):
    sandbox.hook("pre-backup.sh", 'echo "password is $RESTIC_PASSWORD"\necho "to stderr" >&2\n')
    completed = sandbox.helper("backup")
    log = (sandbox.log_dir / "backup-last.log").read_text()
    assert "[pre-backup] password is ***" in log
    assert "[pre-backup] to stderr" in log
    assert sandbox.env["RESTIC_PASSWORD"] not in log + output(completed)


def test_post_hook_gets_the_failure_exit_code(sandbox):
    trace = sandbox.root / "trace"
    sandbox.hook("post-check.sh", f'echo "$1 $HELPER_STATUS $HELPER_ERROR" > {trace}\n')
    completed = sandbox.helper("check", RESTIC_PASSWORD="wrong-password")
    assert completed.returncode == 12
    code, status, error = trace.read_text().split(" ", 2)
    assert (code, status) == ("12", "failed")
    assert "RESTIC_PASSWORD" in error


def test_a_failing_pre_hook_is_logged_and_the_job_still_runs(sandbox):
    sandbox.hook("pre-backup.sh", "exit 1\n")
    completed = sandbox.helper("backup")
    assert completed.returncode == 0
    assert "hook pre-backup.sh exited 1" in completed.stdout
    assert len(snapshots(sandbox)) == 1


def test_a_non_executable_hook_is_reported_and_skipped(sandbox):
    hook = sandbox.hook("pre-backup.sh", "touch should-not-exist\n")
    hook.chmod(0o644)
    completed = sandbox.helper("backup")
    assert completed.returncode == 0
    assert "is not executable" in completed.stdout
    assert len(snapshots(sandbox)) == 1


def test_pre_hook_exit_75_skips_the_run(sandbox):
    trace = sandbox.root / "trace"
    sandbox.hook("pre-backup.sh", "echo 'not on battery'\nexit 75\n")
    sandbox.hook("post-backup.sh", f'echo "$1 $HELPER_STATUS" > {trace}\n')
    completed = sandbox.helper("backup")
    assert completed.returncode == 0
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("skipped", 0)
    assert "exit 75" in completed.stdout
    assert trace.read_text() == "0 skipped\n"
    assert snapshots(sandbox) == []


def test_hook_timeout_kills_the_hooks_whole_process_group(sandbox):
    grandchild_pid_file = sandbox.root / "grandchild.pid"
    sandbox.hook(
        "pre-backup.sh",
        f"sh -c 'echo $$ > {grandchild_pid_file}; exec sleep 300' &\nsleep 300\n",
    )
    started = time.monotonic()
    completed = sandbox.helper("backup", HOOK_TIMEOUT="1")
    assert time.monotonic() - started < 30
    assert completed.returncode == 0, output(completed)
    assert "hook pre-backup.sh timed out after 1s" in completed.stdout
    grandchild = int(grandchild_pid_file.read_text())
    wait_until(lambda: process_gone(grandchild), timeout=5, message="the hook's grandchild to die")
    assert len(snapshots(sandbox)) == 1


def test_a_background_process_left_by_a_hook_does_not_hold_up_the_run(sandbox):
    pid_file = sandbox.root / "daemon.pid"
    # The background sleep inherits the hook's stdout, so the pipe stays open after the hook ends.
    sandbox.hook("pre-backup.sh", f"sleep 60 &\necho $! > {pid_file}\necho started\n")
    started = time.monotonic()
    try:
        completed = sandbox.helper("backup")
        assert completed.returncode == 0, output(completed)
        assert time.monotonic() - started < 30
        assert "[pre-backup] started" in completed.stdout
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


# Runs one hook in a fresh process that has already received SIGTERM: prints the hook's exit
# code and how long it took.
HOOK_AFTER_A_STOP = """
import os, signal, sys, time
from pathlib import Path
from helper import hooks
from helper.stop import TOKEN

TOKEN.install()
os.kill(os.getpid(), signal.SIGTERM)
started = time.monotonic()
code = hooks.run_hook(Path(sys.argv[1]), {}, timeout_seconds=60, after_the_run=sys.argv[2] == "post")
print(code, round(time.monotonic() - started, 1))
"""


def run_hook_after_a_stop(sandbox, hook, phase: str) -> tuple[int, float]:
    completed = subprocess.run(
        [sys.executable, "-c", HOOK_AFTER_A_STOP, str(hook), phase],
        env=sandbox.env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert completed.returncode == 0, output(completed)
    code, seconds = completed.stdout.split()[-2:]
    return int(code), float(seconds)


def test_a_pre_hook_started_after_a_stop_signal_is_stopped(sandbox):
    finished = sandbox.root / "finished"
    hook = sandbox.hook("pre-backup.sh", f"sleep 30\ntouch {finished}\n")
    code, seconds = run_hook_after_a_stop(sandbox, hook, "pre")
    assert code == -signal.SIGTERM
    assert seconds < 10
    assert not finished.exists()


def test_a_post_hook_started_after_a_stop_signal_runs_to_its_end(sandbox):
    finished = sandbox.root / "finished"
    hook = sandbox.hook("post-backup.sh", f"sleep 2\ntouch {finished}\n")
    code, seconds = run_hook_after_a_stop(sandbox, hook, "post")
    assert code == 0
    assert seconds >= 2
    assert finished.exists()
