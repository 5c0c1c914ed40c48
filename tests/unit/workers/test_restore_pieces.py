"""The pure pieces of the restore-style jobs: the progress line and its cadence, the target
refusals, and the snapshot filters as restic's flags."""

import logging
from pathlib import Path
from types import SimpleNamespace

from helper.workers import targets, terminal
from helper.workers.snapshots import Selection
from tests.support.fake_clock import FakeClock

# restic 0.18's `restore --json` progress, as it printed it half-way through a restore.
HALF_WAY = {
    "message_type": "status",
    "seconds_elapsed": 30,
    "percent_done": 0.5,
    "total_files": 200,
    "files_restored": 90,
    "total_bytes": 2 * 1024**3,
    "bytes_restored": 1024**3,
}


def test_the_progress_line_has_percent_bytes_files_and_time_left():
    assert terminal.describe(HALF_WAY) == " 50.0%  1.0 GiB of 2.0 GiB, 90 of 200 files, about 30s left"
    # At the start restic gives only totals: no division by zero, no time left.
    assert terminal.describe({"total_files": 3, "total_bytes": 100}) == "  0.0%  0 B of 100 B, 0 of 3 files"


def test_without_a_terminal_progress_is_logged_every_30_seconds(caplog):
    fake = FakeClock()
    progress = terminal.Progress("restore", on_terminal=False, clock=fake.clock)
    with caplog.at_level(logging.INFO, logger="helper.workers.terminal"):
        for _second in range(95):
            progress(HALF_WAY)
            fake.advance(1)
    assert len(caplog.records) == 3
    assert progress.last is HALF_WAY


def settings(source: Path, repository: str) -> SimpleNamespace:
    return SimpleNamespace(backup_root_dir=str(source), restic_repository=repository)


def test_targets_that_could_overwrite_live_data_or_the_repository_are_refused(tmp_path):
    source, repository = tmp_path / "data", tmp_path / "repo"
    source.mkdir()
    repository.mkdir()
    configured = settings(source, f"local:{repository}")
    refused = {
        "/": "root directory",
        str(source / "sub"): "BACKUP_ROOT_DIR",
        str(tmp_path): "BACKUP_ROOT_DIR",
        str(repository / "snapshots"): "RESTIC_REPOSITORY",
    }
    for target, reason in refused.items():
        # --force never lets a restore write over them
        assert reason in targets.refusal("--target", Path(target), configured, force=True), target
    assert targets.refusal("--target", tmp_path / "elsewhere", configured, force=False) is None


def test_a_full_directory_needs_force_and_a_remote_repository_guards_no_path(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    remote = settings(tmp_path / "data", "rest:http://127.0.0.1:8000/repo")
    assert "--force" in targets.refusal("--target", full, remote, force=False)
    assert targets.refusal("--target", full, remote, force=True) is None
    assert "not a directory" in targets.refusal("--target", full / "x", remote, force=True)


def test_the_space_check_compares_with_the_free_bytes_of_the_targets_filesystem(tmp_path):
    free = targets.free_bytes(tmp_path / "not" / "yet")
    assert targets.space_refusal("--target", tmp_path, free // 2) is None
    assert "only" in targets.space_refusal("--target", tmp_path / "new", free * 2)


def test_the_selection_becomes_restics_filter_flags():
    chosen = Selection("latest", ("daily",), ("web1",), ("/srv", "/etc"))
    assert chosen.filter_arguments() == (
        "--tag",
        "daily",
        "--host",
        "web1",
        "--path",
        "/srv",
        "--path",
        "/etc",
    )
    assert chosen.describe() == "latest (tag daily; host web1; path /srv, /etc)"
    assert Selection("latest", (), (), ()).filter_arguments() == ()
