"""/bin/replicate's pure pieces: the job file's lines, the run's verdict over its jobs, and the
environment and scope of restic copy."""

import os

import pytest

from helper import workers
from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.workers import replicate, restic_copy
from helper.workers.rclone_jobs import Job, Replicated, parse_line, read_jobs

BASE = {"RESTIC_REPOSITORY": "/srv/repo", "RESTIC_PASSWORD": "first-password", "HOSTNAME": "node1"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/a;/b", Job(1, "/a", "/b", "bisync", ())),
        (" /a ; remote:b ; SYNC ", Job(1, "/a", "remote:b", "sync", ())),
        ("/a;/b;;--dry-run", Job(1, "/a", "/b", "bisync", ("--dry-run",))),
        # EXTRA is the rest of the line, split as shell words: quotes and ";" survive.
        ("/a;/b;copy;--exclude 'My Files/**' --header 'X: a;b'", None),
        (
            "/a;/b;bisync;--resync --fast-list --resync=true",
            Job(1, "/a", "/b", "bisync", ("--fast-list",), True),
        ),
    ],
)
def test_a_job_line_gives_source_destination_mode_and_arguments(line, expected):
    job = parse_line(line, 1, ())
    if expected is None:
        assert job.mode == "copy"
        assert job.arguments == ("--exclude", "My Files/**", "--header", "X: a;b")
    else:
        assert job == expected


def test_the_common_arguments_come_first_and_lose_resync_too():
    job = parse_line("/a;/b;sync;--max-age 1d", 1, ("--resync", "--transfers", "2"))
    assert job.arguments == ("--transfers", "2", "--max-age", "1d") and job.resync_removed


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("/a /b", "no ';' between source and destination"),
        (";/b", "the source is empty"),
        ("/a;  ;sync", "the destination is empty"),
        ("/a;/b;mirror", "unknown mode 'mirror' (expected bisync, sync, copy)"),
        ("/a;/b;copy;--exclude 'open", "the extra arguments cannot split into words"),
    ],
)
def test_a_bad_line_says_what_is_wrong(line, named):
    assert named in parse_line(line, 1, ())


def test_the_job_file_skips_blank_and_comment_lines_and_names_each_bad_line(tmp_path):
    path = tmp_path / "jobs.txt"
    path.write_text("# a;b comment\n\n   \n  # an indented comment;x\n/a;/b\nbad line\n/c;/d;sink\n")
    jobs, problems = read_jobs(str(path), ())
    assert [(job.line, job.source) for job in jobs] == [(5, "/a")]
    assert problems == [
        f"REPLICATE_JOB_FILE: {path} line 6: no ';' between source and destination "
        "(expected SOURCE;DESTINATION[;MODE[;EXTRA]])",
        f"REPLICATE_JOB_FILE: {path} line 7: unknown mode 'sink' (expected bisync, sync, copy)",
    ]


@pytest.mark.parametrize(
    ("content", "named"), [(None, "does not exist"), ("", "holds no job"), ("# x\n", "holds no job")]
)
def test_a_missing_or_empty_job_file_is_a_problem(tmp_path, content, named):
    path = tmp_path / "jobs.txt"
    if content is not None:
        path.write_text(content)
    jobs, problems = read_jobs(str(path), ())
    assert jobs == [] and len(problems) == 1
    assert problems[0].startswith(f"REPLICATE_JOB_FILE: {path} ") and named in problems[0]


def replicated(status: Status, hint: str = "", recovered: bool = False) -> Replicated:
    outcome = Outcome(status, EXIT_FAILED, hint) if status is Status.FAILED else outcome_for(status, hint)
    return Replicated(outcome, {"recovered": recovered})


def test_the_run_takes_its_most_severe_job_and_counts_a_recovered_bisync_as_failed():
    all_good = replicate.verdict([replicated(Status.OK), replicated(Status.OK)], stopped=False)
    assert (all_good.outcome.status, all_good.error) == (Status.OK, None)
    recovered = replicate.verdict([replicated(Status.OK), replicated(Status.WARNING, "w", True)], False)
    assert (recovered.outcome.exit_code, recovered.error) == (3, "w")
    assert recovered.extras["replicate_jobs_failed"] == recovered.extras["replicate_jobs_recovered"] == 1
    mixed = [
        replicated(Status.WARNING, "w", True),
        replicated(Status.LOCKED, "l"),
        replicated(Status.FAILED, "f"),
    ]
    report = replicate.verdict(mixed, stopped=False)
    assert (report.outcome.status, report.outcome.exit_code) == (Status.FAILED, EXIT_FAILED)
    assert report.error == "w; l; f" and report.extras["replicate_jobs_processed"] == 3
    assert replicate.verdict([replicated(Status.OK)], stopped=True).outcome.status is Status.INTERRUPTED


def settings_of(**environment):
    loaded, problems = workers.load_settings({**BASE, **environment})
    return loaded, problems


def test_restic_copy_gets_our_repository_as_its_source_and_the_second_as_its_target():
    loaded, _ = settings_of(
        REPLICATE_REPOSITORY="rest:https://u:p4ss@second/",
        REPLICATE_PASSWORD="second-password",
        RESTIC_KEY_HINT="abc",
        RESTIC_FROM_REPOSITORY="/somewhere/else",
    )
    child = restic_copy.copy_environment(loaded)
    assert (child["RESTIC_FROM_REPOSITORY"], child["RESTIC_FROM_PASSWORD"]) == ("/srv/repo", "first-password")
    assert (child["RESTIC_REPOSITORY"], child["RESTIC_PASSWORD"]) == (
        "rest:https://u:p4ss@second/",
        "second-password",
    )
    assert child["RESTIC_FROM_KEY_HINT"] == "abc" and "RESTIC_KEY_HINT" not in child
    # The second password is a secret: masked everywhere, and none of the scheduler's business.
    assert "second-password" in loaded.secrets and "REPLICATE_PASSWORD" not in loaded.restic_environment


def test_restic_copy_keeps_a_password_file_or_command_as_restic_reads_them():
    loaded, _ = settings_of(
        RESTIC_PASSWORD="", RESTIC_PASSWORD_COMMAND="cat /run/pw", REPLICATE_REPOSITORY="/x"
    )
    child = restic_copy.copy_environment(loaded)
    assert child["RESTIC_FROM_PASSWORD_COMMAND"] == "cat /run/pw" and "RESTIC_PASSWORD_COMMAND" not in child


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ("--host", "node1", "--tag", "automated")),
        ({"REPLICATE_HOST": "*", "REPLICATE_TAG": "daily"}, ("--tag", "daily")),
        ({"REPLICATE_HOST": "web", "REPLICATE_TAG": "*"}, ("--host", "web")),
    ],
)
def test_restic_copy_copies_what_this_helper_backs_up_unless_told_otherwise(environment, expected):
    assert restic_copy.scope(settings_of(**environment)[0]) == expected


@pytest.mark.parametrize(
    ("environment", "named"),
    [
        ({"REPLICATE_REPOSITORY": "/second"}, "REPLICATE_PASSWORD: not set"),
        (
            {"REPLICATE_REPOSITORY": "/srv/repo", "REPLICATE_PASSWORD": "pw"},
            "REPLICATE_REPOSITORY: is RESTIC_REPOSITORY",
        ),
    ],
)
def test_restic_copy_refuses_a_missing_password_and_copying_a_repository_into_itself(environment, named):
    problems = restic_copy.problems(settings_of(**environment)[0])
    assert len(problems) == 1 and problems[0].startswith(named)


def test_the_rclone_mode_is_off_only_for_restic_copy_alone_with_no_default_job_file(tmp_path):
    assert replicate.rclone_wanted(settings_of()[0]), "neither mode configured: the job file is expected"
    alone = settings_of(REPLICATE_REPOSITORY="/second", REPLICATE_PASSWORD="pw")[0]
    assert replicate.rclone_wanted(alone) is os.path.exists(replicate.DEFAULT_JOB_FILE)
    named = settings_of(REPLICATE_REPOSITORY="/second", REPLICATE_JOB_FILE=str(tmp_path / "jobs.txt"))[0]
    assert replicate.rclone_wanted(named), "a job file the operator names is read"
