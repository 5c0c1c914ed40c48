"""The lock wait budget is cumulative: one run that waits first for the run lock and then for a
repository lock never waits longer in total than the budget, and the lock failure it ends
with reaches the JSON, the metrics, mail, the webhook and the post-hook."""

import signal
import subprocess
import sys
import time

import pytest

from tests.locks.conftest import log_text, output, read_metrics, wait_until
from tests.support.receivers import http_receiver

BUDGET = 5.0
HOLD_RUN_LOCK = """
import fcntl, os, pathlib, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
pathlib.Path(sys.argv[2]).touch()
time.sleep(float(sys.argv[3]))
"""
SENDMAIL = '#!/bin/sh\ncat > "$(dirname "$0")/mail.txt"\n'


def hold_run_lock(shared, seconds: float) -> subprocess.Popen:
    """Another process of this host holds the run lock for `seconds`."""
    ready = shared.sandbox.root / "run-lock-held"
    path = shared.sandbox.root / "lock" / "run.lock"
    process = subprocess.Popen([sys.executable, "-c", HOLD_RUN_LOCK, str(path), str(ready), str(seconds)])
    wait_until(ready.exists, message="the run lock holder")
    return process


@pytest.mark.slow
@pytest.mark.parametrize("source", ["--lock-wait", "SCHEDULE_LOCK_WAIT"])
def test_waits_for_the_run_lock_and_a_repository_lock_share_one_budget(shared, source):
    shared.hold("host-a", "exclusive")
    run_lock_holder = hold_run_lock(shared, 2.0)
    arguments = ("--lock-wait", f"{BUDGET:.0f}s") if source == "--lock-wait" else ("--scheduled",)
    started = time.monotonic()
    completed = shared.helper(
        "host-b", "prune", *arguments, SCHEDULE_LOCK_WAIT=f"{BUDGET:.0f}s", RESTIC_LOCK_RETRY_AFTER="1s"
    )
    elapsed = time.monotonic() - started
    run_lock_holder.wait()
    assert completed.returncode == 11, output(completed)
    document = shared.last_json("prune")
    assert document["status"] == "locked"
    assert BUDGET - 0.5 <= document["lock_wait_seconds"] <= BUDGET + 0.5
    # Besides the waits: Python start-up and a handful of restic attempts of about half a second.
    assert elapsed < BUDGET + 8, elapsed
    log = log_text(shared.sandbox, "prune")
    assert "repository locked by an exclusive lock of pid" in log and "on host-a" in log


@pytest.mark.slow
def test_a_repository_lock_timeout_reaches_every_sink(shared):
    shared.hold("host-a", "exclusive")
    sendmail = shared.sandbox.root / "sendmail"
    sendmail.write_text(SENDMAIL)
    sendmail.chmod(0o755)
    shared.sandbox.hook("post-prune.sh", 'echo "$1 $HELPER_STATUS $HELPER_ERROR" > "$HOOKS_DIR/post.out"\n')
    with http_receiver() as webhook:
        completed = shared.helper(
            "host-b",
            "prune",
            "--lock-wait",
            "2s",
            RESTIC_LOCK_RETRY_AFTER="1s",
            MAILX_RCPT="ops@example.org",
            SENDMAIL_BIN=str(sendmail),
            WEBHOOK_URL=webhook.url(),
        )
        requests = webhook.wait_for(1)
    assert completed.returncode == 11, output(completed)
    document = shared.last_json("prune")
    assert (document["status"], document["exit_code"]) == ("locked", 11)
    assert "host-a" in document["error"] and "unlock --dry-run" in document["error"]
    assert "it is live: written" in document["error"]
    assert 1.5 <= document["lock_wait_seconds"] <= 2.5
    metrics = read_metrics(shared.sandbox.metrics_dir / "restic_prune.prom")
    assert metrics["restic_prune_locked_runs_total"] == 1
    assert 1.5 <= metrics["restic_prune_last_lock_wait_seconds"] <= 2.5
    assert '"status": "locked"' in requests[0].body.decode()
    mail = (shared.sandbox.root / "mail.txt").read_text()
    assert "[LOCKED 11]" in mail
    post = (shared.sandbox.hooks_dir / "post.out").read_text()
    assert post.startswith("11 locked ") and "host-a" in post


@pytest.mark.slow
def test_sigterm_while_waiting_for_a_repository_lock_ends_the_run_at_once(shared):
    shared.hold("host-a", "exclusive")
    waiter = shared.start_helper("host-b", "prune", "--lock-wait", "2m", RESTIC_CALLS=shared.calls_file("b"))
    wait_until(lambda: "⏳ repository locked" in log_file(shared), message="the wait")
    time.sleep(0.5)
    waiter.send_signal(signal.SIGTERM)
    started = time.monotonic()
    stdout, stderr = waiter.communicate(timeout=30)
    assert time.monotonic() - started < 3
    assert waiter.returncode == 130, stdout + stderr
    document = shared.last_json("prune")
    assert (document["status"], document["exit_code"]) == ("interrupted", 130)
    assert "interrupted while waiting for the repository lock" in document["error"]


def log_file(shared) -> str:
    path = shared.sandbox.log_dir / "prune-last.log"
    return path.read_text() if path.exists() else ""
