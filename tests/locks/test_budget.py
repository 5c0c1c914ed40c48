"""The lock wait budget is cumulative: one run that waits first for the run lock and then for a
repository lock never waits longer in total than the budget, and the lock failure it ends
with reaches the JSON, the metrics, mail, the webhook and the post-hook."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.locks.conftest import log_text, output, read_metrics, wait_until
from tests.support.receivers import http_receiver

BUDGET = 5.0
# What a run may take beyond its budget: Python's start-up, a restic attempt begun just before
# the deadline, the last look at the blocking lock, the reporters.
SLACK = 3.0
HOLD_RUN_LOCK = """
import fcntl, os, pathlib, sys, time
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
pathlib.Path(sys.argv[2]).touch()
time.sleep(float(sys.argv[3]))
"""
SENDMAIL = '#!/bin/sh\ncat > "$(dirname "$0")/mail.txt"\n'


def install_sendmail(shared) -> Path:
    """A sendmail that keeps the mail it is given in mail.txt beside itself."""
    sendmail = shared.sandbox.root / "sendmail"
    sendmail.write_text(SENDMAIL)
    sendmail.chmod(0o755)
    return sendmail


def hold_run_lock(shared, seconds: float) -> subprocess.Popen:
    """Another process of this host holds the run lock for `seconds`."""
    ready = shared.sandbox.root / "run-lock-held"
    path = shared.sandbox.root / "lock" / "run.lock"
    process = subprocess.Popen([sys.executable, "-c", HOLD_RUN_LOCK, str(path), str(ready), str(seconds)])
    wait_until(ready.exists, message="the run lock holder")
    return process


def timed_run(shared, *arguments: str, **overrides) -> tuple[subprocess.CompletedProcess, float]:
    """Run the helper as host-b; return its result and the wall time it took, start-up included."""
    started = time.monotonic()
    completed = shared.helper("host-b", *arguments, **overrides)
    return completed, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.parametrize("source", ["--lock-wait", "SCHEDULE_LOCK_WAIT"])
def test_waits_for_the_run_lock_and_a_repository_lock_share_one_budget(shared, source):
    shared.hold("host-a", "exclusive")
    run_lock_holder = hold_run_lock(shared, 2.0)
    arguments = ("--lock-wait", f"{BUDGET:.0f}s") if source == "--lock-wait" else ("--scheduled",)
    completed, elapsed = timed_run(
        shared, "prune", *arguments, SCHEDULE_LOCK_WAIT=f"{BUDGET:.0f}s", RESTIC_LOCK_RETRY_AFTER="1s"
    )
    run_lock_holder.wait()
    print(f"\nrun lock + repository lock, budget {BUDGET:.0f}s: the run took {elapsed:.2f}s")
    assert completed.returncode == 11, output(completed)
    document = shared.last_json("prune")
    assert document["status"] == "locked"
    assert BUDGET - 0.5 <= document["lock_wait_seconds"] <= BUDGET + 1.5
    # Measured, not self-reported: the whole run, Python's start-up and the last look at the
    # blocking lock included, stays within the budget plus a small constant.
    assert elapsed <= BUDGET + SLACK, elapsed
    log = log_text(shared.sandbox, "prune")
    assert "repository locked by an exclusive lock of pid" in log and "on host-a" in log


@pytest.mark.slow
def test_a_backup_and_its_inline_forget_share_the_budget_with_the_run_lock(shared):
    # Host A's backup holds a non-exclusive lock: host B's backup runs beside it, but B's
    # inline forget needs the repository to itself and waits for what the run lock left.
    shared.hold("host-a", "backup")
    run_lock_holder = hold_run_lock(shared, 2.0)
    completed, elapsed = timed_run(
        shared,
        "backup",
        "--lock-wait",
        f"{BUDGET:.0f}s",
        RESTIC_FORGET_ARGS="--keep-last 1",
        RESTIC_LOCK_RETRY_AFTER="1s",
        RESTIC_CALLS=shared.calls_file("b"),
    )
    run_lock_holder.wait()
    assert completed.returncode == 0, output(completed)
    document = shared.last_json("backup")
    assert (document["status"], document["forget_exit_code"]) == ("ok", 11)
    assert BUDGET - 0.5 <= document["lock_wait_seconds"] <= BUDGET + 1.5
    # The backup's own work is not lock wait: from its start to the inline forget's first call.
    starts = {}
    for start, arguments in shared.calls("b"):
        starts.setdefault(arguments.split()[0], start)
    working = starts["forget"] - starts["backup"]
    print(f"\nrun lock + inline forget, budget {BUDGET:.0f}s: {elapsed:.2f}s, of which backup {working:.2f}s")
    assert elapsed - working <= BUDGET + SLACK, (elapsed, working)


@pytest.mark.slow
def test_restics_own_retry_lock_is_lock_wait_too(shared):
    # restic waits 4 s itself (--retry-lock in the policy), which spends the 3 s budget:
    # the helper does not wait on top of it.
    shared.hold("host-a", "exclusive")
    completed, elapsed = timed_run(
        shared,
        "forget",
        "--lock-wait",
        "3s",
        RESTIC_FORGET_ARGS="--keep-last 1 --retry-lock 4s",
        RESTIC_LOCK_RETRY_AFTER="1s",
        RESTIC_CALLS=shared.calls_file("b"),
    )
    assert completed.returncode == 11, output(completed)
    document = shared.last_json("forget")
    assert document["status"] == "locked" and document["lock_wait_seconds"] >= 4
    assert [arguments.split()[0] for _, arguments in shared.calls("b")].count("forget") == 1
    assert elapsed <= 4 + SLACK, elapsed


@pytest.mark.slow
def test_a_repository_lock_timeout_reaches_every_sink(shared):
    shared.hold("host-a", "exclusive")
    sendmail = install_sendmail(shared)
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
    assert 1.5 <= document["lock_wait_seconds"] <= 3.0
    metrics = read_metrics(shared.sandbox.metrics_dir / "restic_prune.prom")
    assert metrics["restic_prune_locked_runs_total"] == 1
    assert 1.5 <= metrics["restic_prune_last_lock_wait_seconds"] <= 2.5
    assert '"status": "locked"' in requests[0].body.decode()
    mail = (shared.sandbox.root / "mail.txt").read_text()
    assert "[LOCKED 11]" in mail
    post = (shared.sandbox.hooks_dir / "post.out").read_text()
    assert post.startswith("11 locked ") and "host-a" in post


@pytest.mark.slow
def test_a_forget_whose_lock_wait_is_spent_ends_locked_and_says_so(shared):
    # Without a wait, another host's lock makes forget skip (test_handoff). Asked to wait and
    # still locked out, it failed to do what it was asked: locked, exit 11, and never silent.
    shared.hold("host-a", "exclusive")
    sendmail = install_sendmail(shared)
    shared.sandbox.hook("post-forget.sh", 'echo "$1 $HELPER_STATUS" > "$HOOKS_DIR/post.out"\n')
    completed = shared.helper(
        "host-b",
        "forget",
        "--lock-wait",
        "2s",
        RESTIC_FORGET_ARGS="--keep-last 1",
        RESTIC_LOCK_RETRY_AFTER="1s",
        MAILX_RCPT="ops@example.org",
        MAILX_ON_ERROR="ON",
        SENDMAIL_BIN=str(sendmail),
    )
    assert completed.returncode == 11, output(completed)
    document = shared.last_json("forget")
    assert (document["status"], document["exit_code"], document["restic_exit_code"]) == ("locked", 11, 11)
    assert "host-a" in document["error"] and 1.5 <= document["lock_wait_seconds"] <= 3.0
    metrics = read_metrics(shared.sandbox.metrics_dir / "restic_forget.prom")
    assert metrics["restic_forget_locked_runs_total"] == 1
    assert "[LOCKED 11]" in (shared.sandbox.root / "mail.txt").read_text()
    assert (shared.sandbox.hooks_dir / "post.out").read_text() == "11 locked\n"
    assert len(shared.locks()) == 1  # host-a's lock, untouched


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
