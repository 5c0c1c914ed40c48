"""The image under `user: "1234:0"`: a uid without a passwd entry, in group 0."""

import pytest
import yaml

from tests.container.engine import PASSWORD, ROOT, docker, state, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
USER = "1234:0"


def backed_up(container: str) -> bool:
    """Whether a backup finished ok and its reporters are done: the textfile follows the JSON."""
    completed = docker(
        "exec", container, "sh", "-c", "cat /var/log/last-backup.json && test -s /metrics/restic_backup.prom",
        check=False,
    )  # fmt: skip
    return completed.returncode == 0 and '"status": "ok"' in completed.stdout


def test_non_root_container_initialises_backs_up_and_writes_logs_locks_cache_and_metrics(resources) -> None:
    repository = resources.volume("repository")
    metrics = resources.volume("metrics")
    container = resources.start(
        "non-root", "--user", USER, "-v", f"{repository}:/mnt/restic", "-v", f"{metrics}:/metrics",
        resources.image,
        environment={
            "RESTIC_PASSWORD": PASSWORD,
            "RESTIC_REPOSITORY": "/mnt/restic",
            "RESTIC_CHECK_REPOSITORY_STATUS": "ON",
            "BACKUP_ROOT_DIR": "/usr/share/zoneinfo/Europe",
            "BACKUP_CRON": "*/3 * * * * *",
            "METRICS_DIR": "/metrics",
        },
    )  # fmt: skip

    wait_until(lambda: backed_up(container), 60, "a scheduled backup by uid 1234 to finish ok")
    owners = docker(
        "exec", container, "sh", "-c",
        "stat -c '%u %n' /var/log/last-backup.json /var/log/backup-last.log /metrics/restic_backup.prom"
        " /var/run/restic-helper/* /mnt/restic/config"
        " && find /var/cache/restic -type f -user 1234 | head -n 1",
    ).stdout.splitlines()  # fmt: skip
    written = dict(line.split(" ", 1)[::-1] for line in owners if " " in line)
    assert written.pop("/var/log/last-backup.json") == "1234"
    assert written.pop("/var/log/backup-last.log") == "1234"
    assert written.pop("/metrics/restic_backup.prom") == "1234"
    assert written.pop("/mnt/restic/config") == "1234"
    assert any(path.startswith("/var/run/restic-helper/") for path in written), owners
    assert set(written.values()) == {"1234"}, owners
    assert any(line.startswith("/var/cache/restic/") for line in owners), "restic wrote no cache as uid 1234"

    manual = docker("exec", container, "/bin/backup", check=False)
    assert manual.returncode == 0, manual.stdout + manual.stderr

    docker("stop", "--time", "30", container, timeout=90)
    assert state(container)["ExitCode"] == 0


def test_compose_example_runs_unchanged_as_non_root_on_fresh_named_volumes(resources, tmp_path) -> None:
    # Only the user, the image and the pace change; the volumes are the example's, new.
    service = {"image": resources.image, "user": USER, "environment": {"BACKUP_CRON": "*/3 * * * * *"}}
    (tmp_path / "override.yml").write_text(yaml.safe_dump({"services": {"restic-helper": service}}))
    project = resources.compose(ROOT / "compose.example.yml", tmp_path / "override.yml")
    project("up", "--detach", "--no-build")
    container = project.container("restic-helper")

    wait_until(lambda: backed_up(container), 60, "a scheduled backup of the compose example as uid 1234")
    owners = docker(
        "exec", container, "stat", "-c", "%u", "/var/log/last-backup.json", "/metrics/restic_backup.prom",
        "/mnt/restic/config",
    ).stdout.split()  # fmt: skip
    assert owners == ["1234"] * 3, owners
