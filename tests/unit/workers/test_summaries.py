"""Each job's argv and its reading of restic's JSON, fed with output recorded from restic 0.18.

Recorded once, against a throwaway local repository, with RESTIC_PROGRESS_FPS=0.0167:
    backup.jsonl         `restic backup --json --tag automated src` (second backup: one new and one
                         changed file), status lines left out
    forget.json          `restic forget --json --keep-last 1` over two snapshots
    check-healthy.jsonl  `restic check --json`
    check-broken.jsonl   `restic check --json` after deleting one pack file (exit 1)
The lines go through the runner's own reading (restic_output.Collected), as a real run's do.
"""

import logging
from pathlib import Path

from helper.outcome import classify
from helper.restic import Completed
from helper.restic_output import Collected
from helper.workers import backup, check, forget, load_settings, prune, unlock

RECORDED = Path(__file__).resolve().parents[1] / "recorded"


def completed(name: str, exit_code: int = 0) -> Completed:
    """restic's recorded stdout, read as the runner reads it, with the given exit code."""
    collected = Collected(logging.INFO, echo=False)
    for line in (RECORDED / name).read_text().splitlines():
        collected.on_stdout(line)
    return Completed(
        exit_code, classify(exit_code, "", False), tuple(collected.messages), collected.stdout.text()
    )


def test_backup_tags_before_the_job_arguments_and_names_the_root_last():
    # After a `--` in RESTIC_JOB_ARGS, restic would hand --tag to the command instead.
    argv = backup.build_command(("--stdin-from-command", "--", "pg_dumpall"), "nightly", "")
    assert argv == ("backup", "--json", "--tag", "nightly", "--stdin-from-command", "--", "pg_dumpall")
    assert backup.build_command(("--exclude", "*.tmp"), "t", "/data")[-1] == "/data"


def test_backup_reads_the_typed_fields_of_restics_summary():
    fields = backup.summarise(completed("backup.jsonl"))
    assert fields["snapshot_id"] == "47eb66324d049442728a55dda9f679e012c82ed4cebf61415d473184909792c4"
    assert (fields["files_new"], fields["files_changed"], fields["files_unmodified"]) == (1, 1, 2)
    assert (fields["bytes_added"], fields["bytes_added_packed"]) == (1728, 929)
    assert (fields["files_processed"], fields["bytes_processed"]) == (4, 34)
    assert set(fields) == set(backup.SUMMARY_FIELDS)


def test_a_backup_without_a_summary_leaves_every_field_null():
    assert set(backup.summarise(Completed(1, classify(1, "", False))).values()) == {None}


def test_forget_counts_kept_and_removed_snapshots():
    result = completed("forget.json")
    assert forget.summarise(result) == {"snapshots_kept": 1, "snapshots_removed": 1}
    assert forget.build_command(("--keep-last", "1")) == ("forget", "--json", "--keep-last", "1")


def test_forget_that_printed_nothing_matched_nothing_unless_it_failed():
    assert forget.summarise(Completed(0, classify(0, "", False))) == {
        "snapshots_kept": 0,
        "snapshots_removed": 0,
    }
    assert forget.summarise(Completed(1, classify(1, "", False))) == {
        "snapshots_kept": None,
        "snapshots_removed": None,
    }


def test_check_reads_its_findings():
    assert check.summarise(completed("check-healthy.jsonl").messages) == {
        "errors_found": 0,
        "suggest_repair_index": False,
        "suggest_prune": False,
    }
    assert check.summarise(completed("check-broken.jsonl", 1).messages)["errors_found"] == 2
    assert check.build_command(("--read-data-subset", "5%")) == (
        "check",
        "--json",
        "--read-data-subset",
        "5%",
    )


def test_prune_and_unlock_pass_their_arguments_on():
    assert prune.build_command(("--max-unused", "10%")) == ("prune", "--max-unused", "10%")
    assert unlock.build_command(False) == ("unlock",)
    assert unlock.build_command(True) == ("unlock", "--remove-all")


def test_each_jobs_requirements_name_the_variable_they_need():
    empty, _ = load_settings({"RESTIC_TAG": "", "BACKUP_ROOT_DIR": "", "RESTIC_FORGET_ARGS": ""})
    assert backup.requirements(empty) == [backup.NO_TAG, backup.NO_SOURCE]
    assert forget.requirements(empty) == [forget.NO_POLICY]
    assert check.requirements(empty) == prune.requirements(empty) == unlock.requirements(empty) == []
