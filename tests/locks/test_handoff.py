"""Three hosts share one repository (a local path, and a REST server): host A holds the
exclusive lock (`restic key passwd`, which holds it until its stdin closes, or a real
`restic check`), host B's forget and host C's backup wait for it.

Without a lock wait, B's forget meets exit 11 and skips without unlocking anything. With
`--lock-wait 2m`, B and C proceed within HANDOFF_BOUND seconds of the release of the lock
that held them up: the helper watches the lock listing once a second instead of sleeping
through restic's 5/10/20/60 s back-off. Handoff = the blocking lock file gone -> the start of
the waiter's restic call that got through (its last call, which then succeeded), both on this
machine's clock. B's forget and C's backup also exclude each other, so the one that gets in
second is measured from the end of the other's call (the line it logs right after it).
"""

import os
import statistics
import subprocess
import time

import pytest

from helper.locks.waiting import BACKOFF_AFTER_SECONDS, POLL_RESTIC_SECONDS, poll_interval
from tests.locks.conftest import TimedOutput, output, wait_until
from tests.support.hosts import as_host
from tests.support.servers import rest_server

HANDOFF_BOUND = 5.0
HOLD_SECONDS = (1.2, 2.7)
FORGET = {"RESTIC_FORGET_ARGS": "--keep-last 1"}
# What each waiter logs right after its restic call succeeded.
WAITING = "⏳ repository locked"
PROCEEDED = {"forget": "🧹 forget kept", "backup": "✅ snapshot"}


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


def handoffs_of_one_release(
    released_at: float, started: dict[str, float], done: dict[str, float]
) -> dict[str, float]:
    """Given when A's lock went, and when each waiter's successful call started and ended,
    return each waiter's handoff, the second one measured from the end of the first one's call."""
    first, second = sorted(started, key=started.get)
    return {
        first: started[first] - released_at,
        second: started[second] - max(released_at, done[first]),
    }


@pytest.mark.slow
def test_waiting_hosts_proceed_within_the_bound_after_the_holder_releases(any_shared):
    shared = any_shared
    handoffs: dict[str, list[float]] = {"forget": [], "backup": []}
    for trial, hold_seconds in enumerate(HOLD_SECONDS):
        holder = shared.hold("host-a", "exclusive")
        waiters = {
            "forget": shared.start_helper(
                "host-b",
                "forget",
                "--lock-wait",
                "2m",
                RESTIC_CALLS=shared.calls_file(f"b{trial}"),
                **FORGET,
                **shared.own_dirs("host-b"),
            ),
            "backup": shared.start_helper(
                "host-c",
                "backup",
                "--lock-wait",
                "2m",
                RESTIC_CALLS=shared.calls_file(f"c{trial}"),
                **shared.own_dirs("host-c"),
            ),
        }
        outputs = {job: TimedOutput(process) for job, process in waiters.items()}
        # Both have met A's lock (on a busy machine a first attempt can take a second to get there).
        wait_until(lambda o=outputs: all(t.has(WAITING) for t in o.values()), message="both waiting")
        time.sleep(hold_seconds)
        released_at = shared.release_and_time(holder)
        for job, timed in outputs.items():
            text = timed.finish()
            assert waiters[job].returncode == 0, text
        for hostname, job in (("host-b", "forget"), ("host-c", "backup")):
            document = shared.last_json(job, hostname)
            assert document["status"] == "ok", document
            assert document["lock_wait_seconds"] >= hold_seconds * 0.5, (job, document)
        done = {job: timed.moment_of(PROCEEDED[job]) for job, timed in outputs.items()}
        started = {
            job: max(at for at, arguments in shared.calls(f"{letter}{trial}") if arguments.startswith(job))
            for job, letter in (("forget", "b"), ("backup", "c"))
        }
        for job, handoff in handoffs_of_one_release(released_at, started, done).items():
            handoffs[job].append(handoff)
    every = [handoff for measured in handoffs.values() for handoff in measured]
    print(
        f"\n[{shared.backend}] from release to the start of the waiter's call that got through: median "
        f"{statistics.median(every):.2f}s, max {max(every):.2f}s over {len(every)} waits "
        + " ".join(f"{job}={', '.join(f'{h:.2f}' for h in measured)}" for job, measured in handoffs.items())
    )
    assert max(every) < HANDOFF_BOUND, handoffs


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
        timed = TimedOutput(forget)
        wait_until(lambda: lock_id not in shared.locks(), timeout=60, message="the check", step=0.005)
        released_at = time.time()
        assert checker.wait(timeout=30) == 0
        text = timed.finish(timeout=60)
    assert forget.returncode == 0, text
    document = shared.last_json("forget")
    assert document["status"] == "ok" and document["lock_wait_seconds"] > 0.5
    handoff = timed.moment_of(PROCEEDED["forget"]) - released_at
    print(f"\n[rest, throttled] from a real check's release to the waiting forget done: {handoff:.2f}s")
    assert handoff < HANDOFF_BOUND


def test_polling_is_fast_for_the_first_minute_then_backs_off():
    assert poll_interval(POLL_RESTIC_SECONDS, 0) == POLL_RESTIC_SECONDS
    assert poll_interval(POLL_RESTIC_SECONDS, BACKOFF_AFTER_SECONDS - 1) == POLL_RESTIC_SECONDS
    assert POLL_RESTIC_SECONDS < poll_interval(POLL_RESTIC_SECONDS, 2 * BACKOFF_AFTER_SECONDS) < 15
    assert poll_interval(POLL_RESTIC_SECONDS, 3600) == 15
    waited = listings = 0
    while waited < 3600:
        waited += poll_interval(POLL_RESTIC_SECONDS, waited)
        listings += 1
    # Every 3 s for an hour would be 1,200 restic runs.
    assert listings < 300, listings
