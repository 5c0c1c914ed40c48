"""compose.example.yml as users run it: `up`, the first scheduled backup with the shipped
every-minute schedule, and `/bin/unlock --dry-run`."""

import json
import re
import time

import pytest
import yaml

from tests.container.engine import ROOT, Resources, docker, logs, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SERVICE = "restic-helper"
# The shipped BACKUP_CRON fires at every full minute: at most 60 s, plus start-up and the backup.
FIRST_BACKUP_SECONDS = 75


@pytest.fixture(scope="module")
def stack(image, tmp_path_factory):
    """The example stack with only the image overridden; yields it and the time of `up`."""
    override = tmp_path_factory.mktemp("compose") / "override.yml"
    override.write_text(yaml.safe_dump({"services": {SERVICE: {"image": image}}}))
    resources = Resources(image=image)
    project = resources.compose(ROOT / "compose.example.yml", override)
    try:
        started = time.monotonic()
        project("up", "--detach", "--no-build")
        yield resources, project, started
    finally:
        resources.cleanup()


def exec_text(container: str, *command: str) -> str | None:
    completed = docker("exec", container, *command, check=False)
    return completed.stdout if completed.returncode == 0 else None


def first_backup(project, started: float) -> str:
    """Wait for the first scheduled backup to finish ok; return the service's container."""
    container = project.container(SERVICE)
    wait_until(
        lambda: '"status": "ok"' in (exec_text(container, "cat", "/var/log/last-backup.json") or ""),
        FIRST_BACKUP_SECONDS - (time.monotonic() - started),
        f"the first scheduled backup to finish ok within {FIRST_BACKUP_SECONDS} s of `up`",
        interval=1,
    )
    return container


def test_compose_up_backs_up_within_about_a_minute_with_state_and_metrics_on_volumes(stack) -> None:
    resources, project, started = stack
    container = first_backup(project, started)

    state = resources.read_json(project.volume("logs"), "last-backup.json")
    assert state["job"] == "backup"
    assert state["status"] == "ok"
    assert state["hostname"] == "restic-helper-example"
    assert state["snapshot_id"]
    metrics = resources.read(project.volume("metrics"), "restic_backup.prom")
    assert re.search(r'^restic_backup_last_success\{hostname="restic-helper-example"\} 1\.0$', metrics, re.M)
    password = (ROOT / "examples" / "secrets" / "restic_password.txt").read_text().strip()
    listing = resources.restic(project.volume("repository"), "snapshots", "--json", password=password)
    snapshots = json.loads(listing.stdout)
    assert {snapshot["hostname"] for snapshot in snapshots} == {"restic-helper-example"}
    assert any("/data" in snapshot["paths"] for snapshot in snapshots)
    assert re.search(r"backup.*finished: ok", logs(container))

    # What the docs recommend beside a running scheduler: exec, not a second container.
    forget = docker("exec", container, "/bin/forget", "--lock-wait", "2m", check=False, timeout=180)
    assert forget.returncode == 0, forget.stdout + forget.stderr
    assert json.loads(exec_text(container, "cat", "/var/log/last-forget.json"))["status"] == "ok"
    schedules = docker("exec", container, "/bin/entry", "cron-list").stdout
    assert "* * * * *" in schedules


def test_restore_by_docker_exec_brings_back_what_the_schedule_saved(stack) -> None:
    _, project, started = stack
    container = first_backup(project, started)

    restore = docker("exec", container, "/bin/restore", "--target", "/tmp/restored", "--yes", check=False)

    assert restore.returncode == 0, restore.stdout + restore.stderr
    state = json.loads(exec_text(container, "cat", "/var/log/last-restore.json"))
    assert state["status"] == "ok" and state["host_filter"] == "restic-helper-example"
    assert docker("exec", container, "diff", "-r", "/data", "/tmp/restored/data", check=False).returncode == 0


def test_unlock_dry_run_in_the_running_container_lists_locks_and_writes_its_state(stack) -> None:
    _, project, _ = stack
    container = project.container(SERVICE)
    # A restic killed with SIGKILL leaves its lock behind, exactly as a crash would.
    started = docker(
        "exec", container, "sh", "-c",
        "restic backup --stdin-from-command -- sleep 300 >/dev/null 2>&1 & echo $!",
    )  # fmt: skip
    pid = int(started.stdout.strip())

    def lock_of_pid() -> str | None:
        for lock_id in (exec_text(container, "restic", "--no-lock", "list", "locks") or "").split():
            document = exec_text(container, "restic", "--no-lock", "cat", "lock", lock_id)
            if document and json.loads(document).get("pid") == pid:
                return lock_id
        return None

    lock_id = wait_until(lock_of_pid, 30, f"a lock held by restic pid {pid}")
    docker("exec", container, "sh", "-c", f"kill -KILL {pid}")

    listing = docker("exec", container, "/bin/unlock", "--dry-run")
    assert lock_id[:8] in listing.stdout + listing.stderr
    state = json.loads(exec_text(container, "cat", "/var/log/last-unlock.json"))
    assert state["job"] == "unlock" and state["status"] == "ok"
    locks = {lock["id"]: lock for lock in state["locks"]}
    assert locks[lock_id]["verdict"] == "stale", locks[lock_id]
    assert locks[lock_id]["pid"] == pid
    # A dry run removes nothing.
    assert lock_id in (exec_text(container, "restic", "--no-lock", "list", "locks") or "")
