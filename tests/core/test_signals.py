"""A stop signal reaches restic as SIGINT, so restic removes its own lock, and the run is
recorded as interrupted."""

import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.core.conftest import ROOT, repository_locks, slow_source, wait_until


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stopped_backup_hands_sigint_to_restic_and_leaves_no_lock(sandbox, stop_signal):
    trace = sandbox.root / "post.out"
    sandbox.hook("post-backup.sh", f'echo "$1 $HELPER_STATUS" > {trace}\n')
    process = subprocess.Popen(
        [str(ROOT / "bin" / "backup")],
        env={**sandbox.env, **slow_source(60)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(lambda: repository_locks(sandbox), timeout=30, message="restic to lock the repository")
        process.send_signal(stop_signal)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, stdout + stderr
    log = (sandbox.log_dir / "backup-last.log").read_text()
    # restic's own words for a SIGINT; a SIGTERM would read "signal terminated received".
    assert "signal interrupt received, cleaning up" in log
    assert repository_locks(sandbox) == []
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"], document["snapshot_id"]) == ("interrupted", 130, None)
    assert trace.read_text() == "130 interrupted\n"
    assert Path(sandbox.log_dir / "backup-error-last.log").exists()


def test_a_stop_signal_during_a_hook_reaches_the_hook(sandbox):
    started, stopped = sandbox.root / "hook-started", sandbox.root / "hook-stopped"
    sandbox.hook(
        "pre-backup.sh",
        f"trap 'echo TERM > {stopped}; exit 0' TERM\ntouch {started}\nsleep 120 &\nwait\n",
    )
    process = subprocess.Popen(
        [str(ROOT / "bin" / "backup")],
        env=sandbox.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until(started.exists, timeout=30, message="the pre-hook to start")
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert stopped.read_text() == "TERM\n"
    assert process.returncode == 130, stdout + stderr
    assert sandbox.last_json("backup")["status"] == "interrupted"
    assert repository_locks(sandbox) == []


def test_a_stop_signal_after_the_report_leaves_the_recorded_exit_code(sandbox):
    """The scheduler's SIGINT may land while the worker's Python shuts down, after the run was
    reported; the process still exits with the code its JSON records, not by the signal."""
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    process = subprocess.Popen([str(ROOT / "bin" / "unlock")], env=sandbox.env, **output)
    record = sandbox.log_dir / "last-unlock.json"
    deadline = time.monotonic() + 60
    try:
        while not (record.exists() and '"exit_code": null' not in record.read_text()):
            assert time.monotonic() < deadline, "no report of the run"
            time.sleep(0.001)
        while process.poll() is None:  # every moment of the shutdown gets a signal
            process.send_signal(signal.SIGINT)
            time.sleep(0.0005)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == sandbox.last_json("unlock")["exit_code"] == 0, stdout + stderr
