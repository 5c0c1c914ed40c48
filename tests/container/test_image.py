"""The built image's own properties: labels, entry point, health check, volume, the workers,
the tools restic needs, and no build tools left behind."""

import json
import re
import subprocess

import pytest

from tests.container.engine import ROOT, docker

pytestmark = pytest.mark.docker
WORKERS = ("backup", "forget", "prune", "check", "unlock", "locked_run", "entry", "healthcheck")
BUILD_TOOLS = ("pip", "setuptools", "wheel")


@pytest.fixture(scope="module")
def config(image: str) -> dict:
    return json.loads(docker("image", "inspect", "--format", "{{json .Config}}", image).stdout)


def run_shell(image: str, script: str):
    return docker("run", "--rm", "--entrypoint", "sh", image, "-c", script, check=False)


def test_image_labels_name_the_release_license_and_revision(config) -> None:
    labels = config["Labels"]
    environment = dict(variable.split("=", 1) for variable in config["Env"])
    release = environment["RESTIC_BACKUP_HELPER_RELEASE"]
    assert release and labels["org.opencontainers.image.version"] == release
    assert labels["org.opencontainers.image.title"] == "restic-helper"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", labels["org.opencontainers.image.created"])
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode == 0:
        assert labels["org.opencontainers.image.revision"] == head.stdout.strip()
    # Labels whose value is unknown are left out, never set empty.
    assert all(value for value in labels.values()), labels


def test_image_runs_the_entry_with_a_health_check_and_a_data_volume(config) -> None:
    assert config["Entrypoint"] == ["/bin/entry"]
    assert config["Healthcheck"]["Test"] == ["CMD", "/bin/healthcheck"]
    assert list(config["Volumes"]) == ["/data"]


def test_image_has_the_workers_restic_018_rclone_and_ssh(image: str) -> None:
    workers = " ".join(f"/bin/{worker}" for worker in WORKERS)
    listing = run_shell(image, f"for f in {workers}; do test -x $f && echo $f; done")
    assert listing.stdout.split() == [f"/bin/{worker}" for worker in WORKERS]
    versions = run_shell(image, "restic version && rclone version && ssh -V 2>&1")
    assert versions.returncode == 0, versions.stderr
    assert re.search(r"^restic 0\.18\.", versions.stdout, re.M), versions.stdout
    assert re.search(r"^rclone v\d", versions.stdout, re.M), versions.stdout
    assert "OpenSSH" in versions.stdout


@pytest.mark.parametrize("module", BUILD_TOOLS)
def test_image_keeps_no_python_build_tools(image: str, module: str) -> None:
    completed = run_shell(image, f"python3 -c 'import {module}'")
    assert completed.returncode == 1 and "ModuleNotFoundError" in completed.stderr, completed


def test_image_keeps_no_compiler(image: str) -> None:
    completed = run_shell(image, "command -v gcc cc pip pip3 || true")
    assert completed.stdout.strip() == ""
