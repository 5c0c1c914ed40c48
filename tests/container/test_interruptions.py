"""`docker stop` and `docker kill` in the middle of a backup, and what each leaves in the repository."""

import json
import os
import time

import pytest

from tests.container.engine import PASSWORD, docker, lock_ids, state, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
GRACE_SECONDS = 20
# A backup that runs until it is stopped: restic reads the stdout of a command that never ends.
# The command ignores SIGINT, as a file tree would: the SIGINT meant for restic reaches its whole
# process group, and a command that died of it first would make restic exit 1, not 130.
ENDLESS_BACKUP = {
    "RESTIC_PASSWORD": PASSWORD,
    "RESTIC_REPOSITORY": "/mnt/restic",
    "BACKUP_ROOT_DIR": "",
    "RESTIC_JOB_ARGS": """--stdin-from-command -- sh -c 'trap "" INT; exec sleep 3600'""",
    "STOP_GRACE_SECONDS": str(GRACE_SECONDS),
}
DOCKER_SOCKET = "/var/run/docker.sock"


@pytest.fixture
def repository(resources) -> str:
    volume = resources.volume("repository")
    completed = resources.restic(volume, "init")
    assert completed.returncode == 0, completed.stderr
    return volume


def start_endless_backup(
    resources, role: str, repository: str, logs: str, *command: str, **environment
) -> str:
    """Start a container whose backup never ends; return its name once restic holds its lock."""
    container = resources.start(
        role, "-v", f"{repository}:/mnt/restic", "-v", f"{logs}:/var/log", resources.image, *command,
        environment={**ENDLESS_BACKUP, **environment},
    )  # fmt: skip

    def has_lock() -> bool:
        listing = docker("exec", container, "restic", "--no-lock", "list", "locks", check=False)
        return bool(listing.stdout.split())

    wait_until(has_lock, 60, f"the backup in {role} to take its repository lock")
    return container


@pytest.mark.parametrize(
    ("mode", "command", "environment", "expected_exit"),
    [
        ("scheduler", (), {"BACKUP_CRON": "*/2 * * * * *"}, 0),
        ("one-shot", ("backup",), {}, 130),
    ],
)
def test_docker_stop_during_a_backup_exits_within_the_grace_period_and_leaves_no_lock(
    resources, repository, mode, command, environment, expected_exit
) -> None:
    logs = resources.volume("logs")
    container = start_endless_backup(resources, mode, repository, logs, *command, **environment)

    started = time.monotonic()
    docker("stop", "--time", str(GRACE_SECONDS + 20), container, timeout=GRACE_SECONDS + 60)
    elapsed = time.monotonic() - started

    assert elapsed < GRACE_SECONDS, f"docker stop took {elapsed:.1f}s"
    final = state(container)
    assert final["ExitCode"] == expected_exit, final
    assert lock_ids(resources, repository) == []
    backup = resources.read_json(logs, "last-backup.json")
    assert backup["status"] == "interrupted", backup


def test_docker_kill_during_a_backup_leaves_a_stale_lock_that_the_container_rule_proves_and_forget_clears(
    resources, repository
) -> None:
    if not os.path.exists(DOCKER_SOCKET):
        pytest.skip(f"the Docker engine is not at {DOCKER_SOCKET}, which the other container needs")
    killed = start_endless_backup(resources, "killed", repository, resources.volume("killed-logs"), "backup")
    killed_hostname = docker("inspect", "--format", "{{.Config.Hostname}}", killed).stdout.strip()
    docker("kill", killed)
    wait_until(lambda: not state(killed)["Running"], 20, "the killed container to stop")
    (stale_id,) = lock_ids(resources, repository)

    other_logs = resources.volume("other-logs")

    def other_container(*command: str, socket: bool = True, **environment: str):
        mounts = ["-v", f"{DOCKER_SOCKET}:{DOCKER_SOCKET}"] if socket else []
        mounts += ["-v", f"{repository}:/mnt/restic", "-v", f"{other_logs}:/var/log"]
        return resources.run(
            *mounts, resources.image, *command,
            environment={"RESTIC_PASSWORD": PASSWORD, "LOCK_DOCKER_AWARE": "ON", **environment},
        )  # fmt: skip

    def verdict(socket: bool) -> dict:
        completed = other_container("unlock", "--dry-run", "--json", socket=socket)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        return {lock["id"]: lock for lock in json.loads(completed.stdout)}[stale_id]

    # Without the engine's view, a young lock of another host cannot be proven stale.
    blind = verdict(socket=False)
    assert blind["hostname"] == killed_hostname
    assert blind["verdict"] != "stale", blind
    seen = verdict(socket=True)
    assert seen["verdict"] == "stale", seen
    assert "container" in seen["reason"], seen

    forget = other_container(
        "forget",
        RESTIC_FORGET_ARGS="--keep-last 1",
        FORGET_SCOPE="repository",
        LOCK_FORCE_INACTIVE="ON",
        RESTIC_STALE_LOCK_AGE="1s",
    )
    assert forget.returncode == 0, forget.stdout + forget.stderr
    # Skipping on exit 11 would also exit 0: the run must really have forgotten.
    state_document = resources.read_json(other_logs, "last-forget.json")
    assert state_document["status"] == "ok" and state_document["restic_exit_code"] == 0, state_document
    assert lock_ids(resources, repository) == []
