"""The leak test: known secrets in every secret setting and in a REST repository URL, every
worker and failure path run, then every artifact searched for them."""

import shutil
import signal
import subprocess
import urllib.parse
from pathlib import Path

import pytest

from helper.settings import SETTINGS
from tests.conftest import PASSWORD
from tests.core.conftest import (
    HELPER,
    helper_process,
    lock_held_by_sleep,
    repository_locks,
    run_lock,
    slow_source,
    wait_until,
)
from tests.support.receivers import free_port, http_receiver, smtp_receiver, wait_for_port
from tests.support.tools import tool

REST_USER = "restuser"
REST_PASSWORD = "Rest-P@ss:w0rd-6e2f"  # "@" and ":" inside a URL password
SMTP_USER = "mailer"
WEBHOOK_PATH_SECRET = "path-Secret-77a1"
PING_PATH_SECRET = "ping-Secret-5c3e"
WEBHOOK_QUERY_SECRET = "query-Secret-0c4d"


def distinctive(name: str) -> str:
    return f"leak-{name.lower().replace('_', '-')}-9f3k"


@pytest.fixture
def rest_server(sandbox):
    """`rclone serve restic` with basic auth on loopback, serving a copy of the sandbox repository."""
    root = sandbox.root / "rest"
    shutil.copytree(sandbox.env["RESTIC_REPOSITORY"], root / "repo")
    port = free_port()
    command = [tool("rclone"), "serve", "restic", "--addr", f"127.0.0.1:{port}"]
    command += ["--user", REST_USER, "--pass", REST_PASSWORD, str(root)]
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def hooks_that_echo_everything(sandbox) -> None:
    for job in ("backup", "forget", "prune", "check", "unlock"):
        for phase in ("pre", "post"):
            sandbox.hook(
                f"{phase}-{job}.sh",
                'env\necho "repo: $RESTIC_REPOSITORY" >&2\ncat "$B2_ACCOUNT_KEY_FILE"\n',
            )


def run_every_path(sandbox, common: dict, hook, outputs: list[str]) -> None:
    """Run every worker on its happy path and on every failure path, each run's console
    output appended to `outputs`."""
    repository = common["RESTIC_REPOSITORY"]

    def run(*arguments: str, expect: int, **overrides) -> None:
        completed = sandbox.helper(*arguments, **{**common, **overrides})
        outputs.append(completed.stdout + completed.stderr)
        assert completed.returncode == expect, (arguments, outputs[-1])

    # Every worker on the happy path, inline forget included.
    for arguments in (
        ["backup"],
        ["backup"],
        ["forget"],
        ["prune"],
        ["check"],
        ["unlock", "--dry-run"],
        ["unlock"],
    ):
        run(*arguments, expect=0)
    # Failure paths: configuration, policy, restic failures, a missing repository,
    # automatic unlock after a failure, failing reporters.
    run("backup", expect=2, RESTIC_TAG="")
    run("forget", expect=2, RESTIC_FORGET_ARGS="")
    run("prune", expect=2, HOOK_TIMEOUT="later")
    run("check", expect=1, RESTIC_CHECK_ARGS="--no-such-flag", RESTIC_AUTO_UNLOCK="ON")
    run("backup", expect=10, RESTIC_REPOSITORY=repository.replace("/repo/", "/missing/"))
    run("unlock", expect=10, RESTIC_REPOSITORY=repository.replace("/repo/", "/missing/"))
    run(
        "forget",
        expect=0,
        SMTP_PORT=str(free_port()),
        WEBHOOK_URL=common["WEBHOOK_URL"].replace(str(hook.port), str(free_port())),
        WEBHOOK_RETRIES="0",
    )
    hook.statuses.extend([500, 500])
    run("check", expect=0, WEBHOOK_RETRIES="1")
    # A run stopped by a signal.
    process = helper_process(sandbox, "backup", **{**common, **slow_source(60)})
    wait_until(lambda: repository_locks(sandbox, RESTIC_REPOSITORY=repository), message="a lock")
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    outputs.append(stdout + stderr)
    assert process.returncode == 130
    # A run skipped because the run lock is busy.
    with lock_held_by_sleep(sandbox):
        run("locked_run", "backup", str(run_lock(sandbox)), *HELPER, "backup", expect=0)
    assert "skipped: previous run still active" in outputs[-1]


@pytest.mark.slow
def test_no_secret_reaches_any_artifact(sandbox, rest_server):
    quoted = urllib.parse.quote(REST_PASSWORD, safe="")
    repository = f"rest:http://{REST_USER}:{quoted}@127.0.0.1:{rest_server}/repo/"
    secrets = {setting.name: distinctive(setting.name) for setting in SETTINGS if setting.secret}
    secrets["RESTIC_PASSWORD"] = PASSWORD
    b2_key_file = sandbox.root / "b2-key"
    b2_key_file.write_text(secrets.pop("B2_ACCOUNT_KEY") + "\n")
    hooks_that_echo_everything(sandbox)
    outputs: list[str] = []

    with smtp_receiver(user=SMTP_USER, password=secrets["SMTP_PASSWORD"]) as mail, http_receiver() as hook:
        secrets["WEBHOOK_URL"] = hook.url(f"/hooks/{WEBHOOK_PATH_SECRET}?token={WEBHOOK_QUERY_SECRET}&page=1")
        # Every run pings too: its URL is a secret, its body the masked log tail.
        for name in (name for name in secrets if name.startswith("HEALTHCHECK_URL")):
            secrets[name] = hook.url(f"/ping/{PING_PATH_SECRET}/{name.lower()}")
        common = {
            **secrets,
            "B2_ACCOUNT_KEY_FILE": str(b2_key_file),
            "RESTIC_REPOSITORY": repository,
            "MAILX_RCPT": "ops@example.com",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(mail.port),
            "SMTP_USER": SMTP_USER,
            "RESTIC_FORGET_ARGS": "--keep-last 2",
        }
        run_every_path(sandbox, common, hook, outputs)
        # Delivery is synchronous: each run has handed its mail and webhook over before it exits.
        mails, bodies = list(mail.messages), list(hook.requests)

    artifacts = everything_written(sandbox, mails, bodies, outputs)

    forbidden = {
        *secrets.values(),
        distinctive("B2_ACCOUNT_KEY"),
        REST_PASSWORD,
        quoted,
        urllib.parse.unquote(quoted),
        WEBHOOK_PATH_SECRET,
        WEBHOOK_QUERY_SECRET,
        PING_PATH_SECRET,
    }
    leaks = [(where, secret) for where, text in artifacts.items() for secret in forbidden if secret in text]
    assert leaks == []

    # The test would pass vacuously if nothing carried the secrets: prove that they went through
    # the masker (hooks dumped the environment into the logs, mails and webhooks went out).
    assert len(mails) >= 14 and len(bodies) >= 14
    assert mails[0].login == (SMTP_USER, secrets["SMTP_PASSWORD"])
    everything = "\n".join(artifacts.values())
    for name in secrets:
        assert f"{name}=***" in everything, name
    assert f"RESTIC_REPOSITORY=rest:http://{REST_USER}:***@127.0.0.1:{rest_server}/repo/" in everything
    assert "[pre-backup] ***" in everything  # the B2 key read from its _FILE twin


def test_restic_gets_its_own_secrets_and_no_others(sandbox):
    """restic's environment, saved by a backup of `env` run by restic itself."""
    secrets = {setting.name: distinctive(setting.name) for setting in SETTINGS if setting.secret}
    secrets.pop("RESTIC_PASSWORD")
    secrets["WEBHOOK_URL"] = f"https://hooks.example.com/{WEBHOOK_PATH_SECRET}"
    secrets["HEALTHCHECK_URL"] = f"http://127.0.0.1:{free_port()}/ping/{PING_PATH_SECRET}"
    password_file = sandbox.root / "smtp-password"
    password_file.write_text(secrets.pop("SMTP_PASSWORD"))
    job = "--stdin-from-command --stdin-filename env.txt -- env"
    completed = sandbox.helper(
        "backup",
        **secrets,
        SMTP_PASSWORD_FILE=password_file,
        BACKUP_ROOT_DIR="",
        RESTIC_JOB_ARGS=job,
        HEALTHCHECK_RETRIES="0",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    seen = dict(
        line.split("=", 1)
        for line in sandbox.restic("dump", "latest", "/env.txt").stdout.splitlines()
        if "=" in line
    )
    theirs = {setting.name for setting in SETTINGS if setting.secret and setting.restic is None}
    assert theirs == {"SMTP_PASSWORD", "WEBHOOK_URL", "WEBHOOK_HEADER_AUTH", "HEALTHCHECK_URL"}
    for name in theirs:
        assert name not in seen and f"{name}_FILE" not in seen, name
    for name, value in secrets.items():
        if name not in theirs:
            assert seen[name] == value, name


def everything_written(sandbox, mails, bodies, outputs: list[str]) -> dict[str, str]:
    """Return where -> text of every file, mail, webhook body and console output of the runs."""
    artifacts = {str(path): path.read_text(errors="replace") for path in files_under(sandbox.log_dir)}
    artifacts |= {str(path): path.read_text(errors="replace") for path in files_under(sandbox.metrics_dir)}
    artifacts |= {f"mail {index}": message.text() for index, message in enumerate(mails)}
    artifacts |= {f"webhook body {index}": request.body.decode() for index, request in enumerate(bodies)}
    artifacts |= {f"output {index}": text for index, text in enumerate(outputs)}
    return artifacts


def files_under(directory: Path) -> list[Path]:
    return [path for path in sorted(directory.rglob("*")) if path.is_file()]
