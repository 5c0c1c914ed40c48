"""The restore side inside the built image, by `docker exec` as operators run it: the drill,
the export and a FUSE mount (given the device), and the mount's refusal without it."""

import json

import pytest

from tests.container.engine import PASSWORD, docker, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FUSE = ["--device", "/dev/fuse", "--cap-add", "SYS_ADMIN", "--security-opt", "apparmor:unconfined"]
SERVICE = {
    "RESTIC_PASSWORD": PASSWORD,
    "RESTIC_REPOSITORY": "/mnt/restic",
    "RESTIC_CHECK_REPOSITORY_STATUS": "ON",
    "BACKUP_ROOT_DIR": "/usr/share/zoneinfo/Europe",
    "BACKUP_CRON": "",
    "HOSTNAME": "restore-side",
}


def exec_json(container: str, *command: str) -> tuple[int, dict, str]:
    """Run a command in the container; return its exit code, its last-<job>.json and its output."""
    completed = docker("exec", container, *command, check=False, timeout=180)
    job = command[0].removeprefix("/bin/")
    document = docker("exec", container, "cat", f"/var/log/last-{job}.json", check=False).stdout
    return completed.returncode, json.loads(document or "{}"), completed.stdout + completed.stderr


def started(resources, role: str, *options: str) -> str:
    # The repository on a volume: the probe never creates one in the container's own layer.
    repository = resources.volume(f"{role}-repository")
    container = resources.start(
        role, "--hostname", "restore-side", "-v", f"{repository}:/mnt/restic", *options, resources.image,
        environment=SERVICE,
    )  # fmt: skip
    wait_until(
        lambda: "scheduler ready" in docker("logs", container, check=False).stdout,
        60,
        "the scheduler to start",
    )
    assert docker("exec", container, "/bin/backup", check=False).returncode == 0
    return container


def test_drill_and_export_run_inside_the_image(resources) -> None:
    container = started(resources, "restore-side")

    code, drill, text = exec_json(container, "/bin/restore-test", "--sample", "5", "--verify")
    assert code == 0, text
    assert (drill["verification"], drill["sample_checked"], drill["cleanup_status"]) == (
        "passed",
        5,
        "cleaned",
    )
    assert drill["files_restored"] > 20

    code, export, text = exec_json(
        container, "/bin/snapshot-export", "--output", "/restore/europe.tar.gz", "--verify"
    )
    assert code == 0, text
    listing = docker("exec", container, "tar", "tzf", "/restore/europe.tar.gz").stdout.split()
    assert "usr/share/zoneinfo/Europe/Amsterdam" in listing and export["verified"] is True

    code, mount, text = exec_json(container, "/bin/mount-snapshot")
    assert code == 2 and mount["exit_code"] == 2, text
    assert "--device /dev/fuse" in text and "--cap-add SYS_ADMIN" in text, text


def test_a_mount_in_a_container_given_fuse_serves_the_snapshot_until_stopped(resources) -> None:
    container = started(resources, "mounted", *FUSE)
    docker("exec", "-d", container, "/bin/mount-snapshot")
    amsterdam = "/fusemount/snapshots/latest/usr/share/zoneinfo/Europe/Amsterdam"
    wait_until(
        lambda: docker("exec", container, "test", "-f", amsterdam, check=False).returncode == 0,
        60,
        "the snapshot to appear under /fusemount",
    )
    docker("exec", container, "pkill", "-TERM", "-f", "helper mount-snapshot")
    wait_until(
        lambda: (
            '"unmounted": true'
            in docker("exec", container, "cat", "/var/log/last-mount-snapshot.json", check=False).stdout
        ),
        60,
        "mount-snapshot to finish",
    )
    document = json.loads(docker("exec", container, "cat", "/var/log/last-mount-snapshot.json").stdout)
    assert (document["status"], document["exit_code"]) == ("ok", 0)
    assert "/fusemount" not in docker("exec", container, "cat", "/proc/mounts").stdout
