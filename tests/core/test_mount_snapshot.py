"""/bin/mount-snapshot: restic mount until a stop signal, then nothing left mounted."""

import os
import signal
from pathlib import Path

import pytest

from helper import procfs
from helper.workers import fuse
from tests.core.conftest import helper_process, output, wait_until

needs_fuse = pytest.mark.skipif(
    bool(fuse.preflight()), reason="this machine cannot mount FUSE: " + "; ".join(fuse.preflight())
)


@needs_fuse
def test_the_snapshots_are_browsable_until_sigterm_then_unmounted(sandbox, tmp_path):
    assert sandbox.helper("backup").returncode == 0
    target = tmp_path / "mnt"
    process = helper_process(sandbox, "mount-snapshot", "--target", str(target))
    restored = target / "snapshots" / "latest" / str(sandbox.source).lstrip("/") / "docs" / "a.txt"
    try:
        wait_until(restored.exists, message="the mount to serve the snapshot")
        assert restored.read_text() == "alpha\n"
        assert len(sandbox.lock_ids()) == 1, "restic mount holds its read lock while mounted"
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 0, stdout + stderr
    document = sandbox.last_json("mount-snapshot")
    assert (document["status"], document["unmounted"], document["tag_filter"]) == ("ok", True, "automated")
    assert not fuse.mounted(target) and sandbox.lock_ids() == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("--target", "/etc"), "--target /etc: a system directory"),
        (("--target", "/var/spool/cron"), "--target /var/spool/cron: a system directory"),
        (("--target", "/", "--force"), "--target /: refusing to mount over the root directory"),
        (("--target", "{source}", "--force"), "inside or above BACKUP_ROOT_DIR"),
        (("--target", "{full}"), "not an empty directory"),
        (("--host", ""), "--host and --tag must not be empty"),
    ],
)
def test_a_refused_target_or_scope_exits_2_and_mounts_nothing(sandbox, tmp_path, arguments, named):
    full = tmp_path / "full"
    full.mkdir()
    (full / "mine").write_text("x")
    words = (word.format(full=full, source=sandbox.source) for word in arguments)
    completed = sandbox.helper("mount-snapshot", *words)
    assert completed.returncode == 2, output(completed)
    assert named in output(completed) and "Traceback" not in output(completed)


@needs_fuse
def test_a_restic_killed_outright_leaves_no_mount_behind(sandbox, tmp_path):
    # SIGKILL gives restic no chance to unmount: the helper's fusermount -u must.
    assert sandbox.helper("backup").returncode == 0
    target = tmp_path / "mnt"
    process = helper_process(sandbox, "mount-snapshot", "--target", str(target))
    try:
        wait_until(lambda: (target / "snapshots").exists(), message="the mount to serve the snapshots")
        restic = [
            pid
            for pid in procfs.descendants(process.pid)
            if "restic" in Path(f"/proc/{pid}/comm").read_text()
        ]
        os.kill(restic[0], signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        fuse.unmount(target)  # whatever happened, leave the machine clean

    assert process.returncode == 130, stdout + stderr
    assert sandbox.last_json("mount-snapshot")["unmounted"] is True and not fuse.mounted(target)
