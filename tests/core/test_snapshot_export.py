"""/bin/snapshot-export: a snapshot as a .tar.gz streamed from restic dump, never half-written."""

import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.core.conftest import helper_process, output, read_metrics, wait_until
from tests.support.servers import rest_server


def backup(sandbox) -> str:
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, output(completed)
    return sandbox.last_json("backup")["snapshot_id"]


def archived(path: Path) -> dict[str, bytes]:
    with tarfile.open(path) as packed:
        return {member.name: packed.extractfile(member).read() for member in packed if member.isfile()}


def source_files(sandbox) -> dict[str, bytes]:
    root = str(sandbox.source).lstrip("/")
    return {
        f"{root}/{path.relative_to(sandbox.source)}": path.read_bytes()
        for path in sandbox.source.rglob("*")
        if path.is_file()
    }


def test_the_archive_holds_the_snapshot_and_is_verified(sandbox, tmp_path):
    backup(sandbox)
    target = tmp_path / "out" / "snapshot.tar.gz"

    completed = sandbox.helper("snapshot-export", "--output", str(target), "--verify")

    assert completed.returncode == 0, output(completed)
    assert archived(target) == source_files(sandbox)
    document = sandbox.last_json("snapshot-export")
    assert (document["files_restored"], document["bytes_restored"], document["verified"]) == (
        2,
        4096 + 6,
        True,
    )
    assert document["archive_size_bytes"] == target.stat().st_size and document["archive"] == str(target)
    gauges = read_metrics(sandbox.metrics_dir / "restic_snapshot_export.prom")
    assert gauges["restic_snapshot_export_last_archive_size_bytes"] == target.stat().st_size
    assert [path.name for path in target.parent.iterdir()] == ["snapshot.tar.gz"], "a temporary file was left"


def test_include_and_exclude_choose_the_members_and_a_miss_writes_nothing(sandbox, tmp_path):
    backup(sandbox)
    only_docs = tmp_path / "docs.tar.gz"
    completed = sandbox.helper(
        "snapshot-export", "--output", str(only_docs), "--include", "docs", "--exclude", "*.bin"
    )
    assert completed.returncode == 0, output(completed)
    assert list(archived(only_docs)) == [f"{str(sandbox.source).lstrip('/')}/docs/a.txt"]

    missed = tmp_path / "none.tar.gz"
    completed = sandbox.helper("snapshot-export", "--output", str(missed), "--include", "/no/such/path")
    assert completed.returncode == 3 and sandbox.last_json("snapshot-export")["include_zero_match"] is True
    assert not missed.exists()


def test_an_existing_output_is_kept_without_force_and_a_dry_run_writes_nothing(sandbox, tmp_path):
    backup(sandbox)
    existing = tmp_path / "keep.tar.gz"
    existing.write_bytes(b"precious")
    refused = sandbox.helper("snapshot-export", "--output", str(existing))
    assert refused.returncode == 2 and "exists; pass --force" in output(refused)
    assert existing.read_bytes() == b"precious"

    dry = sandbox.helper("snapshot-export", "--output", str(tmp_path / "dry.tar.gz"), "--dry-run")
    assert dry.returncode == 0 and "would write" in output(dry) and not (tmp_path / "dry.tar.gz").exists()

    assert sandbox.helper("snapshot-export", "--output", str(existing), "--force").returncode == 0
    assert archived(existing) == source_files(sandbox)


def test_sigterm_during_an_export_leaves_no_partial_archive(sandbox, tmp_path):
    (sandbox.source / "big.bin").write_bytes(os.urandom(12 * 1024 * 1024))
    backup(sandbox)
    repository = Path(sandbox.env["RESTIC_REPOSITORY"])
    out = tmp_path / "out"
    out.mkdir()
    with rest_server(repository.parent, "--bwlimit", "1M") as server:
        process = helper_process(
            sandbox,
            "snapshot-export",
            "--output",
            str(out / "big.tar.gz"),
            RESTIC_REPOSITORY=server.repository("repo"),
        )
        wait_until(lambda: any(out.iterdir()), message="the export to start writing")
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)

    assert process.returncode == 130
    assert list(out.iterdir()) == [], "a partial archive was left behind"
    assert sandbox.last_json("snapshot-export")["status"] == "interrupted"
    assert sandbox.lock_ids() == []


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("--id", "deadbeef"), "--id deadbeef: no snapshot has this id"),
        (("--id", ""), "--id must not be empty"),
        (("--output", "{source}/inside.tar.gz"), "inside BACKUP_ROOT_DIR"),
        (("--output", "{out}"), "is a directory"),
    ],
)
def test_bad_input_exits_2_names_the_flag_and_writes_nothing(sandbox, tmp_path, arguments, named):
    backup(sandbox)
    out = tmp_path / "out"
    out.mkdir()
    words = [word.format(source=sandbox.source, out=out) for word in arguments]
    if "--output" not in words:
        words += ["--output", str(out / "export.tar.gz")]

    completed = sandbox.helper("snapshot-export", *words)

    assert completed.returncode == 2, output(completed)
    assert named in output(completed) and "Traceback" not in output(completed)
    assert list(out.iterdir()) == [] and not (sandbox.source / "inside.tar.gz").exists()
    assert sandbox.last_json("snapshot-export")["exit_code"] == 2


def test_a_lock_conflict_on_the_dump_is_waited_out_or_reported_as_locked(sandbox, tmp_path, other_host_lock):
    # With an --id, restic dump is the first call to meet the lock: its empty stream must not
    # hide restic's exit 11 from the lock wait.
    snapshot = backup(sandbox)
    target = tmp_path / "export.tar.gz"
    with other_host_lock(exclusive=True):
        refused = sandbox.helper(
            "snapshot-export", "--id", snapshot, "--output", str(target), "--lock-wait", "0"
        )
        assert refused.returncode == 11, output(refused)
        assert "internal error" not in output(refused) and not target.exists()
        waiting = helper_process(
            sandbox, "snapshot-export", "--id", snapshot, "--output", str(target), "--lock-wait", "60"
        )
        time.sleep(3)
    stdout, stderr = waiting.communicate(timeout=120)

    assert waiting.returncode == 0, stdout + stderr
    assert archived(target) == source_files(sandbox)
    assert [path.name for path in tmp_path.iterdir() if "export" in path.name] == ["export.tar.gz"]


@pytest.fixture
def tiny_filesystem(tmp_path):
    """A 1 MiB tmpfs (needs root with CAP_SYS_ADMIN, as on the CI machine)."""
    mounted = tmp_path / "tiny"
    mounted.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mounted)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {made.stderr.decode().strip()}")
    yield mounted
    subprocess.run(["umount", "-l", str(mounted)], check=False)


def test_a_full_disk_fails_the_export_and_leaves_no_partial_archive(sandbox, tiny_filesystem):
    (sandbox.source / "big.bin").write_bytes(os.urandom(4 * 1024 * 1024))  # gzip cannot shrink it
    backup(sandbox)

    completed = sandbox.helper("snapshot-export", "--output", str(tiny_filesystem / "big.tar.gz"))

    assert completed.returncode == 1, output(completed)
    assert "No space left on device" in output(completed) and "Traceback" not in output(completed)
    assert list(tiny_filesystem.iterdir()) == [], "a partial archive was left behind"
    assert sandbox.lock_ids() == [], "restic was not stopped cleanly"
