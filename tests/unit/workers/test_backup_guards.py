"""BACKUP_SHRINK_GUARD's verdict from two snapshots' figures."""

from helper.workers.backup_guards import shrink_warning

PREVIOUS = {
    "short_id": "1a2b3c4d",
    "summary": {"total_files_processed": 1000, "total_bytes_processed": 10_000_000},
}


def figures(files: int, size: int) -> dict:
    return {"files_processed": files, "bytes_processed": size}


def test_a_drop_past_the_guard_in_files_or_bytes_warns_with_both_snapshots_figures():
    fewer_files = shrink_warning(PREVIOUS, figures(400, 9_000_000), 50)
    assert (
        "holds 400 files (8.6 MiB), 60% less than this host's previous snapshot 1a2b3c4d (1000 files"
        in fewer_files
    )
    assert "BACKUP_SHRINK_GUARD=50%" in fewer_files
    assert "90% less" in shrink_warning(PREVIOUS, figures(1000, 1_000_000), 50)


def test_a_drop_within_the_guard_a_growth_or_a_guard_of_0_is_quiet():
    assert shrink_warning(PREVIOUS, figures(500, 5_000_000), 50) is None
    assert shrink_warning(PREVIOUS, figures(5000, 50_000_000), 50) is None
    assert shrink_warning(PREVIOUS, figures(1, 1), 0) is None


def test_without_figures_on_either_side_there_is_nothing_to_judge():
    assert shrink_warning(None, figures(1, 1), 50) is None
    assert shrink_warning({"short_id": "x", "summary": {}}, figures(1, 1), 50) is None  # restic < 0.17
    assert shrink_warning(PREVIOUS, figures(None, None), 50) is None
    empty_before = {"short_id": "x", "summary": {"total_files_processed": 0, "total_bytes_processed": 0}}
    assert shrink_warning(empty_before, figures(0, 0), 50) is None
