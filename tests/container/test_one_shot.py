"""`docker run --rm IMAGE forget`: one worker run, its exit code, and no scheduler."""

import time

import pytest

from helper.heartbeat import FILE_NAME as HEARTBEAT
from tests.container.engine import PASSWORD

pytestmark = pytest.mark.docker
# If a one-shot run started the scheduler, this would fire a backup every second.
TEMPTING_SCHEDULE = {"BACKUP_CRON": "* * * * * *", "RESTIC_CHECK_REPOSITORY_STATUS": "ON"}


@pytest.fixture
def repository(resources) -> str:
    volume = resources.volume("repository")
    completed = resources.restic(volume, "init")
    assert completed.returncode == 0, completed.stderr
    return volume


def one_shot(resources, repository: str, logs: str, *command: str, **environment: str):
    return resources.run(
        "-v", f"{repository}:/mnt/restic", "-v", f"{logs}:/var/log", resources.image, *command,
        environment={"RESTIC_PASSWORD": PASSWORD, **TEMPTING_SCHEDULE, **environment},
    )  # fmt: skip


def test_one_shot_forget_without_a_policy_exits_2_and_starts_no_scheduler(resources, repository) -> None:
    logs = resources.volume("logs")
    started = time.monotonic()
    completed = one_shot(resources, repository, logs, "forget")
    elapsed = time.monotonic() - started

    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "RESTIC_FORGET_ARGS" in completed.stdout + completed.stderr
    assert resources.read_json(logs, "last-forget.json")["exit_code"] == 2
    assert resources.read(logs, "last-backup.json") is None
    assert resources.read(logs, HEARTBEAT) is None
    assert elapsed < 15


def test_one_shot_forget_with_a_policy_exits_0_and_starts_no_scheduler(resources, repository) -> None:
    logs = resources.volume("logs")
    completed = one_shot(
        resources, repository, logs, "forget", RESTIC_FORGET_ARGS="--keep-last 3", FORGET_SCOPE="repository"
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    state = resources.read_json(logs, "last-forget.json")
    assert state["status"] == "ok" and state["restic_exit_code"] == 0
    assert resources.read(logs, "last-backup.json") is None
    assert resources.read(logs, HEARTBEAT) is None


def test_one_shot_worker_given_as_bin_path_runs_the_same_worker(resources, repository) -> None:
    logs = resources.volume("logs")
    completed = one_shot(resources, repository, logs, "/bin/check")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert resources.read_json(logs, "last-check.json")["status"] == "ok"
    assert resources.read(logs, "last-backup.json") is None


def test_one_shot_run_never_initialises_a_missing_repository(resources) -> None:
    empty = resources.volume("empty-repository")
    logs = resources.volume("logs")
    completed = one_shot(resources, empty, logs, "forget", RESTIC_FORGET_ARGS="--keep-last 3")

    assert completed.returncode == 10, completed.stdout + completed.stderr
    listing = resources.run(
        "-v", f"{empty}:/repository", "--entrypoint", "ls", resources.image, "-A", "/repository"
    )
    assert listing.stdout.strip() == ""
