"""The start-up probe against real repositories: another host's exclusive lock does not stop
it, a missing repository is created, and nothing but restic's exit 10 ever leads to init."""

import json
import socket
import time

import pytest

from tests.scheduler.conftest import exclusive_lock_of_other_host

PROBE = {"RESTIC_CHECK_REPOSITORY_STATUS": "ON", "BACKUP_CRON": "0 0 1 1 *"}
# Fails at once, before any network traffic, with an exit code that is neither 10 nor 12.
NO_CREDENTIALS = "s3:http://127.0.0.1:9/bucket"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_another_hosts_exclusive_lock_does_not_stop_the_scheduler(sandbox, start_entry):
    with exclusive_lock_of_other_host(sandbox.env):
        # Without --no-lock, `cat config` is refused while that lock is held.
        assert sandbox.restic("cat", "config", check=False).returncode == 11
        scheduler = start_entry(**PROBE)
        scheduler.wait_for(r"\[probe\] ✅ repository .* is reachable", timeout=30)
        scheduler.wait_for("scheduler ready")
        assert scheduler.stop()[0] == 0
    assert "restic init" not in scheduler.output


def test_a_missing_repository_is_initialised_then_scheduled(sandbox, start_entry):
    repository = sandbox.root / "new-repository"
    scheduler = start_entry(**PROBE, RESTIC_REPOSITORY=str(repository))
    scheduler.wait_for("scheduler ready", timeout=60)
    assert scheduler.matching(
        r"\[probe\] repository .* does not exist \(restic exit 10\): running restic init"
    )
    assert (repository / "config").exists()
    assert scheduler.stop()[0] == 0
    lines = (sandbox.log_dir / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["scheduler_started", "scheduler_stopping"]


def test_an_init_lost_to_another_host_starting_at_the_same_time_goes_on(sandbox, start_entry):
    # Hosts that share a repository start together and all see it missing. This restic lets
    # "another host" (a real restic init) win the race just before our own init runs.
    repository = sandbox.root / "shared-repository"
    racing = sandbox.root / "racing-restic"
    racing.write_text(
        f'#!/bin/sh\nif [ "$1" = init ]; then "{sandbox.env["RESTIC_BIN"]}" init >/dev/null 2>&1; fi\n'
        f'exec "{sandbox.env["RESTIC_BIN"]}" "$@"\n'
    )
    racing.chmod(0o755)
    scheduler = start_entry(**PROBE, RESTIC_REPOSITORY=str(repository), RESTIC_BIN=str(racing))
    scheduler.wait_for("scheduler ready", timeout=60)
    assert scheduler.matching(r"\[probe\] ✅ repository .* was created meanwhile, by another host")
    assert scheduler.stop()[0] == 0


def test_a_wrong_password_exits_2_with_a_clear_message(sandbox, start_entry):
    scheduler = start_entry(**PROBE, RESTIC_PASSWORD="not-the-password")
    assert scheduler.finish(30) == 2
    assert scheduler.matching(r"\[probe\] ❌ RESTIC_PASSWORD: wrong password or no key found")
    assert "not-the-password" not in scheduler.output
    assert json.loads((sandbox.log_dir / "scheduler.json").read_text())["state"] == "stopped"


def test_a_failed_init_exits_1_and_removes_no_locks(sandbox, start_entry):
    # restic says exit 10 for a path under /proc, and cannot create anything there.
    scheduler = start_entry(**PROBE, RESTIC_REPOSITORY="/proc/restic-helper-no-repository")
    assert scheduler.finish(60) == 1
    assert scheduler.matching(r"\[probe\] .* running restic init")
    assert scheduler.matching(r"\[probe\] ❌ restic init failed \(exit 1\)")
    assert "unlock" not in scheduler.output
    assert json.loads((sandbox.log_dir / "scheduler.json").read_text())["state"] == "stopped"


def test_a_restic_bin_that_cannot_start_is_a_configuration_error_at_once(sandbox, start_entry):
    started = time.monotonic()
    scheduler = start_entry(**PROBE, RESTIC_BIN=str(sandbox.root / "no-such-restic"), PROBE_TIMEOUT="5m")
    assert scheduler.finish(30) == 2
    assert time.monotonic() - started < 10
    assert scheduler.matching(r"\[probe\] ❌ RESTIC_BIN: cannot start .*no-such-restic: No such file")
    assert not scheduler.matching("probe failed")


def test_other_failures_are_retried_with_backoff_then_exit_1_without_init(sandbox, start_entry):
    started = time.monotonic()
    scheduler = start_entry(**PROBE, RESTIC_REPOSITORY=NO_CREDENTIALS, PROBE_TIMEOUT="4s")
    assert scheduler.finish(30) == 1
    elapsed = time.monotonic() - started
    retries = [line.split("probe failed ")[1] for line in scheduler.matching("probe failed")]
    assert retries[:2] == ["(exit 1); retrying in 1.0s", "(exit 1); retrying in 2.0s"]
    assert scheduler.matching(r"still unreachable after PROBE_TIMEOUT \(4s; last exit 1\); giving up")
    assert "restic init" not in scheduler.output
    assert 4 <= elapsed < 10


@pytest.mark.slow
def test_a_backend_that_restic_keeps_retrying_is_cut_off_at_probe_timeout(sandbox, start_entry):
    started = time.monotonic()
    scheduler = start_entry(
        **PROBE, RESTIC_REPOSITORY=f"rest:http://127.0.0.1:{closed_port()}/", PROBE_TIMEOUT="3s"
    )
    assert scheduler.finish(60) == 1
    assert time.monotonic() - started < 10
    assert scheduler.matching(r"probe failed \(exit 124\)|last exit 124")
    assert "restic init" not in scheduler.output


def test_while_probing_the_scheduler_is_unhealthy_and_a_stop_signal_exits_0_at_once(sandbox, start_entry):
    scheduler = start_entry(**PROBE, RESTIC_REPOSITORY=NO_CREDENTIALS, PROBE_TIMEOUT="5m")
    scheduler.wait_for("probe failed", timeout=30)
    # Services that wait for "healthy" (compose's depends_on) count on the repository existing.
    health = sandbox.helper("healthcheck")
    assert (health.returncode, health.stdout) == (
        1,
        f"unhealthy: the scheduler (pid {scheduler.pid}) is still starting: probing the repository\n",
    )
    exit_code, elapsed = scheduler.stop()
    assert exit_code == 0
    assert elapsed < 2
    assert scheduler.matching(r"\[probe\] stopped during the start-up probe")


def test_the_probe_is_off_when_asked(sandbox, start_entry):
    scheduler = start_entry(
        RESTIC_CHECK_REPOSITORY_STATUS="OFF", RESTIC_REPOSITORY=str(sandbox.root / "absent")
    )
    scheduler.wait_for("RESTIC_CHECK_REPOSITORY_STATUS is OFF")
    scheduler.wait_for("scheduler ready")
    assert scheduler.stop()[0] == 0
    assert not (sandbox.root / "absent").exists()
    assert json.loads((sandbox.log_dir / "scheduler.json").read_text())["state"] == "stopped"
