"""A variable the shell image knew by another name (SYNC_JOB_FILE for REPLICATE_JOB_FILE): the
old name is read while the new one is unset or empty, and each use leaves a warning that names
the new one."""

from helper import workers

BASE = {"RESTIC_REPOSITORY": "/srv/repo", "RESTIC_PASSWORD": "pw"}


def load(**environment):
    return workers.load_settings({**BASE, **environment})


def test_the_old_name_is_read_while_the_new_one_is_unset_and_a_warning_names_the_new_one():
    loaded, problems = load(SYNC_JOB_FILE="/cfg/jobs", SYNC_CRON="0 3 * * *", SYNC_BISYNC_CHECK_ACCESS="on")
    assert problems == ()
    assert (loaded.replicate_job_file, loaded.replicate_cron) == ("/cfg/jobs", "0 3 * * *")
    assert loaded.replicate_bisync_check_access is True
    assert sorted(loaded.warnings) == [
        f"{old} is deprecated: rename it to {new} (its value is used meanwhile)"
        for old, new in sorted(
            [
                ("SYNC_BISYNC_CHECK_ACCESS", "REPLICATE_BISYNC_CHECK_ACCESS"),
                ("SYNC_CRON", "REPLICATE_CRON"),
                ("SYNC_JOB_FILE", "REPLICATE_JOB_FILE"),
            ]
        )
    ]


def test_an_empty_new_name_counts_as_unset_and_a_set_one_wins():
    loaded, _ = load(
        REPLICATE_JOB_ARGS="", SYNC_JOB_ARGS="--fast-list", REPLICATE_VERBOSE="ON", SYNC_VERBOSE="OFF"
    )
    assert loaded.replicate_job_args == ("--fast-list",)
    assert loaded.replicate_verbose is True
    assert "SYNC_VERBOSE is ignored because REPLICATE_VERBOSE is set: remove SYNC_VERBOSE" in loaded.warnings


def test_the_old_name_has_its_file_twin_and_its_problems_name_it(tmp_path):
    (tmp_path / "args").write_text("--transfers 2\n")
    loaded, problems = load(SYNC_JOB_ARGS_FILE=str(tmp_path / "args"))
    assert loaded.replicate_job_args == ("--transfers", "2") and problems == ()
    _, problems = load(SYNC_JOB_ARGS_FILE=str(tmp_path / "missing"))
    assert problems[0].startswith(f"SYNC_JOB_ARGS_FILE: cannot read {tmp_path / 'missing'}")


def test_nothing_is_warned_when_no_old_name_is_set():
    assert load(REPLICATE_JOB_FILE="/x")[0].warnings == ()
