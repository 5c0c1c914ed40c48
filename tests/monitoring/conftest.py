"""Metrics recorded from real runs of the helper, for the monitoring assets' tests: a sandbox
runs backup, forget, prune, check, a restore drill, a dry unlock and a skip, and the .prom
files they leave are what the alert rules, promtool and node_exporter are tested against."""

import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_sandbox
from tests.support.tools import tool

SCHEDULES = {
    "BACKUP_CRON": "0 3 * * *",
    "FORGET_CRON": "0 4 * * *",
    "PRUNE_CRON": "0 5 * * 0",
    "CHECK_CRON": "0 6 * * 0",
    "RESTORE_TEST_CRON": "0 7 1 * *",
    "RESTIC_FORGET_ARGS": "--keep-last 3",
}


@pytest.fixture(scope="module")
def metrics_dir(tmp_path_factory, restic_bin, template_repository) -> Path:
    sandbox = make_sandbox(tmp_path_factory.mktemp("recorded"), restic_bin, template_repository)
    # Two backups: the churn ratio needs a parent snapshot.
    for arguments in (
        ["backup"],
        ["backup"],
        ["forget"],
        ["prune"],
        ["check"],
        ["restore-test"],
        ["unlock", "--dry-run"],
    ):
        completed = sandbox.helper(*arguments, **SCHEDULES)
        assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(sandbox.root / "lock" / "run.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert sandbox.helper("backup", **SCHEDULES).returncode == 0  # skipped: counted
    killed_mid_run(sandbox)
    return sandbox.metrics_dir


def killed_mid_run(sandbox) -> None:
    """A backup killed outright while its pre-hook holds it: what the OOM killer leaves."""
    marker = sandbox.root / "hook-started"
    sandbox.hook("pre-backup.sh", f"touch {marker}\nexec sleep 30\n")
    run = subprocess.Popen(
        [sys.executable, "-m", "helper", "backup"], env={**sandbox.env, **SCHEDULES}, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    (sandbox.hooks_dir / "pre-backup.sh").unlink()


@pytest.fixture(scope="module")
def recorded(metrics_dir) -> dict[str, dict[str, str]]:
    """Every sample name the runs wrote -> the labels of its first sample."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, dict[str, str]] = {}
    for path in sorted(metrics_dir.glob("*.prom")):
        for family in text_string_to_metric_families(path.read_text()):
            for sample in family.samples:
                samples.setdefault(sample.name, dict(sample.labels))
    return samples


@pytest.fixture(scope="session")
def promtool() -> str:
    return tool("promtool")
