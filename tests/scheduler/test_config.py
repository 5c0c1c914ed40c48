"""Validation as the scheduler, config-check and cron-list share it: every problem named by
its variable, warnings for schedules that never fire or collide, and the ENV_FILE overlay."""

from helper.workers import backup, configuration, forget

BASE = {
    "RESTIC_PASSWORD": "secret-password",
    "RESTIC_REPOSITORY": "/tmp/nowhere",
    "TZ": "UTC",
    "BACKUP_ROOT_DIR": "/data",
    "RESTIC_FORGET_ARGS": "--keep-last 3",
    # The machine's own name could look like a container id, which a host-scoped forget warns of.
    "HOSTNAME": "backup-host",
}


def load(**environment):
    return configuration.load({**BASE, **environment})


def test_every_invalid_expression_is_reported_at_once_with_its_variable():
    plan = load(BACKUP_CRON="61 * * * *", PRUNE_CRON="0 0 * * 9", CHECK_CRON="1 2 3")
    assert [problem.split(":")[0] for problem in plan.problems] == ["CHECK_CRON", "BACKUP_CRON", "PRUNE_CRON"]
    assert "minute field '61'" in plan.problems[1]


def test_empty_expressions_disable_their_jobs():
    plan = load(BACKUP_CRON="", FORGET_CRON="@daily", ROTATE_LOG_CRON="")
    assert plan.problems == ()
    assert [schedule.job for schedule in plan.schedules] == ["forget"]


def test_an_expression_that_can_never_fire_is_a_warning_not_an_error():
    plan = load(CHECK_CRON="0 0 31 2 *")
    assert plan.problems == ()
    assert plan.warnings == ("CHECK_CRON: '0 0 31 2 *' can never fire, so check never runs",)


def test_a_job_without_the_run_lock_collides_with_nothing():
    # rotate_log fires at midnight on Saturdays, with the backup: it takes no run lock
    assert load(BACKUP_CRON="0 */6 * * *", ROTATE_LOG_CRON="0 0 * * 6").warnings == ()


def test_jobs_due_in_the_same_second_are_warned_about_unless_they_may_wait_for_the_lock():
    plan = load(BACKUP_CRON="0 */6 * * *", FORGET_CRON="0 0 * * 0")
    (warning,) = plan.warnings
    assert warning.startswith("BACKUP_CRON and FORGET_CRON both fire at ")
    assert "SCHEDULE_LOCK_WAIT" in warning
    assert load(BACKUP_CRON="0 */6 * * *", FORGET_CRON="30 0 * * 0").warnings == ()
    assert load(BACKUP_CRON="0 */6 * * *", FORGET_CRON="0 0 * * 0", SCHEDULE_LOCK_WAIT="10m").warnings == ()


def test_a_rare_job_colliding_with_a_frequent_one_is_found():
    plan = load(BACKUP_CRON="*/5 * * * * *", CHECK_CRON="0 3 1 * *")
    assert any(warning.startswith("BACKUP_CRON and CHECK_CRON") for warning in plan.warnings)


def test_env_file_overlays_the_schedules_and_ignores_other_variables(tmp_path):
    env_file = tmp_path / "schedules.env"
    env_file.write_text(
        "# schedules\nexport BACKUP_CRON='*/2 * * * * *'\nPRUNE_CRON=\"@weekly\"\n\nRESTIC_PASSWORD=other\n"
    )
    plan = load(ENV_FILE=str(env_file), BACKUP_CRON="0 3 * * *", ROTATE_LOG_CRON="")
    assert plan.problems == ()
    assert {schedule.job: schedule.expression for schedule in plan.schedules} == {
        "backup": "*/2 * * * * *",
        "prune": "@weekly",
    }
    assert plan.environment["BACKUP_CRON"] == "*/2 * * * * *"
    assert plan.environment["RESTIC_PASSWORD"] == "secret-password"
    assert any("ignoring RESTIC_PASSWORD" in warning for warning in plan.warnings)


def test_env_file_problems_name_env_file(tmp_path):
    env_file = tmp_path / "schedules.env"
    env_file.write_text("BACKUP_CRON\n")
    assert load(ENV_FILE=str(env_file)).problems == ("ENV_FILE: line 1 is not KEY=VALUE: 'BACKUP_CRON'",)
    missing = load(ENV_FILE=str(tmp_path / "missing.env")).problems
    assert len(missing) == 1 and missing[0].startswith("ENV_FILE: cannot read ")


def test_a_scheduled_job_without_what_it_needs_is_an_error_naming_both_variables():
    plan = load(FORGET_CRON="@daily", RESTIC_FORGET_ARGS="", RESTIC_TAG="", BACKUP_ROOT_DIR="")
    assert [problem.split(":")[0] for problem in plan.problems] == [
        "BACKUP_CRON",
        "BACKUP_CRON",
        "FORGET_CRON",
    ]
    tag, source, policy = plan.problems
    assert tag.startswith("BACKUP_CRON: backup is scheduled, but every run would exit 2: RESTIC_TAG is empty")
    assert "neither BACKUP_ROOT_DIR nor RESTIC_JOB_ARGS" in source
    assert "RESTIC_FORGET_ARGS is empty" in policy and "nothing would ever be forgotten" in policy
    assert all(problem.endswith(f"empty {problem.split(':')[0]} to disable it") for problem in plan.problems)
    # A disabled job needs nothing; a source given as RESTIC_JOB_ARGS is enough.
    assert load(BACKUP_CRON="", RESTIC_TAG="", BACKUP_ROOT_DIR="", RESTIC_FORGET_ARGS="").problems == ()
    assert load(BACKUP_ROOT_DIR="", RESTIC_JOB_ARGS="--stdin-from-command -- cat x").problems == ()


def test_the_scheduler_refuses_exactly_what_the_worker_refuses():
    """One definition: each problem is the worker's own requirement message, word for word."""
    plan = load(FORGET_CRON="@daily", RESTIC_FORGET_ARGS="", RESTIC_TAG="", BACKUP_ROOT_DIR="")
    lacking = backup.requirements(plan.settings) + forget.requirements(plan.settings)
    assert lacking == [backup.NO_TAG, backup.NO_SOURCE, forget.NO_POLICY]
    assert all(message in problem for message, problem in zip(lacking, plan.problems, strict=True))


def test_sync_cron_schedules_replicate_with_a_warning_also_from_env_file(tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("/a;/b\n")
    env_file = tmp_path / "schedules.env"
    env_file.write_text("SYNC_CRON=0 4 * * *\n")
    plan = load(ENV_FILE=str(env_file), REPLICATE_JOB_FILE=str(jobs))
    assert plan.problems == ()
    assert {schedule.job: schedule.expression for schedule in plan.schedules}["replicate"] == "0 4 * * *"
    assert plan.warnings == (
        "SYNC_CRON is deprecated: rename it to REPLICATE_CRON (its value is used meanwhile)",
    )


def test_a_scheduled_replicate_with_a_bad_job_file_is_refused_line_by_line(tmp_path):
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("/a;/b;mirror\n")
    plan = load(REPLICATE_CRON="@daily", REPLICATE_JOB_FILE=str(jobs))
    assert plan.problems == (
        f"REPLICATE_CRON: replicate is scheduled, but every run would exit 2: REPLICATE_JOB_FILE: {jobs} "
        "line 1: unknown mode 'mirror' (expected bisync, sync, copy); empty REPLICATE_CRON to disable it",
    )


def test_a_host_scoped_forget_on_a_container_id_hostname_is_warned_about():
    warning = (
        "FORGET_SCOPE: host 0123456789ab looks like a container id: every new container starts a "
        "group of snapshots that a host-scoped forget never visits again"
    )
    assert any(line.startswith(warning) for line in load(HOSTNAME="0123456789ab").warnings)
    assert load(HOSTNAME="0123456789ab", FORGET_SCOPE="repository").warnings == ()
    assert load(HOSTNAME="0123456789ab", RESTIC_FORGET_ARGS="--host node-a --keep-last 3").warnings == ()
    assert load(HOSTNAME="node-a").warnings == ()


def test_an_owner_that_forgets_only_its_own_snapshots_is_warned_about():
    owner = {"BACKUP_CRON": "", "FORGET_CRON": "15 * * * *"}
    assert load(**owner).warnings[0].startswith("FORGET_SCOPE: this host runs forget but no backup")
    assert load(**owner, FORGET_SCOPE="repository").warnings == ()


def test_forget_scope_and_limits_name_their_variable_when_wrong():
    plan = load(FORGET_SCOPE="everything", FORGET_MAX_REMOVE_PERCENT="150", FORGET_MAX_REMOVE="-1")
    assert sorted(problem.split(":")[0] for problem in plan.problems) == [
        "FORGET_MAX_REMOVE",
        "FORGET_MAX_REMOVE_PERCENT",
        "FORGET_SCOPE",
    ]
