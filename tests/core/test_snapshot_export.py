"""/bin/snapshot-export: a snapshot as a .tar.gz streamed from restic dump, never half-written."""

import os
import signal
import tarfile
import time
from pathlib import Path

from tests.core.conftest import helper_process, output, read_metrics, wait_until
from tests.support.servers import rest_server


def backup(sandbox) -> None:
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, output(completed)


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
