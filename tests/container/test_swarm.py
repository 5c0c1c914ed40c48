"""examples/swarm/stack.yml on a real single-node Docker Swarm, with the locally built image.

The test starts a swarm when the engine has none and leaves the engine as it found it. It
deploys the example with an override for the test's pace (second-resolution schedules, three
backup replicas each with its own stable hostname, an attachable network), then proves:
backups from every replica land under their own hostnames; forget, prune and check run on the
owner only; a rolling restart drains without leaving a lock; and a task killed mid-backup is
restarted by Swarm under the same hostname, where the rules prove its old lock stale.
The routing mesh is not used (no published port, `endpoint_mode: dnsrr`)."""

import json
import subprocess
import time
import uuid

import pytest
import yaml

from tests.container.engine import LABEL, PASSWORD, ROOT, docker, wait_until

pytestmark = pytest.mark.docker
REPLICAS = 3
SLOW_BACKUP = {
    "BACKUP_ROOT_DIR": "",
    "RESTIC_JOB_ARGS": "--stdin-filename data.tar --stdin-from-command -- "
    "sh -c 'sleep 6; exec tar -cf - -C /data .'",
}


@pytest.fixture(scope="module")
def swarm(docker_engine):
    """A swarm manager: the engine's own, or one this fixture starts and leaves again."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    started = False
    if state == "inactive":
        joined = docker("swarm", "init", "--advertise-addr", "127.0.0.1", check=False, timeout=60)
        if joined.returncode != 0:
            pytest.skip(f"swarm mode is not available: {joined.stderr.strip()}")
        started = True
    elif state != "active":
        pytest.skip(f"the engine's swarm is {state!r}")
    node = docker("info", "--format", "{{.Swarm.NodeID}}").stdout.strip()
    docker("node", "update", "--label-add", "restic-server=true", node)
    try:
        yield node
    finally:
        docker("node", "update", "--label-rm", "restic-server", node, check=False)
        if started:
            docker("swarm", "leave", "--force", check=False, timeout=60)


def pace(image: str, data: str, secret: str) -> dict:
    """The override: the test's image and pace, nothing about the stack's shape but the
    backup replicas (a single node runs one task in global mode)."""
    fast = {
        "TZ": "UTC",
        "STOP_GRACE_SECONDS": "8",
        "SCHEDULE_LOCK_WAIT": "30s",
        "RESTIC_LOCK_RETRY_AFTER": "2s",
    }
    # Swarm counts a task as up once it is healthy: check every 2 s rather than the image's 30.
    task = {
        "stop_grace_period": "12s",
        "image": image,
        "healthcheck": {"interval": "2s", "start_period": "30s"},
    }
    restart = {"restart_policy": {"condition": "any", "delay": "1s"}, "endpoint_mode": "dnsrr"}
    return {
        "version": "3.8",
        "services": {
            "restic-server": {"image": image, "deploy": {"endpoint_mode": "dnsrr"}},
            "backup": {
                **task,
                "hostname": "backup-{{.Task.Slot}}",
                # Each backup holds its lock for seconds, so a kill can land in the middle of one.
                "environment": {**fast, "BACKUP_CRON": "*/8 * * * * *", **SLOW_BACKUP},
                "volumes": [{"type": "bind", "source": data, "target": "/data", "read_only": True}],
                "deploy": {"mode": "replicated", "replicas": REPLICAS, **restart},
            },
            "maintenance": {
                **task,
                "environment": {
                    **fast,
                    "FORGET_CRON": "*/20 * * * * *",
                    "PRUNE_CRON": "5/20 * * * * *",
                    "CHECK_CRON": "10/20 * * * * *",
                    "RESTIC_CHECK_ARGS": "",
                },
                "deploy": restart,
            },
        },
        "networks": {"backup": {"driver": "overlay", "attachable": True}},
        "secrets": {"restic_password": {"external": True, "name": secret}},
    }


@pytest.fixture(scope="module")
def stack(swarm, image, tmp_path_factory):
    name = "rh" + uuid.uuid4().hex[:6]
    work = tmp_path_factory.mktemp("swarm")
    (work / "data").mkdir()
    (work / "data" / "file.txt").write_text("swarm data\n" * 100)
    secret = f"{name}_password"
    (work / "password").write_text(PASSWORD)
    docker("secret", "create", "--label", LABEL, secret, str(work / "password"))
    override = work / "override.yml"
    override.write_text(yaml.safe_dump(pace(image, str(work / "data"), secret)))
    example = ROOT / "examples" / "swarm" / "stack.yml"
    docker("stack", "deploy", "--resolve-image", "never", "-c", str(example), "-c", str(override), name,
           timeout=120)  # fmt: skip
    try:
        yield name
    finally:
        docker("stack", "rm", name, check=False, timeout=120)
        namespace = f"label=com.docker.stack.namespace={name}"
        wait_until(
            lambda: not docker("ps", "-aq", "--filter", namespace).stdout.strip(), 120, "the stack to go"
        )
        docker("secret", "rm", secret, check=False)
        docker("network", "rm", f"{name}_backup", check=False)
        docker("volume", "rm", f"{name}_repository", check=False)


def in_repository(stack: str, image: str, *arguments: str) -> subprocess.CompletedProcess:
    """restic against the stack's repository, from a container on its network."""
    repository = [
        "-e",
        "RESTIC_REPOSITORY=rest:http://restic-server:8000/",
        "-e",
        f"RESTIC_PASSWORD={PASSWORD}",
    ]
    network = ["--network", f"{stack}_backup"]
    return docker(
        "run", "--rm", *network, *repository, "--entrypoint", "restic", image, *arguments, check=False
    )


def restic(stack: str, image: str, *arguments: str) -> str:
    return in_repository(stack, image, *arguments).stdout


def tasks(stack: str, service: str) -> dict[str, str]:
    """hostname -> container id of the service's running tasks."""
    ids = docker(
        "ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack}_{service}"
    ).stdout.split()
    return {docker("exec", cid, "hostname").stdout.strip(): cid for cid in ids}


def events_in(container: str) -> list[dict]:
    text = docker("exec", container, "cat", "/var/log/events.jsonl", check=False).stdout
    return [json.loads(line) for line in text.splitlines()]


def snapshot_hosts(stack: str, image: str) -> set[str]:
    return {
        s["hostname"] for s in json.loads(restic(stack, image, "snapshots", "--no-lock", "--json") or "[]")
    }


def test_the_example_stack_backs_up_every_replica_and_keeps_maintenance_on_the_owner(stack, image):
    wanted = {f"backup-{slot}" for slot in range(1, REPLICAS + 1)}
    wait_until(lambda: wanted <= snapshot_hosts(stack, image), 240, "a snapshot from every replica")
    wait_until(lambda: {"forget", "prune", "check"} <= started_jobs(tasks(stack, "maintenance")), 150,
               "forget, prune and check on the owner")  # fmt: skip
    backups = tasks(stack, "backup")
    assert set(backups) == wanted
    assert started_jobs(backups) == {"backup"}


def started_jobs(containers: dict[str, str]) -> set[str]:
    return {e["job"] for cid in containers.values() for e in events_in(cid) if e["event"] == "started"}


def test_a_rolling_restart_drains_without_leaving_a_lock(stack, image):
    wait_until(lambda: snapshot_hosts(stack, image), 240, "a first snapshot")
    seen = set(restic(stack, image, "list", "locks", "--no-lock").split())
    for service in ("backup", "maintenance"):
        updating = docker("service", "update", "--force", "--detach=false", f"{stack}_{service}", timeout=300)
        assert updating.returncode == 0, updating.stderr
    # Every run the update stopped got SIGINT and removed its own lock; a run it had to kill
    # would have left one. Locks of the runs after it come and go every few seconds.
    seen |= set(restic(stack, image, "list", "locks", "--no-lock").split())
    time.sleep(15)  # longer than a backup, which holds its lock about 7 s
    assert not seen & set(restic(stack, image, "list", "locks", "--no-lock").split())


def test_a_killed_task_comes_back_under_its_hostname_and_proves_its_old_lock_stale(stack, image):
    victim = "backup-2"
    wait_until(lambda: victim in snapshot_hosts(stack, image), 240, f"a snapshot of {victim}")
    for _attempt in range(3):  # a kill can land just after restic released its lock
        lock = wait_until(lambda: lock_of(stack, image, victim), 60, f"{victim} holding a lock")
        killed = tasks(stack, "backup")[victim]
        docker("kill", killed)
        wait_until(
            lambda gone=killed: tasks(stack, "backup").get(victim, gone) != gone,
            120,
            f"Swarm to restart {victim}",
        )
        if lock in restic(stack, image, "list", "locks", "--no-lock").split():
            break
    else:
        pytest.fail(f"each of 3 kills of {victim} landed after restic had released its lock")
    new_task = tasks(stack, "backup")[victim]
    seen = json.loads(docker("exec", new_task, "/bin/unlock", "--dry-run", "--json").stdout)
    verdicts = {entry["id"]: entry for entry in seen}
    assert verdicts[lock]["verdict"] == "stale", verdicts[lock]
    (owner_task,) = tasks(stack, "maintenance").values()
    owner = json.loads(docker("exec", owner_task, "/bin/unlock", "--dry-run", "--json").stdout)
    assert {entry["id"]: entry for entry in owner}.get(lock, {}).get("verdict") != "stale"
    docker("exec", new_task, "/bin/unlock")
    assert lock not in restic(stack, image, "list", "locks", "--no-lock").split()


def lock_of(stack: str, image: str, hostname: str) -> str | None:
    """The id of a lock that `hostname` holds now, or None."""
    for lock_id in restic(stack, image, "list", "locks", "--no-lock").split():
        shown = in_repository(stack, image, "cat", "lock", lock_id, "--no-lock")
        if shown.returncode == 0 and json.loads(shown.stdout).get("hostname") == hostname:
            return lock_id
    return None
