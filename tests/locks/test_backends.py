"""The same lock rules on repositories that only restic can reach (an SFTP server and an S3
bucket on loopback, and restic's rclone backend): there the helper cannot read or delete lock
files itself, so it watches `restic list locks` and clears stale locks with plain
`restic unlock`, guarded by its verdict. On SFTP and rclone, restic's transport (ssh, rclone)
must survive a stop signal, or restic cannot remove its lock.
"""

import json
import signal
import time

import pytest

from tests.core.conftest import slow_source
from tests.locks.conftest import first_start_after, output, wait_until

FORGET = {"RESTIC_FORGET_ARGS": "--keep-last 1"}
# The helper lists the locks of such a backend every 3 s, and a listing takes a moment.
HANDOFF_BOUND = 5.0


def restic_commands(shared, name: str) -> list[str]:
    return [arguments.split()[0] for _, arguments in shared.calls(name)]


@pytest.mark.slow
def test_every_worker_runs_clean_over_the_backend(remote_shared):
    shared = remote_shared
    for job in ("backup", "forget", "check", "prune"):
        completed = shared.helper("host-b", job, **FORGET)
        assert completed.returncode == 0, output(completed)
        assert shared.last_json(job)["status"] == "ok"
    assert shared.last_json("backup")["snapshot_id"]
    completed = shared.helper("host-b", "unlock", "--dry-run", "--json")
    assert (completed.returncode, json.loads(completed.stdout)) == (0, []), output(completed)
    assert shared.locks() == set()


@pytest.mark.slow
def test_forget_skips_on_another_hosts_lock_then_waits_and_hands_over(remote_shared):
    shared = remote_shared
    holder = shared.hold("host-a", "exclusive")
    completed = shared.helper("host-b", "forget", RESTIC_CALLS=shared.calls_file("skip"), **FORGET)
    assert completed.returncode == 0, output(completed)
    document = shared.last_json("forget")
    assert (document["status"], document["restic_exit_code"]) == ("skipped", 11)
    assert shared.locks() == {holder.lock_id}
    assert "unlock" not in restic_commands(shared, "skip")

    forget = shared.start_helper(
        "host-b", "forget", "--lock-wait", "2m", RESTIC_CALLS=shared.calls_file("wait"), **FORGET
    )
    wait_until(lambda: shared.calls("wait"), message="the first attempt")
    time.sleep(1.5)
    released_at = shared.release_and_time(holder)
    stdout, stderr = forget.communicate(timeout=120)
    assert forget.returncode == 0, stdout + stderr
    assert shared.last_json("forget")["status"] == "ok"
    handoff = first_start_after(shared, "wait", "forget", released_at)
    print(f"\n[{shared.backend}] handoff after release: {handoff:.2f}s")
    assert handoff < HANDOFF_BOUND
    assert "unlock" not in restic_commands(shared, "wait")


@pytest.mark.slow
def test_a_stop_signal_mid_backup_leaves_no_lock(remote_shared):
    shared = remote_shared
    backup = shared.start_helper("host-b", "backup", **slow_source(60))
    wait_until(shared.locks, timeout=30, message="restic to lock the repository")
    backup.send_signal(signal.SIGTERM)
    stdout, stderr = backup.communicate(timeout=30)
    assert backup.returncode == 130, stdout + stderr
    assert shared.last_json("backup")["status"] == "interrupted"
    assert shared.locks() == set()


@pytest.mark.slow
def test_a_killed_backup_of_this_host_is_judged_stale_and_unlock_removes_only_it(remote_shared):
    shared = remote_shared
    live = shared.hold("host-a")
    dead = shared.hold("host-b")
    dead.kill()
    completed = shared.helper("host-b", "unlock", "--dry-run", "--json")
    judged = {lock["id"]: lock for lock in json.loads(completed.stdout)}
    assert (judged[dead.lock_id]["verdict"], judged[live.lock_id]["verdict"]) == ("stale", "live")
    completed = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("unlock"))
    assert completed.returncode == 0, output(completed)
    assert shared.locks() == {live.lock_id}
    document = shared.last_json("unlock")
    assert (document["locks_before"], document["locks_after"]) == (2, 1)
    assert restic_commands(shared, "unlock").count("unlock") == 1  # plain restic unlock, no --remove-all
    assert live.process.poll() is None
