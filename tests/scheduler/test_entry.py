"""bin/entry: one-shot workers start no scheduler, diagnostics start nothing, anything else
is exec'd as given."""

import json
import subprocess
import time

from tests.scheduler.conftest import QUICK, ROOT

ENTRY = str(ROOT / "bin" / "entry")
# If a one-shot run started the scheduler, this would back up every second.
TEMPTING = {"BACKUP_CRON": "* * * * * *", "RESTIC_CHECK_REPOSITORY_STATUS": "ON"}


def entry(sandbox, *arguments: str, **overrides) -> subprocess.CompletedProcess:
    env = {**sandbox.env, **QUICK, **TEMPTING, **{key: str(value) for key, value in overrides.items()}}
    return subprocess.run(
        [ENTRY, *arguments], env=env, text=True, capture_output=True, timeout=120, stdin=subprocess.DEVNULL
    )


def test_one_shot_forget_without_a_policy_exits_2_at_once_and_starts_no_scheduler(sandbox):
    started = time.monotonic()
    completed = entry(sandbox, "forget")
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert time.monotonic() - started < 10
    assert "RESTIC_FORGET_ARGS" in completed.stdout
    assert sandbox.last_json("forget")["exit_code"] == 2
    assert not (sandbox.log_dir / "scheduler.json").exists()
    assert not (sandbox.log_dir / "last-backup.json").exists()
    assert "[probe]" not in completed.stdout


def test_one_shot_worker_given_as_a_bin_path_with_arguments_returns_its_code(sandbox):
    completed = entry(sandbox, "/bin/unlock", "--dry-run")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert sandbox.last_json("unlock")["status"] == "ok"
    assert not (sandbox.log_dir / "scheduler.json").exists()


def test_one_shot_takes_the_same_run_lock_as_the_ticks(sandbox):
    import fcntl

    lock_path = sandbox.root / "lock" / "run.lock"
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        completed = entry(sandbox, "backup")
    assert completed.returncode == 0
    assert "⏭ backup skipped: previous run still active" in completed.stdout
    assert not (sandbox.log_dir / "last-backup.json").exists()


def test_config_check_reports_every_problem_and_exits_2(sandbox):
    completed = entry(
        sandbox, "config-check", BACKUP_CRON="61 * * * *", CHECK_CRON="0 0 31 2 *", RESTIC_PASSWORD=""
    )
    assert completed.returncode == 2
    assert "❌ BACKUP_CRON: not a valid cron expression: '61 * * * *'" in completed.stdout
    assert "❌ RESTIC_PASSWORD: not set" in completed.stdout
    assert "⚠️ CHECK_CRON: '0 0 31 2 *' can never fire" in completed.stdout
    assert completed.stdout.endswith("config-check: 2 error(s), 1 warning(s)\n")


def test_config_check_json_speaks_the_shell_images_schema_and_names_each_check(sandbox):
    document = json.loads(
        entry(sandbox, "config-check", "-j", BACKUP_CRON="61 * * * *", CHECK_CRON="0 0 31 2 *").stdout
    )
    assert document["schema"] == "restic-backup-helper.config-check/1"
    assert (document["command"], document["ok"], document["exit_code"]) == ("config-check", False, 2)
    assert (document["errors"], document["warnings"]) == (1, 1)
    assert document["error_messages"][0].startswith("BACKUP_CRON: not a valid cron expression")
    by_key = {check["key"]: check for check in document["checks"]}
    assert by_key["BACKUP_CRON"]["status"] == "fail" and by_key["CHECK_CRON"]["status"] == "warn"
    assert by_key["RESTIC_REPOSITORY"] == {
        "key": "RESTIC_REPOSITORY",
        "status": "ok",
        "message": sandbox.env["RESTIC_REPOSITORY"],
    }
    assert by_key["RESTIC_PASSWORD"]["message"] == "set (secret, not shown)"
    assert sandbox.env["RESTIC_PASSWORD"] not in json.dumps(document)
    assert by_key["BACKUP_PATHS"]["status"] == "ok"


def test_config_check_reads_the_files_restic_and_rclone_would_read(sandbox):
    missing = str(sandbox.root / "missing")
    completed = entry(
        sandbox,
        "config-check",
        RESTIC_CACERT=missing,
        RESTIC_REPOSITORY="rclone:nas:repo",
        RCLONE_CONFIG=missing,
    )
    assert completed.returncode == 2
    assert f"❌ RESTIC_CACERT: cannot read {missing}" in completed.stdout
    assert f"❌ RCLONE_CONFIG: cannot read {missing}" in completed.stdout
    inline = entry(
        sandbox, "config-check", RESTIC_REPOSITORY="rclone::local:/srv/repo", RCLONE_CONFIG=missing
    )
    assert inline.returncode == 0, inline.stdout


def test_config_check_names_what_a_scheduled_job_lacks_and_warns_about_old_names(sandbox):
    completed = entry(sandbox, "config-check", FORGET_CRON="30 1 * * *", SYNC_VERBOSE="OFF")
    assert completed.returncode == 2
    assert (
        "❌ FORGET_CRON: forget is scheduled, but every run would exit 2: RESTIC_FORGET_ARGS is empty"
        in completed.stdout
    )
    assert "⚠️ SYNC_VERBOSE is deprecated: rename it to REPLICATE_VERBOSE" in completed.stdout
    scheduler = entry(sandbox, FORGET_CRON="30 1 * * *")
    assert scheduler.returncode == 2
    assert (
        "❌ FORGET_CRON: forget is scheduled, but every run would exit 2: RESTIC_FORGET_ARGS is empty"
        in scheduler.stderr
    )
    assert not (sandbox.log_dir / "scheduler.json").exists()


def test_config_check_ok(sandbox):
    completed = entry(sandbox, "config-check", BACKUP_CRON="0 3 * * *")
    assert (completed.returncode, completed.stdout) == (0, "config-check: OK, 0 warning(s)\n")


def test_cron_list_shows_time_zone_descriptions_and_next_fires(sandbox):
    completed = entry(
        sandbox, "cron-list", BACKUP_CRON="30 2 * * *", TZ="Europe/Amsterdam", CHECK_CRON="@weekly"
    )
    assert completed.returncode == 0, completed.stderr
    assert "TZ   Europe/Amsterdam" in completed.stdout
    assert "backup  BACKUP_CRON=30 2 * * *\n        at 02:30 every day\n" in completed.stdout
    assert completed.stdout.count("next: ") == 10
    assert "forget  disabled (FORGET_CRON is empty)" in completed.stdout
    document = json.loads(entry(sandbox, "cron-list", "--json", BACKUP_CRON="*/5 * * * * *").stdout)
    (backup,) = [job for job in document["jobs"] if job["job"] == "backup"]
    assert backup["description"] == "every 5 seconds" and len(backup["next"]) == 5
    assert document["time_zone"] == "UTC"


def test_cron_list_exits_2_on_an_invalid_expression(sandbox):
    completed = entry(sandbox, "cron-list", PRUNE_CRON="0 0 * * 8")
    assert completed.returncode == 2
    assert "prune   ❌ PRUNE_CRON: not a valid cron expression" in completed.stdout


def test_cron_list_prints_every_problem_and_exits_2(sandbox):
    completed = entry(
        sandbox,
        "cron-list",
        TZ="Nowhere/Land",
        ENV_FILE=str(sandbox.root / "missing.env"),
        BACKUP_CRON="@daily",
    )
    assert completed.returncode == 2
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("❌ ENV_FILE: cannot read ")
    assert lines[1].startswith("❌ TZ: unknown time zone 'Nowhere/Land'")
    assert "TZ   Europe/Amsterdam (TZ is invalid; times are shown in this default)" in lines
    document = json.loads(entry(sandbox, "cron-list", "--json", TZ="Nowhere/Land").stdout)
    assert document["ok"] is False and document["errors"][0].startswith("TZ: unknown time zone")


def test_a_worker_name_outside_the_image_directories_is_the_operators_own_program(sandbox):
    own = sandbox.root / "opt" / "backup"
    own.parent.mkdir()
    own.write_text('#!/bin/sh\necho "my own backup $1"\nexit 5\n')
    own.chmod(0o755)
    completed = entry(sandbox, str(own), "now")
    assert (completed.returncode, completed.stdout) == (5, "my own backup now\n")
    assert not (sandbox.log_dir / "last-backup.json").exists()


def test_any_other_command_is_execd_as_given(sandbox):
    completed = entry(sandbox, "sh", "-c", 'echo "$0 $RESTIC_REPOSITORY"; exit 7')
    assert completed.returncode == 7
    assert completed.stdout == f"sh {sandbox.env['RESTIC_REPOSITORY']}\n"
    snapshots = entry(sandbox, "restic", "snapshots", "--json")
    assert snapshots.returncode == 0 and json.loads(snapshots.stdout) == []
    missing = entry(sandbox, "no-such-command")
    assert missing.returncode == 127 and "cannot run no-such-command" in missing.stderr


def test_bin_cron_list_is_an_executable_of_its_own(sandbox):
    # The shell image's users run `docker exec c /bin/cron-list`.
    env = {**sandbox.env, **QUICK, "BACKUP_CRON": "30 2 * * *"}
    completed = subprocess.run(
        [str(ROOT / "bin" / "cron-list"), "--json"], env=env, text=True, capture_output=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr
    rows = {row["job"]: row for row in json.loads(completed.stdout)["jobs"]}
    assert rows["backup"]["expression"] == "30 2 * * *" and len(rows["backup"]["next"]) == 5
