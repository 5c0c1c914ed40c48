"""The settings table: every kind, NAME_FILE twins, and every problem reported at once.

The bad-input tests run the helper as a real child process, as a user would meet it."""

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helper.settings import kinds
from helper.workers import load_settings, settings_table
from tests.core.conftest import output

# Every variable, the jobs' *_CRON schedules (declared by the jobs) included.
SETTINGS = settings_table()
BASE = {"RESTIC_REPOSITORY": "/srv/repo", "RESTIC_PASSWORD": "hunter2-secret"}

# One malformed value per kind; a new kind without an entry here fails the bad-input test.
MALFORMED = {
    "boolean": "maybe",
    "integer ≥ 0": "-5",
    "integer ≥ 1": "0",
    "port": "70000",
    "duration": "5 parsecs",
    "words": "--exclude 'unterminated",
    "cron": "* * *",
    "time zone": "Mars/Olympus_Mons",
    "number ≥ 1": "0.5",
    "duration ≥ 1s, or empty": "0.5s",
    "percent 0–100": "101",
}


# Text settings whose value can still be wrong, with a wrong value and the words the problem
# must hold (None: the value is a secret, so the message must not repeat it). A file where a
# directory belongs is written as "<a file>".
A_FILE = "<a file>"
TEXT_MALFORMED = {
    "RESTIC_REPOSITORY": ("", "is empty"),
    "RESTIC_PASSWORD": ("", "not set"),
    "RESTIC_TAG": ("", "RESTIC_TAG is empty"),
    "HOOKS_DIR": (A_FILE, "is not a directory"),
    "LOG_DIR": (A_FILE, "is not a directory"),
    "LOCK_DIR": (A_FILE, "is not a directory"),
    "METRICS_DIR": (A_FILE, "is not a directory"),
    "TEMPLATES_DIR": (A_FILE, "is not a directory"),
    "MAILX_RCPT": ("ops@example.com\nBcc: thief@example.com", "line break"),
    "SMTP_FROM": ("backup helper", "is not a mail address"),
    "WEBHOOK_URL": ("ftp://hooks.example.com/T0/B1", None),
    "WEBHOOK_HEADER_AUTH": ("Bearer abc\r\nX-Evil: 1", None),
    "NFS_TARGET": ("nas/export", "expected host:/export"),
}
# The ping URLs, HEALTHCHECK_URL and each scheduled job's own: secrets, never repeated.
PING_URLS = [setting.name for setting in SETTINGS if setting.name.startswith("HEALTHCHECK_URL")]
TEXT_MALFORMED.update({name: ("hc-ping.com/no-scheme", None) for name in PING_URLS})
# Text settings that any value fits: restic, a mail server or a program judges them later.
FREE_TEXT = {
    "RESTIC_BIN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "B2_ACCOUNT_KEY",
    "AZURE_ACCOUNT_KEY",
    "AZURE_ACCOUNT_SAS",
    "GOOGLE_ACCESS_TOKEN",
    "OS_PASSWORD",
    "OS_APPLICATION_CREDENTIAL_SECRET",
    "OS_AUTH_TOKEN",
    "ST_KEY",
    "RESTIC_REST_PASSWORD",
    "BACKUP_ROOT_DIR",
    "ENV_FILE",
    "RESTIC_BACKUP_HELPER_RELEASE",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SENDMAIL_BIN",
    # restore-test checks these when it runs, naming them: a target it may not write, a
    # canary file it cannot read
    "RESTORE_TEST_TARGET",
    "RESTORE_TEST_CANARY_FILE",
    # replicate checks these when it runs (and the scheduler when REPLICATE_CRON is set): a job
    # file it cannot read or with a bad line, a repository without its password
    "REPLICATE_JOB_FILE",
    "REPLICATE_REPOSITORY",
    "REPLICATE_PASSWORD",
    "REPLICATE_HOST",
    "REPLICATE_TAG",
    "RCLONE_BIN",
    # backup looks for the marker when it runs, and fails naming it when it is missing
    "BACKUP_SOURCE_MARKER",
}
# More wrong values, beyond one per kind.
EXTRA_MALFORMED = [
    # Absurdly large numbers would overflow a sleep or a timer in the scheduler (PID 1).
    ("STOP_GRACE_SECONDS", "9" * 400, "at most 1,000,000,000"),
    ("PROBE_TIMEOUT", "99999999999999999999999d", "at most 1,000,000,000 seconds"),
    ("SCHEDULE_LOCK_WAIT", "9" * 400 + "h", "at most 1,000,000,000 seconds"),
]


def malformed_value(setting) -> str:
    if setting.kind.label.startswith("one of "):
        return "carrier-pigeon"
    if setting.kind.label == "text":
        return TEXT_MALFORMED[setting.name][0]
    return MALFORMED[setting.kind.label]


def bad_input_cases() -> list[tuple[str, str, str | None]]:
    """(variable, wrong value, words of its problem) for every variable that can be wrong."""
    cases = []
    for setting in SETTINGS:
        if setting.name in FREE_TEXT:
            continue
        value = malformed_value(setting)
        words = TEXT_MALFORMED[setting.name][1] if setting.kind.label == "text" else repr(value)
        cases.append((setting.name, value, words))
    return cases + EXTRA_MALFORMED


def test_every_text_setting_is_either_checked_or_free_text():
    text_settings = {setting.name for setting in SETTINGS if setting.kind.label == "text"}
    assert set(TEXT_MALFORMED) | FREE_TEXT == text_settings
    assert not set(TEXT_MALFORMED) & FREE_TEXT


def test_free_text_takes_any_value():
    odd = "a b\n\tc$(true)'\"\udcff"
    _, problems = load(**dict.fromkeys(FREE_TEXT, odd))
    assert problems == ()


WELL_FORMED = {
    "text": "from-file",
    "boolean": "yes",
    "integer ≥ 0": "7",
    "integer ≥ 1": "1",
    "port": "587",
    "duration": "1h30m",
    "words": "--exclude 'a b'",
    "cron": "@hourly",
    "time zone": "Asia/Tokyo",
    "number ≥ 1": "2.5",
    "duration ≥ 1s, or empty": "6h",
    "percent 0–100": "40",
}


WELL_FORMED_TEXT = {
    **{name: "https://hc-ping.com/6a1b8f9e-0000-4000-8000-00000000abcd" for name in PING_URLS},
    "MAILX_RCPT": "ops@example.com, Backup Team <backup@example.com>, root",
    "SMTP_FROM": "helper@example.com",
    "WEBHOOK_URL": "https://hooks.example.com/services/T0/B1?token=abc",
    "NFS_TARGET": "nas.example.com:/exports/backup",
}


def well_formed_value(setting) -> str:
    if setting.name in WELL_FORMED_TEXT:
        return WELL_FORMED_TEXT[setting.name]
    if setting.kind.label.startswith("one of "):
        return setting.kind.label.removeprefix("one of ").split("/")[-1]
    return WELL_FORMED[setting.kind.label]


def load(**environment):
    return load_settings({**BASE, **environment})


def test_defaults_match_the_shell_image():
    loaded, problems = load()
    assert problems == ()
    assert loaded.restic_tag == "automated"
    assert loaded.restic_auto_unlock is False
    assert loaded.hook_timeout == 0
    assert loaded.log_dir == "/var/log"
    assert loaded.hooks_dir == "/hooks"
    assert loaded.lock_dir == "/var/run/restic-helper"
    assert loaded.restic_bin == "restic"
    assert loaded.metrics_dir == ""
    assert loaded.restic_job_args == ()
    assert loaded.smtp_port == 25


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(word, True) for word in ("ON", "on", "On", "true", "TRUE", "yes", "Yes", "1", " on ")],
        *[(word, False) for word in ("OFF", "off", "false", "False", "no", "NO", "0", "")],
    ],
)
def test_booleans_accept_the_usual_words_in_any_case(raw, expected):
    loaded, problems = load(RESTIC_AUTO_UNLOCK=raw, MAILX_ON_ERROR=raw)
    assert problems == ()
    assert loaded.restic_auto_unlock is expected
    assert loaded.mailx_on_error is expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("--keep-daily 7 --keep-weekly 4", ("--keep-daily", "7", "--keep-weekly", "4")),
        ("--exclude 'My Documents' --tag=\"a b\"", ("--exclude", "My Documents", "--tag=a b")),
        ("--exclude My\\ Music", ("--exclude", "My Music")),
        ("  --one-file-system\n  --verbose  ", ("--one-file-system", "--verbose")),
        ("", ()),
    ],
)
def test_arguments_are_split_like_shell_words(raw, expected):
    loaded, problems = load(RESTIC_JOB_ARGS=raw, RESTIC_FORGET_ARGS=raw)
    assert problems == ()
    assert loaded.restic_job_args == expected
    assert loaded.restic_forget_args == expected


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        ("90", 90),
        ("90s", 90),
        ("5m", 300),
        ("2h", 7200),
        ("1h30m", 5400),
        ("1d", 86400),
        ("", 0),
        ("500ms", 0.5),
    ],
)
def test_durations(raw, seconds):
    loaded, problems = load(SCHEDULE_LOCK_WAIT=raw)
    assert problems == ()
    assert loaded.schedule_lock_wait == pytest.approx(seconds)


def test_counts_ports_choices_crons_and_zones():
    loaded, problems = load(
        HOOK_TIMEOUT="30",
        SMTP_PORT="587",
        SMTP_TLS="STARTTLS",
        BACKUP_CRON="  30   2 * * *  ",
        CHECK_CRON="@Daily",
        PRUNE_CRON="*/5 * * * * *",
        TZ="America/New_York",
    )
    assert problems == ()
    assert loaded.hook_timeout == 30
    assert loaded.smtp_port == 587
    assert loaded.smtp_tls == "starttls"
    assert loaded.backup_cron == "30 2 * * *"
    assert loaded.check_cron == "@daily"
    assert loaded.prune_cron == "*/5 * * * * *"
    assert loaded.tz == "America/New_York"


def test_timeouts_take_one_second_or_more():
    loaded, problems = load(SMTP_TIMEOUT="1", WEBHOOK_TIMEOUT="600")
    assert problems == ()
    assert (loaded.smtp_timeout, loaded.webhook_timeout) == (1, 600)
    _, problems = load(SMTP_TIMEOUT="0", WEBHOOK_TIMEOUT="")
    assert problems == (
        "SMTP_TIMEOUT: expected a whole number of 1 or more, got '0'",
        "WEBHOOK_TIMEOUT: expected a whole number of 1 or more, got ''",
    )


def test_every_variable_has_a_file_twin(tmp_path):
    for setting in SETTINGS:
        if setting.name == "RESTIC_REPOSITORY" or not setting.file_twin:
            continue
        value = well_formed_value(setting)
        secret_file = tmp_path / setting.name
        secret_file.write_text(value + "\n")
        environment = {**BASE, setting.name: "", f"{setting.name}_FILE": str(secret_file)}
        loaded, problems = load_settings(environment)
        assert problems == (), setting.name
        assert loaded.values[setting.attribute] == setting.kind.parse(value), setting.name


def test_a_setting_named_like_a_file_twin_is_a_setting_of_its_own(tmp_path):
    # The shell image's RESTORE_TEST_CANARY_FILE names a sha256sum file; it does not hold
    # RESTORE_TEST_CANARY's value.
    canaries = tmp_path / "canaries.sha256"
    canaries.write_text("# not a canary word\n")
    loaded, problems = load_settings({**BASE, "RESTORE_TEST_CANARY_FILE": str(canaries)})
    assert problems == ()
    assert (loaded.restore_test_canary, loaded.restore_test_canary_file) == ((), str(canaries))


def test_file_twins_of_secrets_are_masked_and_not_handed_to_restic_twice(tmp_path):
    (tmp_path / "aws").write_text("aws-secret-from-file\n")
    (tmp_path / "password").write_text("password-from-file\n")
    loaded, problems = load_settings(
        {
            "RESTIC_REPOSITORY": "s3:https://s3.example.com/bucket",
            "AWS_SECRET_ACCESS_KEY_FILE": str(tmp_path / "aws"),
            "RESTIC_PASSWORD_FILE": str(tmp_path / "password"),
        }
    )
    assert problems == ()
    assert {"aws-secret-from-file", "password-from-file"} <= set(loaded.secrets)
    child = loaded.restic_environment
    # restic cannot read AWS_SECRET_ACCESS_KEY_FILE, so the helper resolves it ...
    assert child["AWS_SECRET_ACCESS_KEY"] == "aws-secret-from-file"
    assert "AWS_SECRET_ACCESS_KEY_FILE" not in child
    # ... but restic reads RESTIC_PASSWORD_FILE itself, as in the shell image.
    assert child["RESTIC_PASSWORD_FILE"] == str(tmp_path / "password")
    assert "RESTIC_PASSWORD" not in child


def test_repository_file_takes_the_first_meaningful_line(tmp_path):
    repository_file = tmp_path / "repository"
    repository_file.write_text(
        "\n# the old one:\n   # s3:https://old/bucket\n\n  /srv/backup/repo  \r\nignored\n"
    )
    loaded, problems = load_settings(
        {"RESTIC_REPOSITORY_FILE": str(repository_file), "RESTIC_PASSWORD": "pw-long-enough"}
    )
    assert problems == ()
    assert loaded.restic_repository == "/srv/backup/repo"
    # restic would refuse --repo together with --repository-file
    assert loaded.restic_environment["RESTIC_REPOSITORY"] == "/srv/backup/repo"
    assert "RESTIC_REPOSITORY_FILE" not in loaded.restic_environment


def test_repository_file_with_only_comments_is_an_empty_repository(tmp_path):
    repository_file = tmp_path / "repository"
    repository_file.write_text("# nothing here\n\n")
    _, problems = load_settings({"RESTIC_REPOSITORY_FILE": str(repository_file), "RESTIC_PASSWORD": "x" * 8})
    assert problems == ("RESTIC_REPOSITORY: is empty (set RESTIC_REPOSITORY or RESTIC_REPOSITORY_FILE)",)


def test_setting_a_variable_and_its_file_twin_is_one_problem(tmp_path):
    (tmp_path / "password").write_text("other")
    _, problems = load_settings(
        {
            "RESTIC_REPOSITORY": "/srv/repo",
            "RESTIC_PASSWORD": "direct",
            "RESTIC_PASSWORD_FILE": str(tmp_path / "password"),
        }
    )
    assert problems == ("RESTIC_PASSWORD: set either RESTIC_PASSWORD or RESTIC_PASSWORD_FILE, not both",)
    loaded, _ = load_settings({"LOG_DIR": "/srv/logs", "LOG_DIR_FILE": str(tmp_path / "password")})
    assert loaded.log_dir == "/srv/logs"


def test_a_file_twin_overrides_the_default_the_image_exports(tmp_path):
    # The image exports RESTIC_REPOSITORY=/mnt/restic, as the shell image did; its users' stacks
    # that give RESTIC_REPOSITORY_FILE must keep working.
    (tmp_path / "repository").write_text("# where the backups go\nrest:http://backup:8000/\n")
    environment = {"RESTIC_REPOSITORY": "/mnt/restic", "RESTIC_REPOSITORY_FILE": str(tmp_path / "repository")}
    loaded, problems = load_settings({**environment, "RESTIC_PASSWORD": "x" * 8})
    assert problems == ()
    assert loaded.restic_environment["RESTIC_REPOSITORY"] == "rest:http://backup:8000/"
    assert "RESTIC_REPOSITORY_FILE" not in loaded.restic_environment


def test_an_unreadable_file_twin_names_the_twin(tmp_path):
    _, problems = load(SMTP_PASSWORD_FILE=str(tmp_path / "missing"))
    assert len(problems) == 1
    assert problems[0].startswith(f"SMTP_PASSWORD_FILE: cannot read {tmp_path / 'missing'}")


def test_missing_repository_and_password_are_reported():
    _, problems = load_settings({"RESTIC_REPOSITORY": ""})
    assert [problem.split(":")[0] for problem in problems] == ["RESTIC_REPOSITORY", "RESTIC_PASSWORD"]
    _, problems = load_settings({"RESTIC_REPOSITORY": "/r", "RESTIC_PASSWORD_COMMAND": "cat /run/pw"})
    assert problems == ()


def test_every_problem_is_reported_at_once(tmp_path):
    (tmp_path / "file").write_text("")
    cases = [case for case in bad_input_cases() if case[0] != "RESTIC_TAG"]  # the backup worker's
    bad = {name: str(tmp_path / "file") if value == A_FILE else value for name, value, _ in cases}
    bad |= {name: value for name, value, _ in EXTRA_MALFORMED if name not in bad}
    loaded, problems = load_settings(bad)
    assert sorted(problem.split(":")[0] for problem in problems) == sorted(bad)
    # A broken variable keeps its default, so the early exit can still write its audit trail.
    assert loaded.hook_timeout == 0
    assert loaded.tz == "Europe/Amsterdam"


@given(st.text(max_size=40))
def test_parsers_only_ever_raise_value_errors(raw):
    for kind in (*(setting.kind for setting in SETTINGS), kinds.choice("a", "b")):
        with contextlib.suppress(ValueError):
            kind.parse(raw)


BAD_INPUT = bad_input_cases()


@pytest.mark.parametrize(
    ("name", "value", "words"), BAD_INPUT, ids=[f"{case[0]}={case[1]!r}" for case in BAD_INPUT]
)
def test_a_malformed_value_names_its_variable_and_exits_2(sandbox, name, value, words):
    if value == A_FILE:
        value = str(sandbox.root / "a-file")
        (sandbox.root / "a-file").write_text("")
    completed = sandbox.helper("backup", **{name: value})
    text = output(completed)
    assert completed.returncode == 2, text
    assert name in text
    if words is None:  # a secret: named, but never shown
        assert value not in text
    else:
        assert words in text
    assert "Traceback" not in text
    if name == "LOG_DIR":  # the audit trail has nowhere to go; the console said why
        return
    # restic never started, and the refused run is still on record.
    assert "$ restic" not in (sandbox.log_dir / "backup-last.log").read_text()
    assert sandbox.last_json("backup")["exit_code"] == 2


def test_unreadable_file_twins_and_missing_repository_are_reported_together(sandbox):
    twins = {
        f"{setting.name}_FILE": str(sandbox.root / "missing" / setting.name)
        for setting in SETTINGS
        if setting.file_twin
    }
    del twins["RESTIC_PASSWORD_FILE"]
    completed = sandbox.helper("backup", RESTIC_REPOSITORY="", RESTIC_PASSWORD="", **twins)
    text = output(completed)
    assert completed.returncode == 2, text
    assert "Traceback" not in text
    for twin in twins:
        name = twin.removesuffix("_FILE")
        if name != "RESTIC_REPOSITORY" and sandbox.env.get(name):  # LOG_DIR, HOOKS_DIR, ... are set
            assert f"{name}: set either {name} or {twin}, not both" in text
        else:
            assert f"{twin}: cannot read" in text, twin
    assert "RESTIC_PASSWORD: not set" in text
    # The direct LOG_DIR still receives the audit of the refused run.
    assert sandbox.last_json("backup")["exit_code"] == 2


@pytest.mark.parametrize("command", ["backup", "forget", "prune", "check", "unlock"])
def test_missing_password_stops_every_worker_before_restic(sandbox, command):
    completed = sandbox.helper(command, RESTIC_PASSWORD="", RESTIC_FORGET_ARGS="--keep-last 1")
    assert completed.returncode == 2
    assert "RESTIC_PASSWORD: not set" in completed.stdout
    document = sandbox.last_json(command)
    assert (document["status"], document["exit_code"]) == ("failed", 2)
    assert "RESTIC_PASSWORD" in document["error"]
    assert "$ restic" not in (sandbox.log_dir / f"{command}-last.log").read_text()
