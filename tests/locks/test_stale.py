"""Stale locks left by a holder killed with SIGKILL: when the verdict calls them stale, and what
clears them (plain `restic unlock` when it is safe, removal by id when it is not)."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.locks.conftest import log_text, output, wait_until
from tests.locks.lockfiles import backdate, lock_time, seen_since, write_lock

FORGET = {"RESTIC_FORGET_ARGS": "--keep-last 1"}
CLEAR = {**FORGET, "LOCK_FORCE_INACTIVE": "ON", "RESTIC_STALE_LOCK_AGE": "1s"}
# Installs a handler for every signal a stray kill could bring, and writes down each one.
RECORDER = """
import pathlib, signal, sys, time
log = pathlib.Path(sys.argv[1])
def note(number, frame):
    with log.open("a") as handle:
        handle.write(f"{number}\\n")
for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2,
               signal.SIGALRM, signal.SIGCONT, signal.SIGPIPE, signal.SIGQUIT):
    signal.signal(number, note)
log.touch()
while True:
    time.sleep(1)
"""
NS_LAST_PID = Path("/proc/sys/kernel/ns_last_pid")


def verdicts(shared, hostname: str = "host-b", **overrides) -> dict[str, dict]:
    completed = shared.helper(hostname, "unlock", "--dry-run", "--json", **overrides)
    assert completed.returncode == 0, output(completed)
    return {lock["id"]: lock for lock in json.loads(completed.stdout)}


def restic_calls(shared, name: str) -> list[str]:
    return [arguments for _, arguments in shared.calls(name)]


@pytest.mark.slow
def test_killed_backup_of_this_host_is_stale_and_forget_clears_it_with_plain_unlock(shared):
    holder = shared.hold("host-b")
    holder.kill()
    lock = verdicts(shared)[holder.lock_id]
    assert (lock["verdict"], lock["pid"]) == ("stale", holder.pid)
    assert "no process" in lock["reason"]
    completed = shared.helper("host-b", "forget", RESTIC_CALLS=shared.calls_file("b"), **CLEAR)
    assert completed.returncode == 0, output(completed)
    assert shared.last_json("forget")["status"] == "ok"
    assert shared.locks() == set()
    calls = restic_calls(shared, "b")
    assert [call for call in calls if call.startswith("unlock")] == ["unlock"]
    assert sum(call.startswith("forget") for call in calls) == 2  # locked, then retried once
    assert "retrying after removing stale locks" in log_text(shared.sandbox, "forget")


def test_without_force_inactive_a_stale_lock_only_makes_forget_skip(shared):
    holder = shared.hold("host-b")
    holder.kill()
    completed = shared.helper("host-b", "forget", RESTIC_CALLS=shared.calls_file("b"), **FORGET)
    assert completed.returncode == 0, output(completed)
    document = shared.last_json("forget")
    assert (document["status"], document["restic_exit_code"]) == ("skipped", 11)
    assert shared.locks() == {holder.lock_id}
    assert not any(call.startswith("unlock") for call in restic_calls(shared, "b"))
    log = log_text(shared.sandbox, "forget")
    assert "the lock that blocked this run is stale: no process" in log and "/bin/unlock removes it" in log


@pytest.mark.slow
def test_killed_backup_of_another_host_is_not_stale_while_young(shared):
    holder = shared.hold("host-a")
    holder.kill()
    lock = verdicts(shared)[holder.lock_id]
    assert lock["verdict"] == "live" and "refresh interval" in lock["reason"]
    # The shortest observation window allowed, retries every second.
    aggressive = {**CLEAR, "LOCK_OBSERVATION_WINDOW": "25m", "RESTIC_LOCK_RETRY_AFTER": "1s"}
    shared.helper("host-b", "forget", "--lock-wait", "3s", RESTIC_CALLS=shared.calls_file("b"), **aggressive)
    # Whether a spent wait makes forget skip or end locked is forget's business; the lock stays.
    assert shared.last_json("forget")["restic_exit_code"] == 11
    assert shared.locks() == {holder.lock_id}
    assert not any(call.startswith("unlock") for call in restic_calls(shared, "b"))


def crashed_27_minutes_ago(shared) -> str:
    """Leave a lock of host-a whose holder died 27 minutes ago (short of restic's 30); return its id."""
    holder = shared.hold("host-a")
    holder.kill()
    return backdate(shared.repo_dir, PASSWORD, holder.lock_id, shared.cat(holder.lock_id), 27 * 60)


@pytest.mark.slow
def test_another_hosts_dead_lock_is_cleared_by_observation_and_removed_by_id(any_shared):
    shared = any_shared
    lock_id = crashed_27_minutes_ago(shared)
    # The helper's own record: it first saw this lock 26 minutes ago, past the 25-minute window.
    seen_since(shared.sandbox.env, lock_id, 26 * 60)
    started = time.monotonic()
    completed = shared.helper(
        "host-b", "forget", "--lock-wait", "30s", RESTIC_CALLS=shared.calls_file("b"), **CLEAR
    )
    clearance = time.monotonic() - started
    assert completed.returncode == 0, output(completed)
    assert shared.last_json("forget")["status"] == "ok"
    assert lock_id not in shared.locks()
    log = log_text(shared.sandbox, "forget")
    assert f"removed stale lock {lock_id[:8]}" in log and "unchanged for 26m" in log
    # restic itself would not remove a 27-minute-old lock of another host: no unlock was run.
    assert not any(call.startswith("unlock") for call in restic_calls(shared, "b"))
    assert clearance < 10, f"cleared in {clearance:.1f}s"
    print(f"\n[{shared.backend}] clearance of a lock watched past the window: {clearance:.1f}s")


@pytest.mark.parametrize(
    ("window", "watched_minutes"),
    [(None, 24), ("40m", 26)],  # short of the default 25m window; short of a longer one
)
def test_another_hosts_lock_watched_for_less_than_the_window_stays(shared, window, watched_minutes):
    lock_id = crashed_27_minutes_ago(shared)
    seen_since(shared.sandbox.env, lock_id, watched_minutes * 60)
    settings = {**CLEAR, **({"LOCK_OBSERVATION_WINDOW": window} if window else {})}
    lock = verdicts(shared, **settings)[lock_id]
    assert lock["verdict"] == "unknown" and f"observed for {watched_minutes}m" in lock["reason"]
    completed = shared.helper("host-b", "forget", RESTIC_CALLS=shared.calls_file("b"), **settings)
    assert completed.returncode == 0, output(completed)
    assert shared.last_json("forget")["status"] == "skipped"
    assert shared.locks() == {lock_id}


@pytest.mark.parametrize("window", ["10m", "24m59s", "0"])
def test_an_observation_window_shorter_than_restics_refreshability_timeout_is_a_config_error(sandbox, window):
    completed = sandbox.helper("unlock", "--dry-run", LOCK_OBSERVATION_WINDOW=window)
    assert completed.returncode == 2, output(completed)
    assert f"LOCK_OBSERVATION_WINDOW: must be at least 25m00s, got {window!r}" in output(completed)
    assert "Traceback" not in output(completed)
    assert sandbox.helper("unlock", "--dry-run", LOCK_OBSERVATION_WINDOW="25m").returncode == 0


def test_another_hosts_lock_past_30_minutes_is_stale_and_restic_agrees(shared):
    holder = shared.hold("host-a")
    holder.kill()
    lock_id = backdate(shared.repo_dir, PASSWORD, holder.lock_id, shared.cat(holder.lock_id), 31 * 60)
    assert "30-minute" in verdicts(shared)[lock_id]["reason"]
    completed = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("b"))
    assert completed.returncode == 0, output(completed)
    assert shared.locks() == set()
    assert shared.last_json("unlock")["method"] == "restic unlock"


def test_zombie_holder_is_stale_though_restic_thinks_it_alive(shared):
    holder = shared.hold("host-b")
    holder.kill(reap=False)
    try:
        wait_until(lambda: "Z" in Path(f"/proc/{holder.pid}/stat").read_text().split(")")[-1][:3])
        assert "zombie" in verdicts(shared)[holder.lock_id]["reason"]
        completed = shared.helper("host-b", "unlock")
        assert completed.returncode == 0, output(completed)
        assert shared.locks() == set()
        # restic's kill(pid, 0) succeeds on a zombie, so only removal by id could clear it.
        assert shared.last_json("unlock")["method"] == "restic unlock + by id (local)"
    finally:
        holder.process.wait()


def spawn_with_pid(pid: int, argv: list[str]) -> subprocess.Popen | None:
    """Start `argv` as process `pid` (a PID just freed) by setting the kernel's last PID; None
    when another process of this machine took that PID first."""
    if not os.access(NS_LAST_PID, os.W_OK):
        pytest.skip("needs root to choose the next PID (/proc/sys/kernel/ns_last_pid)")
    for _ in range(20):
        NS_LAST_PID.write_text(str(pid - 1))
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        if process.pid == pid:
            return process
        process.kill()
        process.wait()
        if Path(f"/proc/{pid}").exists():
            return None
    return None


def recorder_on_pid(shared, holder) -> tuple[subprocess.Popen, Path, str]:
    """Start a signal recorder under the dead holder's PID; return it, its log and the lock id.

    On a busy machine another process may take the PID first. The lock is then rewritten to
    name the recorder's PID instead: the same situation, one step built by hand.
    """
    signals = shared.sandbox.root / "signals.txt"
    argv = [sys.executable, "-c", RECORDER, str(signals)]
    recorder = spawn_with_pid(holder.pid, argv)
    lock_id = holder.lock_id
    if recorder is None:
        recorder = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
        document = {**shared.cat(lock_id), "pid": recorder.pid}
        lock_id = write_lock(shared.repo_dir, PASSWORD, document)
        (shared.repo_dir / "locks" / holder.lock_id).unlink()
    wait_until(signals.exists, message="the recorder's signal handlers")
    return recorder, signals, lock_id


def test_pid_reused_by_an_unrelated_process_gets_no_signal_and_the_lock_goes_by_id(any_shared):
    shared = any_shared
    holder = shared.hold("host-b")
    holder.kill()
    recorder, signals, lock_id = recorder_on_pid(shared, holder)
    try:
        lock = verdicts(shared)[lock_id]
        assert lock["verdict"] == "stale" and "not restic" in lock["reason"]
        completed = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("b"))
        assert completed.returncode == 0, output(completed)
        assert "restic would send SIGHUP to pid" in completed.stdout
        assert shared.locks() == set()
        assert shared.last_json("unlock")["method"] == f"by id ({shared.backend})"
        assert not any(call.startswith("unlock") for call in restic_calls(shared, "b"))
        time.sleep(0.3)
        assert recorder.poll() is None
        assert signals.read_text() == ""
    finally:
        recorder.kill()
        recorder.wait()


def test_without_direct_access_a_reused_pid_keeps_its_lock_and_the_run_says_why(shared):
    # The rclone backend: restic reaches the repository through rclone; the helper cannot.
    holder = shared.hold("host-b")
    holder.kill()
    recorder, signals, lock_id = recorder_on_pid(shared, holder)
    try:
        completed = shared.helper(
            "host-b", "unlock", RESTIC_REPOSITORY=f"rclone:{shared.repo_dir}", RCLONE_CONFIG="/dev/null"
        )
        assert completed.returncode == 3, output(completed)
        document = shared.last_json("unlock")
        assert document["status"] == "warning"
        assert "1 stale lock(s) not removed" in document["error"]
        assert "SIGHUP to pid" in document["error"]
        assert shared.locks() == {lock_id}
        assert recorder.poll() is None and signals.read_text() == ""
    finally:
        recorder.kill()
        recorder.wait()


def test_auto_unlock_after_a_failure_never_signals_an_unrelated_process(shared):
    signals = shared.sandbox.root / "signals.txt"
    recorder = subprocess.Popen([sys.executable, "-c", RECORDER, str(signals)], start_new_session=True)
    try:
        wait_until(signals.exists, message="the recorder's signal handlers")
        # A lock of this host that names the recorder's PID, as a crashed restic's would after reuse.
        document = {"time": lock_time(5), "exclusive": False, "hostname": "host-b", "username": "root"}
        lock_id = write_lock(shared.repo_dir, PASSWORD, {**document, "pid": recorder.pid})
        completed = shared.helper(
            "host-b",
            "check",
            RESTIC_CHECK_ARGS="--no-such-flag",
            RESTIC_AUTO_UNLOCK="ON",
            RESTIC_CALLS=shared.calls_file("b"),
        )
        assert completed.returncode == 1, output(completed)
        log = log_text(shared.sandbox, "check")
        assert "not running restic unlock" in log and f"SIGHUP to pid {recorder.pid}" in log
        assert f"removed stale lock {lock_id[:8]}" in log
        assert not any(call.startswith("unlock") for call in restic_calls(shared, "b"))
        time.sleep(0.3)
        assert recorder.poll() is None and signals.read_text() == ""
    finally:
        recorder.kill()
        recorder.wait()
