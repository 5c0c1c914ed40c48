"""What the shell image's users rely on in the image itself: its defaults (RESTIC_REPOSITORY,
RCLONE_CONFIG, the /.cache/restic cache volume) and NFS_TARGET; and the guard that never creates
a repository which would vanish with the container."""

import pytest

from tests.container.engine import PASSWORD, docker, wait_until

pytestmark = pytest.mark.docker
NO_SCHEDULE = {"RESTIC_PASSWORD": PASSWORD, "BACKUP_CRON": "", "ROTATE_LOG_CRON": ""}


def output(completed) -> str:
    return completed.stdout + completed.stderr


def test_the_probe_never_creates_a_repository_in_the_containers_own_layer(resources) -> None:
    # The shell image's compose files put the repository on /mnt/restic; forgetting the volume
    # used to give backups that "succeed" into the container's writable layer.
    completed = resources.run(resources.image, environment=NO_SCHEDULE, timeout=60)

    assert completed.returncode == 2, output(completed)
    assert "writable layer" in output(completed) and "RESTIC_ALLOW_EPHEMERAL_REPOSITORY" in output(completed)
    assert "created the repository" not in output(completed)


def test_init_repo_refuses_memory_and_the_layer_unless_allowed(resources) -> None:
    in_memory = resources.run(
        "--tmpfs", "/mnt/restic", resources.image, "init-repo", "--yes", environment=NO_SCHEDULE
    )
    in_layer = resources.run(resources.image, "init-repo", "--yes", environment=NO_SCHEDULE)
    allowed = resources.run(
        resources.image, "init-repo", "--yes",
        environment={**NO_SCHEDULE, "RESTIC_ALLOW_EPHEMERAL_REPOSITORY": "ON"},
    )  # fmt: skip

    assert in_memory.returncode == 2 and "tmpfs" in output(in_memory), output(in_memory)
    assert in_layer.returncode == 2 and "writable layer" in output(in_layer), output(in_layer)
    assert allowed.returncode == 0, output(allowed)


def test_on_a_volume_the_probe_creates_it_and_plain_restic_finds_it_without_repo_flags(resources) -> None:
    repository = resources.volume("repository")
    container = resources.start(
        "scheduler", "-v", f"{repository}:/mnt/restic", resources.image, environment=NO_SCHEDULE
    )
    wait_until(
        lambda: "created the repository" in output(docker("logs", container, check=False)),
        60,
        "the probe's init",
    )
    # RESTIC_REPOSITORY is exported by the image, as the shell image did: `docker exec c restic …`.
    snapshots = docker("exec", container, "restic", "snapshots", "--no-lock", check=False)
    assert snapshots.returncode == 0, output(snapshots)


def test_nfs_target_without_the_right_to_mount_refuses_to_start(resources) -> None:
    completed = resources.run(resources.image, environment={**NO_SCHEDULE, "NFS_TARGET": "nas:/export"})

    assert completed.returncode == 2, output(completed)
    assert "CAP_SYS_ADMIN" in output(completed) and "driver_opts" in output(completed)


def test_nfs_target_that_cannot_be_mounted_stops_the_container(resources) -> None:
    completed = resources.run(
        "--cap-add", "SYS_ADMIN", resources.image,
        environment={**NO_SCHEDULE, "NFS_TARGET": "nfs-server.invalid:/export"}, timeout=120,
    )  # fmt: skip

    assert completed.returncode == 1, output(completed)
    assert "NFS_TARGET: cannot mount nfs-server.invalid:/export on /mnt/restic" in output(completed)


def test_a_cache_volume_on_the_shell_images_path_is_used(resources) -> None:
    repository, cache = resources.volume("repository"), resources.volume("cache")
    assert resources.restic(repository, "init").returncode == 0
    completed = resources.run(
        "-v", f"{repository}:/mnt/restic", "-v", f"{cache}:/.cache/restic", resources.image, "backup",
        environment={**NO_SCHEDULE, "BACKUP_ROOT_DIR": "/etc/ssl"},
    )  # fmt: skip

    assert completed.returncode == 0, output(completed)
    assert resources.read(cache, "CACHEDIR.TAG") is not None


def test_an_rclone_repository_reads_the_default_rclone_config(resources) -> None:
    # /config/rclone.conf is where the shell image told rclone to look; an `rclone:` repository
    # configured there works with no RCLONE_CONFIG in the compose file.
    config, storage, logs = resources.volume("config"), resources.volume("storage"), resources.volume("logs")
    write = resources.run(
        "-v", f"{config}:/config", "--entrypoint", "sh", resources.image, "-c",
        "printf '[nas]\\ntype = alias\\nremote = /storage\\n' > /config/rclone.conf",
    )  # fmt: skip
    assert write.returncode == 0, output(write)
    mounts = ("-v", f"{config}:/config", "-v", f"{storage}:/storage", "-v", f"{logs}:/var/log")
    environment = {**NO_SCHEDULE, "RESTIC_REPOSITORY": "rclone:nas:repo", "BACKUP_ROOT_DIR": "/etc/ssl"}
    initialised = resources.run(*mounts, resources.image, "init-repo", "--yes", environment=environment)
    backed_up = resources.run(*mounts, resources.image, "backup", environment=environment)

    assert initialised.returncode == 0, output(initialised)
    assert backed_up.returncode == 0, output(backed_up)
    assert resources.read_json(logs, "last-backup.json")["snapshot_id"]
    on_storage = resources.run(
        "-v", f"{storage}:/storage", "--entrypoint", "test", resources.image, "-s", "/storage/repo/config"
    )
    assert on_storage.returncode == 0, "the repository is not where the rclone remote points"
