"""The scheduler as a real process against a real repository: ticks run workers, their output
is streamed with prefixes, overlaps are skipped, orphans are reaped, signals drain cleanly."""

import itertools
import json
import re
import signal
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.scheduler.conftest import QUICK, Running, parent_of, process_state, repository_locks, wait_until

STAMPED = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d \[(?P<source>[a-z]+)\] ")
# restic reads the stdout of a command that runs until it is stopped.
SLOW_BACKUP = {"BACKUP_ROOT_DIR": "", "RESTIC_JOB_ARGS": '--stdin-from-command -- sh -c "sleep 30; echo x"'}


def snapshots(sandbox) -> list[dict]:
    return json.loads(sandbox.restic("snapshots", "--json").stdout)


def heartbeat(sandbox) -> dict:
    return json.loads((sandbox.log_dir / "scheduler.json").read_text())


def stamp_of(line: str) -> float:
    return datetime.fromisoformat(line[:29]).timestamp()


# A hook that ignores the stop the worker passes on to it (SIGTERM) and the SIGINT; its sleep
# inherits that. The worker waits for its hook, so it outlives any grace period.
STUBBORN_HOOK = "trap '' TERM INT\necho $$ > {pid_file}\nsleep 60\n"


def test_second_resolution_schedule_runs_backups_with_prefixed_output(sandbox, start_entry):
    scheduler = start_entry(BACKUP_CRON="*/2 * * * * *")
    scheduler.wait_for(r"\[backup\] ✅ backup finished: ok", timeout=30, count=2)
    exit_code, _ = scheduler.stop()

    assert exit_code == 0, scheduler.output
    assert len(snapshots(sandbox)) >= 2
    assert sandbox.last_json("backup")["status"] in ("ok", "interrupted")
    for line in scheduler.lines:
        assert STAMPED.match(line), line
    ticks = scheduler.matching(r"\[scheduler\] ⏰ backup tick .* → pid \d+")
    # Every tick is on an even second, as `*/2` in the seconds field says.
    assert all(int(re.search(r"tick \S+ (\d\d):(\d\d):(\d\d)", tick)[3]) % 2 == 0 for tick in ticks)
    document = heartbeat(sandbox)
    assert document["state"] == "stopped"
    assert document["jobs"]["backup"]["ticks"] == len(ticks) >= 2
    assert document["jobs"]["backup"]["expression"] == "*/2 * * * * *"


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_during_a_backup_drains_it_leaves_no_lock_and_records_interrupted(
    sandbox, start_entry, stop_signal
):
    scheduler = start_entry(BACKUP_CRON="* * * * * *", STOP_GRACE_SECONDS="10", **SLOW_BACKUP)
    scheduler.wait_for(r"\[backup\] ▶️ backup on .* started")
    wait_until(lambda: repository_locks(sandbox.env), 30, "restic to lock the repository")

    exit_code, elapsed = scheduler.stop(stop_signal)

    assert exit_code == 0, scheduler.output
    assert elapsed < 10, f"{elapsed:.1f}s"
    assert repository_locks(sandbox.env) == []
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("interrupted", 130)
    # No lock left means restic took the SIGINT and cleaned up; a SIGKILL would leave it behind.
    assert scheduler.matching(r"\[backup\] ❌ backup finished: interrupted \(exit 130\)"), scheduler.output
    stop_line = scheduler.wait_for(rf"🛑 {stop_signal.name} received: no new ticks")[0]
    assert not [
        line for line in scheduler.matching(r"⏰ backup tick") if stamp_of(line) > stamp_of(stop_line)
    ]
    assert heartbeat(sandbox)["state"] == "stopped"


@pytest.mark.slow
def test_a_worker_that_outlives_the_grace_period_is_killed_with_everything_below_it(sandbox, start_entry):
    hook_pid = sandbox.root / "hook.pid"
    sandbox.hook("pre-backup.sh", STUBBORN_HOOK.format(pid_file=hook_pid))
    scheduler = start_entry(BACKUP_CRON="* * * * * *", STOP_GRACE_SECONDS="2")
    wait_until(lambda: hook_pid.exists() and hook_pid.read_text().strip(), 30, "the pre-backup hook")
    pid = int(hook_pid.read_text())

    exit_code, elapsed = scheduler.stop()

    assert exit_code == 1, scheduler.output
    assert 2 <= elapsed < 6, f"{elapsed:.1f}s"
    assert scheduler.matching(r"backup worker \(pid \d+\) still running: SIGKILL")
    wait_until(lambda: process_state(pid) is None, 5, "the hook to be gone")


@pytest.mark.slow
def test_a_tick_whose_previous_run_still_waits_or_runs_is_skipped_counted_never_queued(sandbox, start_entry):
    three_seconds = {"BACKUP_ROOT_DIR": "", "RESTIC_JOB_ARGS": "--stdin-from-command -- sleep 3"}
    # With a lock wait, every tick's worker would wait for the previous one: a pile of waiting
    # processes, each running a stale tick later.
    scheduler = start_entry(BACKUP_CRON="* * * * * *", SCHEDULE_LOCK_WAIT="10m", **three_seconds)
    scheduler.wait_for(r"\[backup\] .* backup finished", timeout=40, count=2)
    exit_code, _ = scheduler.stop()
    assert exit_code == 0, scheduler.output

    skips = scheduler.matching(r"\[scheduler\] ⏭ backup skipped: previous run still active \(pid \d+")
    assert len(skips) >= 2, scheduler.output
    prom = (sandbox.metrics_dir / "restic_backup.prom").read_text()
    counted = re.search(r"^restic_backup_skipped_runs_total\{[^}]*\} (\S+)$", prom, re.MULTILINE)
    # A worker that reports at the moment a skip is counted may write over that count.
    assert len(skips) - 1 <= float(counted[1]) <= len(skips)
    assert not scheduler.matching("waited .* for the run lock")
    # Runs never overlap, and a run that ends does not set off the ticks it missed.
    events = [
        line for line in scheduler.lines if re.search(r"\[backup\] (▶️ backup on|.* backup finished)", line)
    ]
    kinds = ["start" if "▶️" in line else "end" for line in events]
    assert kinds[: len(kinds) // 2 * 2] == ["start", "end"] * (len(kinds) // 2)
    starts = [stamp_of(line) for line in events if "▶️" in line]
    assert all(later - earlier >= 2.5 for earlier, later in itertools.pairwise(starts))
    assert heartbeat(sandbox)["jobs"]["backup"]["ticks"] == len(scheduler.matching(r"⏰ backup tick"))


def test_a_second_stop_signal_during_the_drain_stops_waiting(sandbox, start_entry):
    hook_pid = sandbox.root / "hook.pid"
    sandbox.hook("pre-backup.sh", STUBBORN_HOOK.format(pid_file=hook_pid))
    scheduler = start_entry(BACKUP_CRON="* * * * * *", STOP_GRACE_SECONDS="40")
    wait_until(lambda: hook_pid.exists() and hook_pid.read_text().strip(), 30, "the pre-backup hook")
    scheduler.process.send_signal(signal.SIGTERM)
    scheduler.wait_for(r"sending SIGINT to 1 running worker\(s\); waiting up to 40s")

    exit_code, elapsed = scheduler.stop(signal.SIGTERM)

    assert exit_code == 1, scheduler.output
    assert elapsed < 5, f"{elapsed:.1f}s"
    assert scheduler.matching("second stop signal: not waiting any longer")
    assert scheduler.matching(r"backup worker \(pid \d+\) still running: SIGKILL")
    wait_until(lambda: process_state(int(hook_pid.read_text())) is None, 5, "the hook to be gone")


def faulty_scheduler(sandbox, patch: str) -> Running:
    """A real scheduler (`entry`) with one function patched by `patch`: the one seam these
    tests need to make a bug happen, backing up every second from a slow source."""
    run_entry = "sys.argv = ['helper', 'entry']\nrunpy.run_module('helper', run_name='__main__')\n"
    script = f"import runpy, sys\n{patch}\n{run_entry}"
    env = {**sandbox.env, **QUICK, "BACKUP_CRON": "* * * * * *", **SLOW_BACKUP}
    return Running([sys.executable, "-c", script], env)


# A tick that raises once a worker has run for 2 s.
FAULTY_TICK = """
from helper.scheduler import ticks

real_tick = ticks.tick

def tick(loop):
    if any((loop.clock.now() - child.started_at).total_seconds() > 2 for child in loop.children.values()):
        raise RuntimeError("a bug in a tick")
    real_tick(loop)

ticks.tick = tick
"""


def test_an_internal_error_is_one_line_drains_the_workers_and_exits_1(sandbox):
    scheduler = faulty_scheduler(sandbox, FAULTY_TICK)
    try:
        assert scheduler.finish(60) == 1, scheduler.output
    finally:
        if scheduler.process.poll() is None:
            scheduler.kill()
    (error,) = scheduler.matching("internal error")
    traceback_file = sandbox.log_dir / "scheduler-traceback.log"
    assert error.endswith(
        f"❌ internal error: RuntimeError('a bug in a tick') (traceback in {traceback_file}); stopping"
    )
    assert "Traceback" not in scheduler.output
    assert "a bug in a tick" in traceback_file.read_text()
    # The worker was stopped as on SIGTERM: restic got its SIGINT and removed its lock.
    assert scheduler.matching(r"sending SIGINT to 1 running worker")
    assert sandbox.last_json("backup")["status"] == "interrupted"
    assert repository_locks(sandbox.env) == []
    assert heartbeat(sandbox)["state"] == "stopped"
    assert scheduler.output.endswith("stopped (exit 1)")


# A failed drain: collecting the workers' output breaks once the stop began.
FAULTY_DRAIN = """
from helper.scheduler import loop as loop_module

real_collect = loop_module.collect

def collect(loop, ready):
    if loop.state == "stopping":
        raise RuntimeError("a bug in the drain")
    real_collect(loop, ready)

loop_module.collect = collect
"""


@pytest.mark.slow
def test_a_failed_drain_still_gives_restic_its_grace_to_remove_its_lock(sandbox):
    scheduler = faulty_scheduler(sandbox, FAULTY_DRAIN)
    try:
        scheduler.wait_for(r"\[backup\] ▶️ backup on .* started")
        wait_until(lambda: repository_locks(sandbox.env), 30, "restic to lock the repository")
        exit_code, elapsed = scheduler.stop()
    finally:
        if scheduler.process.poll() is None:
            scheduler.kill()

    assert exit_code == 1, scheduler.output
    assert scheduler.matching(r"internal error: RuntimeError\('a bug in the drain'\)")
    # The worker ended within the grace (20 s), so nothing was killed: restic removed its lock.
    assert elapsed < 15, f"{elapsed:.1f}s"
    assert not scheduler.matching("SIGKILL"), scheduler.output
    assert repository_locks(sandbox.env) == []
    assert (sandbox.last_json("backup")["status"], sandbox.last_json("backup")["exit_code"]) == (
        "interrupted",
        130,
    )
    # The output held in the pipe during the plain wait is still passed on.
    assert scheduler.matching(r"\[backup\] ❌ backup finished: interrupted \(exit 130\)"), scheduler.output
    assert heartbeat(sandbox)["state"] == "stopped"
    assert scheduler.output.endswith("stopped (exit 1)")


# A reporter failure the scheduler did not foresee: counting a skip raises.
FAULTY_SKIP_COUNT = """
from helper.report import metrics

def count_skip(job, settings):
    raise ImportError("cannot import name 'Counter' from partially initialized module")

metrics.count_skip = count_skip
"""


def test_a_failing_skip_count_is_a_warning_and_scheduling_goes_on(sandbox):
    scheduler = faulty_scheduler(sandbox, FAULTY_SKIP_COUNT)
    try:
        scheduler.wait_for(r"⚠️ metrics reporter failed: cannot import name 'Counter'", count=2)
        exit_code, _ = scheduler.stop()
    finally:
        if scheduler.process.poll() is None:
            scheduler.kill()

    assert exit_code == 0, scheduler.output
    assert len(scheduler.matching(r"⏭ backup skipped: previous run still active")) >= 2
    assert not scheduler.matching("internal error"), scheduler.output
    assert repository_locks(sandbox.env) == []


def test_an_orphaned_grandchild_is_adopted_and_reaped(sandbox, start_entry):
    orphan_pid = sandbox.root / "orphan.pid"
    # The hook exits at once; its background sleep is orphaned and re-parented to the scheduler.
    sandbox.hook(
        "pre-backup.sh",
        f"sleep 1 >/dev/null 2>&1 &\necho $! > {orphan_pid}.tmp\nmv {orphan_pid}.tmp {orphan_pid}\n",
    )
    scheduler = start_entry(BACKUP_CRON="*/2 * * * * *")
    wait_until(orphan_pid.exists, 40, "the hook's background process")
    pid = int(orphan_pid.read_text())
    wait_until(lambda: parent_of(pid) in (scheduler.pid, None), 5, "the orphan to be re-parented")
    adopted = parent_of(pid) == scheduler.pid

    wait_until(lambda: process_state(pid) is None, 5, f"pid {pid} to be reaped (state {process_state(pid)})")

    assert adopted, "the orphan was not re-parented to the scheduler"
    scheduler.wait_for(r"\[backup\] ✅ backup finished")
    assert scheduler.stop()[0] == 0
    assert heartbeat(sandbox)["orphans_reaped"] >= 1


def test_sighup_reloads_the_schedules_from_env_file(sandbox, start_entry):
    env_file = sandbox.root / "schedules.env"
    env_file.write_text("BACKUP_CRON=\n")
    scheduler = start_entry(ENV_FILE=str(env_file), BACKUP_CRON="*/2 * * * * *")
    scheduler.wait_for(r"scheduler ready: 0 job\(s\)")
    env_file.write_text("BACKUP_CRON=*/2 * * * * *\nCHECK_CRON=61 * * * *\n")
    scheduler.process.send_signal(signal.SIGHUP)
    scheduler.wait_for(r"❌ reload rejected: CHECK_CRON: not a valid cron expression")
    scheduler.wait_for(r"keeping the current schedules")

    env_file.write_text("BACKUP_CRON='*/2 * * * * *'\n")
    scheduler.process.send_signal(signal.SIGHUP)
    scheduler.wait_for(r"SIGHUP: reloaded the schedules from ")
    scheduler.wait_for(r"\[backup\] ✅ backup finished: ok", timeout=30)
    assert scheduler.stop()[0] == 0
    assert heartbeat(sandbox)["jobs"]["backup"]["ticks"] >= 1


def test_sighup_without_env_file_is_ignored(start_entry):
    scheduler = start_entry(BACKUP_CRON="0 0 1 1 *")
    scheduler.wait_for("scheduler ready")
    scheduler.process.send_signal(signal.SIGHUP)
    scheduler.wait_for("SIGHUP ignored: ENV_FILE is not set")
    assert scheduler.process.poll() is None
    assert scheduler.stop()[0] == 0


def test_an_invalid_expression_stops_start_up_naming_the_variable(sandbox, start_entry):
    scheduler = start_entry(BACKUP_CRON="*/5 * * * * *", PRUNE_CRON="0 25 * * *", TZ="Mars/Olympus")
    assert scheduler.finish(30) == 2
    assert scheduler.matching(
        r"^❌ PRUNE_CRON: not a valid cron expression: '0 25 \* \* \*' \(the hour field"
    )
    assert scheduler.matching(r"^❌ TZ: unknown time zone")
    assert not Path(sandbox.log_dir / "scheduler.json").exists()


def test_the_scheduler_waits_without_waking_up(sandbox, start_entry):
    scheduler = start_entry(
        BACKUP_CRON="0 0 1 1 *",
        CHECK_CRON="@yearly",
        FORGET_CRON="0 0 29 2 *",
        RESTIC_FORGET_ARGS="--keep-last 3",
    )
    scheduler.wait_for("scheduler ready")
    time.sleep(0.5)
    status = Path(f"/proc/{scheduler.pid}/status").read_text()
    before = int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", status)[1])
    time.sleep(2)
    status = Path(f"/proc/{scheduler.pid}/status").read_text()
    after = int(re.search(r"voluntary_ctxt_switches:\s+(\d+)", status)[1])
    assert after == before
    assert scheduler.stop()[0] == 0
