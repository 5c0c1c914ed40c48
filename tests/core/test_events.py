"""$LOG_DIR/events.jsonl: one line per thing that happened, read as `jq` would read it."""

import fcntl
import json
import signal
import subprocess
import sys

from tests.core.conftest import output
from tests.support.receivers import http_receiver


def events(sandbox) -> list[dict]:
    path = sandbox.log_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def kinds(sandbox, job: str) -> list[str]:
    return [event["event"] for event in events(sandbox) if event["job"] == job]


def test_a_run_starts_and_finishes_and_a_refused_one_says_why(sandbox):
    assert sandbox.helper("backup").returncode == 0
    assert sandbox.helper("forget", RESTIC_FORGET_ARGS="").returncode == 2
    assert kinds(sandbox, "backup") == ["started", "finished"]
    assert kinds(sandbox, "forget") == ["started", "config_error", "finished"]
    finished = [event for event in events(sandbox) if event["event"] == "finished"]
    assert [(event["status"], event["exit_code"]) for event in finished] == [("ok", 0), ("failed", 2)]
    # The backup's snapshot is named in the stream; a run that saved none names nothing.
    assert finished[0]["snapshot_id"] == sandbox.last_json("backup")["snapshot_id"]
    assert "snapshot_id" not in finished[1]
    assert all(event["host"] and event["pid"] and event["at"] for event in events(sandbox))


def test_a_run_killed_while_a_slow_webhook_delivers_it_is_still_in_the_stream(sandbox):
    # The webhook holds the run inside its report; a SIGKILL there (the end of a stop's grace)
    # must not leave a run whose `started` has no `finished`, while its last-<job>.json says
    # ok, so that the next run has nothing to call killed either.
    with http_receiver(delay_seconds=30) as receiver:
        run = subprocess.Popen(
            [sys.executable, "-m", "helper", "backup"], env={**sandbox.env, "WEBHOOK_URL": receiver.url()},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            assert receiver.wait_for(1, timeout=60), "the run never reached its webhook"
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=30)
        finally:
            run.kill()
    finished = [event for event in events(sandbox) if event["event"] == "finished"]
    assert [(event["pid"], event["status"]) for event in finished] == [(run.pid, "ok")]
    assert finished[0]["snapshot_id"] == sandbox.last_json("backup")["snapshot_id"]


def test_skips_by_a_busy_run_lock_and_by_the_pre_hook_are_recorded(sandbox):
    with open(sandbox.root / "lock" / "run.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sandbox.helper("backup").returncode == 0
    sandbox.hook("pre-check.sh", "exit 75\n")
    completed = sandbox.helper("check")
    assert completed.returncode == 0, output(completed)
    assert kinds(sandbox, "backup") == ["skipped"]
    assert kinds(sandbox, "check") == ["started", "skipped", "finished"]
    assert [event["reason"] for event in events(sandbox) if event["event"] == "skipped"] == [
        "previous run still active",
        "pre-check hook asked to skip this run (exit 75)",
    ]


def test_the_log_is_bounded(sandbox, monkeypatch):
    from helper import events as events_module

    path = sandbox.log_dir / "events.jsonl"
    path.write_text("x" * events_module.EVENTS_MAX_BYTES)
    assert sandbox.helper("backup").returncode == 0
    assert (sandbox.log_dir / "events.jsonl.1").stat().st_size == events_module.EVENTS_MAX_BYTES
    assert kinds(sandbox, "backup") == ["started", "finished"]
