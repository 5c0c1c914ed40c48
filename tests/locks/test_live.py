"""A live lock is never removed, whatever the settings: a running holder on another host, one
there that was paused short of restic's refreshability timeout, one whose host's clock is
behind, a SIGSTOPped one on this very host, and another user's restic that /proc hides."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.locks.conftest import log_text, output
from tests.locks.lockfiles import backdate, seen_since

ROOT = Path(__file__).resolve().parents[2]
# Every knob at its most eager: clear at any age, the shortest observation window allowed,
# retries every second, automatic unlock after failures, Docker evidence on.
EAGER = {
    "LOCK_FORCE_INACTIVE": "ON",
    "RESTIC_STALE_LOCK_AGE": "1s",
    "LOCK_OBSERVATION_WINDOW": "25m",
    "RESTIC_LOCK_RETRY_AFTER": "1s",
    "RESTIC_AUTO_UNLOCK": "ON",
    "LOCK_DOCKER_AWARE": "ON",
    "RESTIC_FORGET_ARGS": "--keep-last 1",
}
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
# Run as user nobody under a /proc mounted with hidepid=2: what the helper's /proc reading says.
HIDDEN_CHECK = """
import json, os, sys
from helper.locks.process import holder_facts
from helper.locks.verdict import LockRecord, judge_same_host
result = {}
for pid in map(int, sys.argv[1:]):
    facts = holder_facts(pid, {"restic"})
    verdict = judge_same_host(LockRecord("id", "host-b", pid), facts).verdict
    result[pid] = {"visible": os.path.exists(f"/proc/{pid}"), "state": facts.state, "verdict": verdict}
print(json.dumps(result))
"""


def relive(shared, holder, minutes: float) -> str:
    """Replace a live holder's lock by the same lock written `minutes` ago; return its id."""
    return backdate(shared.repo_dir, PASSWORD, holder.lock_id, shared.cat(holder.lock_id), minutes * 60)


@pytest.mark.slow
def test_live_locks_survive_forget_unlock_and_auto_unlock_with_every_setting_eager(shared):
    running = shared.hold("host-a")
    paused_elsewhere = shared.hold("host-c")
    paused_elsewhere.stop()
    # Paused 24 minutes ago, just after a refresh, and watched by this helper ever since: on
    # resuming, restic refreshes without checking that its lock still exists.
    paused_id = relive(shared, paused_elsewhere, 24)
    seen_since(shared.sandbox.env, paused_id, 24 * 60)
    # host-d's clock is 20 minutes behind: its fresh lock says it was written 20 minutes ago.
    behind = shared.hold("host-d")
    behind_id = relive(shared, behind, 20)
    stopped_here = shared.hold("host-b")
    stopped_here.stop()
    holders = (running, paused_elsewhere, behind, stopped_here)
    ids = shared.locks()
    assert ids == {running.lock_id, paused_id, behind_id, stopped_here.lock_id}

    forget = shared.helper(
        "host-b", "forget", "--lock-wait", "3s", RESTIC_CALLS=shared.calls_file("b"), **EAGER
    )
    assert shared.last_json("forget")["restic_exit_code"] == 11, output(forget)
    unlock = shared.helper("host-b", "unlock", RESTIC_CALLS=shared.calls_file("b"), **EAGER)
    assert unlock.returncode == 0, output(unlock)
    verdicts = {lock["id"]: lock["verdict"] for lock in shared.last_json("unlock")["locks"]}
    assert verdicts == {
        running.lock_id: "live",
        paused_id: "unknown",
        behind_id: "unknown",
        stopped_here.lock_id: "live",
    }
    failed = shared.helper(
        "host-b", "check", RESTIC_CHECK_ARGS="--no-such-flag", RESTIC_CALLS=shared.calls_file("b"), **EAGER
    )
    assert failed.returncode == 1, output(failed)
    assert "RESTIC_AUTO_UNLOCK=ON" in log_text(shared.sandbox, "check")

    assert shared.locks() == ids
    assert all(holder.process.poll() is None for holder in holders)
    assert "running restic on this host" in unlock.stdout
    assert "observed for 24m" in unlock.stdout
    # Plain `restic unlock` may run (it would remove none of these), never --remove-all.
    assert not any("--remove-all" in arguments for _, arguments in shared.calls("b"))


def python_for_nobody() -> str:
    """Return a Python interpreter that user nobody may run (the test's own may sit under /root)."""
    for candidate in (sys.executable, shutil.which("python3"), "/usr/bin/python3"):
        if candidate and subprocess.run([*NOBODY, candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    pytest.skip("no Python interpreter that user nobody may run")


def test_another_users_restic_hidden_by_hidepid_is_unknown_not_stale(shared):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root (a private /proc mount, then user nobody) and setpriv")
    holder = shared.hold("host-b")  # root's restic: another user's process, to nobody
    pid = shared.cat(holder.lock_id)["pid"]
    gone = subprocess.Popen(["true"])  # a PID whose process has exited and been reaped
    gone.wait()
    hide = ["unshare", "--mount", "sh", "-c", 'mount -t proc -o hidepid=2 proc /proc && exec "$@"', "sh"]
    check = [*NOBODY, python_for_nobody(), "-c", HIDDEN_CHECK, str(pid), str(gone.pid)]
    completed = subprocess.run(
        [*hide, *check],
        capture_output=True,
        text=True,
        cwd="/",
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT)},
    )
    if completed.returncode != 0 and "mount" in completed.stderr:
        pytest.skip(f"cannot mount /proc with hidepid here: {completed.stderr.strip()}")
    assert completed.returncode == 0, output(completed)
    seen = json.loads(completed.stdout)
    # The live restic is hidden, yet known to exist: its verdict is unknown, never stale.
    assert seen[str(pid)] == {"visible": False, "state": "alive", "verdict": "unknown"}
    assert seen[str(gone.pid)] == {"visible": False, "state": "gone", "verdict": "stale"}
    assert holder.process.poll() is None
