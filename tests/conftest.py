"""Fixtures: a real restic repository per test and a way to run the helper as users do."""

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.tools import tool

PASSWORD = "correct-horse-battery-staple"
# Variables a developer's shell may carry that would leak into the helper under test.
FOREIGN_PREFIXES = (
    "RESTIC_",
    "BACKUP_",
    "FORGET_",
    "PRUNE_",
    "CHECK_",
    "MAILX_",
    "SMTP_",
    "WEBHOOK_",
    "HOOK",
    "LOCK_",
    "LOG_DIR",
    "METRICS_DIR",
    "SCHEDULE_",
    "MISSED_",
    "TZ",
    "AWS_",
    "B2_",
    "AZURE_",
    "OS_",
    "STOP_GRACE",
    "ENV_FILE",
    "TEMPLATES_DIR",
    "REPLICATE_",
    "SYNC_",
    "RCLONE_",
)


@pytest.fixture(scope="session")
def restic_bin() -> str:
    return tool("restic")


@pytest.fixture(scope="session")
def template_repository(tmp_path_factory, restic_bin: str) -> Path:
    """One `restic init` per session: its key derivation costs about a second each time."""
    path = tmp_path_factory.mktemp("template") / "repo"
    subprocess.run(
        [restic_bin, "init", "--repo", str(path)],
        check=True,
        capture_output=True,
        env={**clean_environment(), "RESTIC_PASSWORD": PASSWORD},
    )
    return path


@dataclass
class Sandbox:
    """One isolated helper installation: repository, source data, logs, hooks, locks."""

    root: Path
    env: dict

    @property
    def log_dir(self) -> Path:
        return Path(self.env["LOG_DIR"])

    @property
    def hooks_dir(self) -> Path:
        return Path(self.env["HOOKS_DIR"])

    @property
    def metrics_dir(self) -> Path:
        return Path(self.env["METRICS_DIR"])

    @property
    def source(self) -> Path:
        return Path(self.env["BACKUP_ROOT_DIR"])

    def helper(self, *arguments: str, timeout: float = 120, **overrides) -> subprocess.CompletedProcess:
        """Run `python -m helper <arguments>` as bin/<command> would, with env overrides."""
        env = {**self.env, **{key: str(value) for key, value in overrides.items()}}
        return subprocess.run(
            [sys.executable, "-m", "helper", *arguments],
            env=env,
            text=True,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def restic(self, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.env["RESTIC_BIN"], *arguments],
            env=self.env,
            text=True,
            capture_output=True,
            check=check,
            timeout=120,
        )

    def lock_ids(self, **overrides) -> list[str]:
        """The repository's lock ids, read without taking a lock."""
        env = {**self.env, **{key: str(value) for key, value in overrides.items()}}
        return lock_ids(env)

    def last_json(self, job: str) -> dict:
        import json

        return json.loads((self.log_dir / f"last-{job}.json").read_text())

    def hook(self, name: str, script: str) -> Path:
        path = self.hooks_dir / name
        path.write_text("#!/bin/sh\n" + script)
        path.chmod(0o755)
        return path


def lock_ids(env: dict) -> list[str]:
    completed = subprocess.run(
        [env["RESTIC_BIN"], "list", "locks", "--no-lock"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.split()


def clean_environment() -> dict:
    return {key: value for key, value in os.environ.items() if not key.startswith(FOREIGN_PREFIXES)}


@pytest.fixture
def sandbox(tmp_path: Path, restic_bin: str, template_repository: Path) -> Sandbox:
    """A fresh initialised repository plus a small source tree and private helper dirs."""
    return make_sandbox(tmp_path, restic_bin, template_repository)


def make_sandbox(tmp_path: Path, restic_bin: str, template_repository: Path) -> Sandbox:
    source = tmp_path / "source"
    (source / "docs").mkdir(parents=True)
    (source / "docs" / "a.txt").write_text("alpha\n")
    (source / "b.bin").write_bytes(os.urandom(4096))
    for name in ("log", "hooks", "lock", "metrics", "cache"):
        (tmp_path / name).mkdir()
    env = {
        **clean_environment(),
        "RESTIC_REPOSITORY": str(tmp_path / "repo"),
        "RESTIC_PASSWORD": PASSWORD,
        "RESTIC_BIN": restic_bin,
        "RESTIC_CACHE_DIR": str(tmp_path / "cache"),
        "BACKUP_ROOT_DIR": str(source),
        "LOG_DIR": str(tmp_path / "log"),
        "HOOKS_DIR": str(tmp_path / "hooks"),
        "LOCK_DIR": str(tmp_path / "lock"),
        "METRICS_DIR": str(tmp_path / "metrics"),
        "TZ": "UTC",
        "PATH": f"{Path(restic_bin).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    shutil.copytree(template_repository, tmp_path / "repo")
    return Sandbox(tmp_path, env)
