"""The backup's source guard on real repositories: a source that is missing, empty or without
its marker is not backed up, and a snapshot that shrank against this host's previous one is a
warning; either way the inline forget leaves every snapshot alone."""

import pytest

from tests.core.conftest import output, snapshots

RETENTION = {"RESTIC_FORGET_ARGS": "--keep-last 1"}


def tree(root, count: int):
    root.mkdir(exist_ok=True)
    for number in range(count):
        (root / f"file-{number}.txt").write_text(f"content of file {number}\n" * 50)
    return root


@pytest.mark.parametrize(
    ("prepare", "words"),
    [
        (lambda path: path.mkdir(), "is empty (an unmounted share or a re-created volume looks like this)"),
        (lambda path: None, "does not exist"),
    ],
    ids=["empty", "missing"],
)
def test_a_source_that_is_not_there_is_not_backed_up_and_nothing_is_forgotten(
    sandbox, tmp_path, prepare, words
):
    assert sandbox.helper("backup").returncode == 0
    source = tmp_path / "share"
    prepare(source)
    completed = sandbox.helper("backup", BACKUP_ROOT_DIR=str(source), **RETENTION)
    assert completed.returncode == 1, output(completed)
    document = sandbox.last_json("backup")
    assert document["status"] == "failed" and words in document["error"]
    assert document["snapshot_id"] is None and document["forget_exit_code"] is None
    assert len(snapshots(sandbox)) == 1
    assert "Traceback" not in output(completed)


def test_a_mount_point_without_its_marker_is_not_backed_up(sandbox, tmp_path):
    source = tree(tmp_path / "mounted", 3)
    marked = {"BACKUP_ROOT_DIR": str(source), "BACKUP_SOURCE_MARKER": ".backup-marker"}
    missing = sandbox.helper("backup", **marked)
    assert missing.returncode == 1, output(missing)
    assert f"BACKUP_SOURCE_MARKER: {source}/.backup-marker is missing" in sandbox.last_json("backup")["error"]
    (source / ".backup-marker").touch()
    assert sandbox.helper("backup", **marked).returncode == 0
    assert len(snapshots(sandbox)) == 1


def test_a_marker_without_a_root_dir_is_a_config_error_naming_it(sandbox):
    completed = sandbox.helper(
        "backup", BACKUP_ROOT_DIR="", RESTIC_JOB_ARGS="/etc/hostname", BACKUP_SOURCE_MARKER=".m"
    )
    assert completed.returncode == 2, output(completed)
    assert "BACKUP_SOURCE_MARKER needs BACKUP_ROOT_DIR" in output(completed)


def test_a_snapshot_that_shrank_is_a_warning_with_its_figures_and_keeps_every_snapshot(sandbox, tmp_path):
    source = tree(tmp_path / "data", 10)
    watched = {"BACKUP_ROOT_DIR": str(source), **RETENTION}
    assert sandbox.helper("backup", **watched).returncode == 0
    first = sandbox.last_json("backup")
    assert first["previous_snapshot_id"] is None, "a first backup has nothing to compare with"
    for number in range(2, 10):
        (source / f"file-{number}.txt").unlink()
    completed = sandbox.helper("backup", **watched)
    assert completed.returncode == 3, output(completed)
    document = sandbox.last_json("backup")
    assert document["status"] == "warning"
    assert document["previous_snapshot_id"] == first["snapshot_id"]
    assert (document["previous_files_processed"], document["files_processed"]) == (10, 2)
    assert "the snapshot holds 2 files" in document["error"] and "80% less" in document["error"]
    assert document["error"].endswith("; the inline forget was skipped")
    assert document["forget_exit_code"] is None
    assert len(snapshots(sandbox)) == 2
    # The next backup compares with the shrunken snapshot: quiet again, and retention resumes.
    again = sandbox.helper("backup", **watched)
    assert again.returncode == 0, output(again)
    assert sandbox.last_json("backup")["forget_exit_code"] == 0


def test_the_shrink_guard_compares_the_same_paths_and_can_be_turned_off(sandbox, tmp_path):
    big, small = tree(tmp_path / "big", 10), tree(tmp_path / "small", 1)
    assert sandbox.helper("backup", BACKUP_ROOT_DIR=str(big)).returncode == 0
    other_paths = sandbox.helper("backup", BACKUP_ROOT_DIR=str(small))
    assert other_paths.returncode == 0, output(other_paths)
    assert sandbox.last_json("backup")["previous_snapshot_id"] is None
    for number in range(1, 10):
        (big / f"file-{number}.txt").unlink()
    off = sandbox.helper("backup", BACKUP_ROOT_DIR=str(big), BACKUP_SHRINK_GUARD="0")
    assert off.returncode == 0, output(off)
    assert sandbox.last_json("backup")["status"] == "ok"
