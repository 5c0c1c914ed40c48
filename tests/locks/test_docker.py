"""LOCK_DOCKER_AWARE: a lock whose hostname is a stopped or destroyed container of this Docker
engine is stale; a running container's lock is judged as usual. Needs a Docker engine with
at least one image; skipped otherwise."""

import contextlib
import json

import pytest

from tests.locks.conftest import output

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def plain_first(tag: str) -> int:
    """Prefer small base images, which have `sleep` and no entrypoint of their own."""
    return next(
        (rank for rank, name in enumerate(("busybox", "alpine", "debian")) if tag.startswith(name)), 9
    )


@pytest.fixture
def engine():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # any engine problem means: not here
        pytest.skip(f"no Docker engine: {error}")
    tags = sorted((tag for image in client.images.list() for tag in image.tags), key=plain_first)
    if not tags:
        pytest.skip("the Docker engine has no tagged image to create containers from")
    created = []

    def container(**options):
        made = client.containers.create(tags[0], entrypoint=["sleep", "60"], **options)
        created.append(made)
        return made

    yield client, container
    for made in created:
        with contextlib.suppress(docker.errors.NotFound):
            made.remove(force=True)


def verdict(shared, lock_id: str, **overrides) -> dict:
    completed = shared.helper("host-b", "unlock", "--dry-run", "--json", **overrides)
    assert completed.returncode == 0, output(completed)
    return next(lock for lock in json.loads(completed.stdout) if lock["id"] == lock_id)


def test_a_lock_from_a_stopped_container_is_stale(shared, engine):
    _, container = engine
    stopped = container(hostname="lock-box-stopped")
    holder = shared.hold("lock-box-stopped")
    holder.kill()
    assert verdict(shared, holder.lock_id)["verdict"] == "live"  # young, and Docker not asked
    aware = verdict(shared, holder.lock_id, LOCK_DOCKER_AWARE="ON")
    assert aware["verdict"] == "stale" and "stopped container" in aware["reason"]
    stopped.start()
    assert verdict(shared, holder.lock_id, LOCK_DOCKER_AWARE="ON")["verdict"] == "live"


def test_a_lock_from_a_destroyed_container_is_stale(shared, engine):
    _, container = engine
    doomed = container()
    hostname = doomed.id[:12]  # Docker's default hostname
    holder = shared.hold(hostname)
    holder.kill()
    doomed.remove(force=True)
    aware = verdict(shared, holder.lock_id, LOCK_DOCKER_AWARE="ON")
    assert aware["verdict"] == "stale" and "destroyed container" in aware["reason"]


def test_an_unreachable_engine_is_noted_and_changes_nothing(shared):
    holder = shared.hold("host-a")
    holder.kill()
    completed = shared.helper(
        "host-b", "unlock", "--dry-run", LOCK_DOCKER_AWARE="ON", DOCKER_HOST="unix:///nonexistent"
    )
    assert completed.returncode == 0, output(completed)
    assert "no answer from the Docker engine" in completed.stdout
    assert "live" in completed.stdout
