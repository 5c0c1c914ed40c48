"""The container's first process, as PID 1 of its own PID namespace (`unshare --pid`): the
kernel gives PID 1 no default action for a signal it has no handler for, so a stop that comes
while Python starts must still be noted, and acted on once the scheduler runs."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.scheduler.conftest import QUICK, ROOT


def pid_one_of(namespace_parent: int) -> int:
    """The host PID of the process `unshare --fork` started as PID 1 of the new namespace."""
    children = Path(f"/proc/{namespace_parent}/task/{namespace_parent}/children")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = children.read_text().split() if children.exists() else []
        if found:
            return int(found[0])
        time.sleep(0.01)
    raise AssertionError("unshare started no process")


def test_a_stop_during_start_up_stops_the_scheduler_before_its_first_tick(sandbox, tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a PID namespace needs root and util-linux's unshare")
    # The scheduler reads ENV_FILE while it starts: a FIFO holds it there, deterministically,
    # until the stop has been sent.
    env_file = tmp_path / "env-file"
    os.mkfifo(env_file)
    env = {**sandbox.env, **QUICK, "BACKUP_CRON": "* * * * * *", "ENV_FILE": str(env_file)}
    process = subprocess.Popen(
        ["unshare", "--pid", "--fork", "--kill-child", str(ROOT / "bin" / "entry")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        pid_one = pid_one_of(process.pid)
        with open(env_file, "w") as writer:  # returns once the scheduler opened it
            os.kill(pid_one, signal.SIGTERM)
            time.sleep(0.2)
            writer.write("BACKUP_CRON=* * * * * *\n")
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, output
    assert "SIGTERM received: no new ticks" in output
    assert not (sandbox.log_dir / "last-backup.json").exists(), output
