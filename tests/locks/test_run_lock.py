"""The run lock: one local lock for a whole run (hooks and restic calls included), its recorded
holder, LOCK_FORCE_INACTIVE's takeover of a lock whose holder is gone, the races around a
takeover, and the lock wait."""

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.locks.conftest import log_text, output, read_metrics, wait_until

ROOT = Path(__file__).resolve().parents[2]

# Takes the run lock, records itself as its holder, hands the descriptor to a `sleep` that
# outlives it, and exits: the flock stays held, but its recorded holder is gone.
ORPHANED_LOCK = """
import fcntl, json, os, socket, subprocess, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(descriptor, fcntl.LOCK_EX)
holder = {"pid": os.getpid(), "hostname": socket.gethostname(), "job": "backup"}
os.write(descriptor, json.dumps(holder).encode())
child = subprocess.Popen(
    ["sleep", "60"], pass_fds=(descriptor,), start_new_session=True,
    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
print(child.pid)
"""
# Holds the guard of the run lock (as a run does while it takes the lock and records itself)
# until the gate file appears; with a record given, it is half-way through taking the lock:
# flocked, with the record of a run that has finished still in the file.
MID_ACQUIRE = """
import fcntl, json, os, pathlib, socket, sys, time
path, gate, record = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
guard = os.open(path + ".guard", os.O_RDWR | os.O_CREAT)
fcntl.flock(guard, fcntl.LOCK_EX)
if record:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.ftruncate(descriptor, 0)
    os.write(descriptor, record.encode())
print("ready", flush=True)
while not gate.exists():
    time.sleep(0.02)
if record:
    holder = {"pid": os.getpid(), "hostname": socket.gethostname(), "job": "prune"}
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, json.dumps(holder).encode(), 0)
os.close(guard)
time.sleep(60)
"""

# Takes the run lock with the helper's own code, says what it got, and keeps it until stdin closes.
ACQUIRE = """
import sys
from pathlib import Path
from helper.locks import run_lock
from helper.locks.budget import WaitBudget
lock = run_lock.acquire(Path(sys.argv[1]), "backup", WaitBudget(0))
print(type(lock).__name__, flush=True)
sys.stdin.read()
"""


def gated(gate: Path) -> str:
    """A hook body that waits for `gate`, for at most a minute, so a failed test leaves no loop."""
    return f'i=0; while [ ! -e "{gate}" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\n'


def run_lock_path(sandbox) -> Path:
    return Path(sandbox.env["LOCK_DIR"]) / "run.lock"


def holder_of(sandbox) -> dict | None:
    try:
        return json.loads(run_lock_path(sandbox).read_text())
    except (OSError, ValueError):
        return None


def start(sandbox, *arguments: str, **overrides) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "helper", *arguments],
        env={**sandbox.env, **overrides},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_holder_is_recorded_and_the_lock_spans_the_hooks(sandbox):
    gate = sandbox.root / "gate"
    sandbox.hook("pre-backup.sh", gated(gate))
    sandbox.hook("post-backup.sh", f'cat "{run_lock_path(sandbox)}" > "$HOOKS_DIR/post-holder.json"\n')
    run = start(sandbox, "backup")
    holder = wait_until(lambda: holder_of(sandbox), message="holder")
    assert holder["pid"] == run.pid
    assert holder["hostname"] == socket.gethostname()
    assert holder["job"] == "backup"
    assert datetime.fromisoformat(holder["started_at"]).tzinfo is not None
    # While the pre-hook runs, another run of the same container is skipped.
    skipped = subprocess.run(
        [sys.executable, "-m", "helper", "forget"], env=sandbox.env, capture_output=True, text=True
    )
    assert "forget skipped: previous run still active" in skipped.stdout
    assert f"held by pid {run.pid} (backup)" in skipped.stdout
    gate.touch()
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 0, stdout + stderr
    # The post-hook still ran under the lock, with the same holder.
    assert json.loads((sandbox.hooks_dir / "post-holder.json").read_text())["pid"] == run.pid
    # Released, the record is emptied: it never names a run that has finished.
    assert run_lock_path(sandbox).read_text() == ""


@pytest.fixture
def orphaned_lock(sandbox):
    path = run_lock_path(sandbox)
    completed = subprocess.run(
        [sys.executable, "-c", ORPHANED_LOCK, str(path)], capture_output=True, text=True, check=True
    )
    sleeper = int(completed.stdout)
    yield path
    os.kill(sleeper, signal.SIGKILL)


def test_a_lock_whose_holder_is_gone_blocks_until_force_inactive_takes_it_over(sandbox, orphaned_lock):
    blocked = sandbox.helper("backup")
    assert "backup skipped: previous run still active" in blocked.stdout
    completed = sandbox.helper("backup", LOCK_FORCE_INACTIVE="ON")
    assert completed.returncode == 0, output(completed)
    assert sandbox.last_json("backup")["status"] == "ok"
    log = log_text(sandbox, "backup")
    assert "took over the run lock" in log and "whose process is gone (LOCK_FORCE_INACTIVE)" in log
    # The straggler kept the old file; the new one was released and emptied.
    assert orphaned_lock.read_text() == ""


def opened_by(pid: int, path: Path) -> bool:
    """Whether process `pid` has `path` open (a run blocked on the guard has)."""
    try:
        links = [os.readlink(entry) for entry in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return str(path) in links


def start_mid_acquire(sandbox, gate: Path, record: dict | None) -> subprocess.Popen:
    path = run_lock_path(sandbox)
    path.parent.mkdir(parents=True, exist_ok=True)
    arguments = [str(path), str(gate), json.dumps(record) if record else ""]
    process = subprocess.Popen(
        [sys.executable, "-c", MID_ACQUIRE, *arguments], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "ready\n"
    return process


def finished_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_a_takeover_never_reads_the_record_of_a_run_taking_the_lock(sandbox):
    # A run has just flocked the lock and not yet written its record: the file still names a
    # finished run. A waiter with LOCK_FORCE_INACTIVE must see the new holder, not take over.
    gate = sandbox.root / "gate"
    finished = {"pid": finished_pid(), "hostname": socket.gethostname(), "job": "backup"}
    taking = start_mid_acquire(sandbox, gate, finished)
    try:
        waiter = start(sandbox, "backup", LOCK_FORCE_INACTIVE="ON")
        guard = run_lock_path(sandbox).with_name("run.lock.guard")
        wait_until(lambda: opened_by(waiter.pid, guard), message="the waiter at the guard")
        gate.touch()
        stdout, stderr = waiter.communicate(timeout=60)
    finally:
        taking.kill()
        taking.wait()
    assert waiter.returncode == 0, stdout + stderr
    assert "backup skipped: previous run still active" in stdout
    assert f"held by pid {taking.pid} (prune)" in stdout
    assert not (sandbox.log_dir / "last-backup.json").exists()


def test_two_runs_taking_over_the_same_lock_never_both_run(sandbox, orphaned_lock):
    # Both runs find the holder gone at the same moment: one takes the lock over, and the
    # other then sees that one as the live holder and is skipped, instead of replacing it.
    gate, hook_gate = sandbox.root / "gate", sandbox.root / "hook-gate"
    sandbox.hook("pre-backup.sh", 'echo "$PPID" >> "$HOOKS_DIR/ran"\n' + gated(hook_gate))
    guard_holder = start_mid_acquire(sandbox, gate, None)
    runs = [start(sandbox, "backup", LOCK_FORCE_INACTIVE="ON") for _ in range(2)]
    guard = run_lock_path(sandbox).with_name("run.lock.guard")
    try:
        wait_until(lambda: all(opened_by(run.pid, guard) for run in runs), message="both at the guard")
        gate.touch()
        wait_until(lambda: any(run.poll() is not None for run in runs), message="one run skipped")
        (skipped,) = [run for run in runs if run.poll() is not None]
        (taker,) = [run for run in runs if run is not skipped]
        assert "backup skipped: previous run still active" in skipped.stdout.read()
        assert json.loads(orphaned_lock.read_text())["pid"] == taker.pid
    finally:
        hook_gate.touch()
        guard_holder.kill()
        guard_holder.wait()
    stdout, stderr = taker.communicate(timeout=60)
    assert taker.returncode == 0, stdout + stderr
    assert "took over the run lock" in stdout
    assert (sandbox.hooks_dir / "ran").read_text().split() == [str(taker.pid)]


def test_force_inactive_never_takes_a_lock_from_a_live_holder(sandbox):
    gate = sandbox.root / "gate"
    sandbox.hook("pre-backup.sh", gated(gate))
    run = start(sandbox, "backup")
    wait_until(
        lambda: run_lock_path(sandbox).exists() and run_lock_path(sandbox).read_text(), message="holder"
    )
    completed = sandbox.helper("prune", LOCK_FORCE_INACTIVE="ON")
    gate.touch()
    run.communicate(timeout=60)
    assert "prune skipped: previous run still active" in completed.stdout
    assert not (sandbox.log_dir / "last-prune.json").exists()


@pytest.mark.slow
def test_a_run_waits_for_the_run_lock_and_then_runs(sandbox):
    sandbox.hook("pre-backup.sh", "sleep 2\n")
    first = start(sandbox, "backup")
    wait_until(
        lambda: run_lock_path(sandbox).exists() and run_lock_path(sandbox).read_text(), message="holder"
    )
    started = time.monotonic()
    second = sandbox.helper("check", "--lock-wait", "30s")
    first.communicate(timeout=60)
    assert second.returncode == 0, output(second)
    document = sandbox.last_json("check")
    assert document["status"] == "ok"
    assert 1.0 <= document["lock_wait_seconds"] <= time.monotonic() - started
    assert "waited" in log_text(sandbox, "check") and "for the run lock" in log_text(sandbox, "check")


def test_a_run_lock_wait_that_runs_out_ends_locked_and_says_so_everywhere(sandbox, orphaned_lock):
    sandbox.hook("post-check.sh", 'echo "$1 $HELPER_STATUS" > "$HOOKS_DIR/post.out"\n')
    completed = sandbox.helper("check", "--lock-wait", "1s")
    assert completed.returncode == 11, output(completed)
    document = sandbox.last_json("check")
    assert (document["status"], document["exit_code"]) == ("locked", 11)
    assert "gave up after waiting 1s for the run lock" in document["error"]
    assert 0.9 <= document["lock_wait_seconds"] <= 1.6
    assert (sandbox.hooks_dir / "post.out").read_text() == "11 locked\n"
    assert read_metrics(sandbox.metrics_dir / "restic_check.prom")["restic_check_locked_runs_total"] == 1


def test_a_stop_signal_during_the_run_lock_wait_ends_the_run_interrupted_with_its_audit(sandbox):
    gate = sandbox.root / "gate"
    sandbox.hook("pre-backup.sh", gated(gate))
    holder = start(sandbox, "backup")
    wait_until(lambda: holder_of(sandbox), message="holder")
    waiter = start(sandbox, "forget", "--lock-wait", "5m", RESTIC_FORGET_ARGS="--keep-last 1")
    try:
        time.sleep(1.0)
        assert waiter.poll() is None  # still waiting for the run lock
        began = time.monotonic()
        waiter.send_signal(signal.SIGTERM)
        waiter.communicate(timeout=30)
        assert time.monotonic() - began < 5
        assert waiter.returncode == 130
        document = sandbox.last_json("forget")
        assert document["status"] == "interrupted"
    finally:
        gate.touch()
        holder.communicate(timeout=60)
    assert holder.returncode == 0


def start_holding_the_guard(sandbox) -> tuple[subprocess.Popen, Path]:
    """A process that holds the guard and never lets go, as a stopped or hung run would."""
    never = sandbox.root / "never"
    return start_mid_acquire(sandbox, never, None), run_lock_path(sandbox).with_name("run.lock.guard")


def test_a_stop_signal_while_the_guard_is_held_ends_the_run_interrupted(sandbox):
    guard_holder, guard = start_holding_the_guard(sandbox)
    try:
        waiter = start(sandbox, "forget", "--lock-wait", "5m", RESTIC_FORGET_ARGS="--keep-last 1")
        wait_until(lambda: opened_by(waiter.pid, guard), message="the waiter at the guard")
        time.sleep(0.3)
        began = time.monotonic()
        waiter.send_signal(signal.SIGTERM)
        stdout, stderr = waiter.communicate(timeout=30)
        assert time.monotonic() - began < 5
    finally:
        guard_holder.kill()
        guard_holder.wait()
    assert waiter.returncode == 130, stdout + stderr
    assert sandbox.last_json("forget")["status"] == "interrupted"


@pytest.mark.slow
def test_a_guard_held_for_ever_makes_the_run_lock_busy_instead_of_hanging(sandbox):
    guard_holder, _ = start_holding_the_guard(sandbox)
    try:
        began = time.monotonic()
        completed = sandbox.helper("backup", timeout=60)
        waited = time.monotonic() - began
    finally:
        guard_holder.kill()
        guard_holder.wait()
    assert completed.returncode == 0, output(completed)
    assert "backup skipped: previous run still active" in completed.stdout
    assert 5 <= waited < 20


def acquire_in_child(path: Path, *prefix: str, **options) -> subprocess.Popen:
    child = subprocess.Popen(
        [*prefix, sys.executable, "-c", ACQUIRE, str(path)],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **options,
    )
    return child


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_a_guard_created_by_root_still_serves_a_run_of_another_user():
    lock_dir = Path(tempfile.mkdtemp(prefix="run-lock-"))  # pytest's own are private to root
    try:
        lock_dir.chmod(0o777)
        os.close(os.open(lock_dir / "run.lock.guard", os.O_CREAT | os.O_RDONLY, 0o644))
        nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
        child = acquire_in_child(lock_dir / "run.lock", *nobody)
        stdout, stderr = child.communicate("", timeout=30)
        assert (child.returncode, stdout) == (0, "RunLock\n"), stderr
        assert (lock_dir / "run.lock").stat().st_uid == 65534
    finally:
        shutil.rmtree(lock_dir)


def no_file_may_grow() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # so a write fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_a_holder_record_that_cannot_be_written_still_leaves_the_lock_held(sandbox):
    path = run_lock_path(sandbox)
    path.parent.mkdir(parents=True, exist_ok=True)
    finished = {"pid": finished_pid(), "hostname": socket.gethostname(), "job": "backup"}
    path.write_text(json.dumps(finished))
    child = acquire_in_child(path, preexec_fn=no_file_may_grow)
    try:
        assert child.stdout.readline() == "RunLock\n", child.stderr.read()
        # The record of the finished run is gone, so LOCK_FORCE_INACTIVE cannot take the lock.
        assert path.read_text() == ""
        skipped = sandbox.helper("backup", LOCK_FORCE_INACTIVE="ON")
        assert "backup skipped: previous run still active" in skipped.stdout, output(skipped)
        assert "held by" not in skipped.stdout
    finally:
        child.communicate("", timeout=30)
    assert child.returncode == 0
