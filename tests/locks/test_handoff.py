"""Three hosts share one repository (a local path, and a REST server): host A holds the
exclusive lock (`restic key passwd`, which holds it until its stdin closes, or a real
`restic check`), host B's forget and host C's backup wait for it.

Without a lock wait, B's forget meets exit 11 and skips without unlocking anything. With
`--lock-wait 2m`, B and C start their next attempt within HANDOFF_BOUND seconds of A's
release: the helper watches the lock listing once a second instead of sleeping through
restic's 5/10/20/60 s back-off. Handoff = A's lock file gone -> the waiter's restic starts,
both measured on this machine's clock (the waiter's start by a wrapper around restic).
"""

import os
import statistics
import subprocess
import time

import pytest

from tests.locks.conftest import first_start_after, output, wait_until
from tests.support.hosts import as_host
from tests.support.servers import rest_server

HANDOFF_BOUND = 3.0
HOLD_SECONDS = (1.2, 2.7)
FORGET = {"RESTIC_FORGET_ARGS": "--keep-last 1"}


@pytest.mark.slow
def test_forget_skips_without_a_wait_and_never_unlocks(any_shared):
    shared = any_shared
    shared.hold("host-a", "exclusive")
    completed = shared.helper("host-b", "forget", RESTIC_CALLS=shared.calls_file("b"), **FORGET)
    assert completed.returncode == 0, output(completed)
    document = shared.last_json("forget")
    assert (document["status"], document["exit_code"], document["restic_exit_code"]) == ("skipped", 0, 11)
    assert len(shared.locks()) == 1
    calls = [arguments.split()[0] for _, arguments in shared.calls("b")]
    assert calls.count("forget") == 1 and "unlock" not in calls


@pytest.mark.slow
def test_waiting_hosts_proceed_within_the_bound_after_the_holder_releases(any_shared):
    shared = any_shared
    handoffs = []
    for trial, hold_seconds in enumerate(HOLD_SECONDS):
        holder = shared.hold("host-a", "exclusive")
        forget = shared.start_helper(
            "host-b",
            "forget",
            "--lock-wait",
            "2m",
            RESTIC_CALLS=shared.calls_file(f"b{trial}"),
            **FORGET,
            **shared.own_dirs("host-b"),
        )
        backup = shared.start_helper(
            "host-c",
            "backup",
            "--lock-wait",
            "2m",
            RESTIC_CALLS=shared.calls_file(f"c{trial}"),
            **shared.own_dirs("host-c"),
        )
        wait_until(
            lambda t=trial: shared.calls(f"b{t}") and shared.calls(f"c{t}"), message="both first attempts"
        )
        time.sleep(hold_seconds)
        released_at = shared.release_and_time(holder)
        for process in (forget, backup):
            stdout, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stdout + stderr
        for hostname, job in (("host-b", "forget"), ("host-c", "backup")):
            document = shared.last_json(job, hostname)
            assert document["status"] == "ok", document
            assert document["lock_wait_seconds"] >= hold_seconds * 0.5
        handoffs.append(first_start_after(shared, f"b{trial}", "forget", released_at))
        handoffs.append(first_start_after(shared, f"c{trial}", "backup", released_at))
    print(
        f"\n[{shared.backend}] handoff after release: median {statistics.median(handoffs):.2f}s, "
        f"max {max(handoffs):.2f}s over {len(handoffs)} waits"
    )
    assert max(handoffs) < HANDOFF_BOUND, handoffs


@pytest.mark.slow
def test_a_real_check_on_host_a_hands_over_to_host_bs_waiting_forget(shared):
    # Host A runs `restic check --read-data` (exclusive) against a REST server throttled to
    # 1 MB/s, so reading 8 MB holds the lock for several seconds.
    (shared.sandbox.source / "big.bin").write_bytes(os.urandom(8_000_000))
    shared.sandbox.restic("backup", str(shared.sandbox.source))
    with rest_server(shared.repo_dir.parent, "--bwlimit", "1M") as server:
        shared.sandbox.env["RESTIC_REPOSITORY"] = server.repository(shared.repo_dir.name)
        checker = subprocess.Popen(
            as_host("host-a", [shared.restic_bin, "check", "--read-data"]),
            env=shared.env(RESTIC_CALLS=""),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        (lock_id,) = wait_until(shared.locks, message="host A's check lock")
        forget = shared.start_helper(
            "host-b", "forget", "--lock-wait", "2m", RESTIC_CALLS=shared.calls_file("b"), **FORGET
        )
        wait_until(lambda: lock_id not in shared.locks(), timeout=60, message="the check", step=0.005)
        released_at = time.time()
        assert checker.wait(timeout=30) == 0
        stdout, stderr = forget.communicate(timeout=60)
    assert forget.returncode == 0, stdout + stderr
    document = shared.last_json("forget")
    assert document["status"] == "ok" and document["lock_wait_seconds"] > 0.5
    handoff = first_start_after(shared, "b", "forget", released_at)
    print(f"\n[rest, throttled] handoff after a real check: {handoff:.2f}s")
    assert handoff < HANDOFF_BOUND
