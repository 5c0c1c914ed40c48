"""Container fixtures: the image, built once per session, and per-test Docker resources.

Tests marked `docker` are skipped, with the reason shown, when no Docker engine answers.
The image is built by scripts/build-image, as a developer builds it; the classic builder's
layer cache makes an unchanged rebuild take about a second.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.container.engine import LABEL, ROOT, SESSION, Resources, docker, engine_problem

IMAGE = os.environ.get("IMAGE", "restic-helper:test")
# What the image build reads; the rest of the checkout never reaches the build context.
BUILD_INPUTS = ("Dockerfile", ".dockerignore", "pyproject.toml", "helper", "bin", "scripts")


@pytest.fixture(autouse=True)
def _needs_docker(request) -> None:
    if request.node.get_closest_marker("docker"):
        request.getfixturevalue("docker_engine")


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = engine_problem()
    if problem:
        pytest.skip(f"needs a Docker engine: {problem}")


def build_context(scratch: Path) -> Path:
    """Return the directory to build from: the checkout, or a copy when README.md is missing.

    pyproject.toml names README.md, which another change adds; until it lands, the build gets
    a copy of its inputs plus a placeholder, and the checkout stays untouched.
    """
    if (ROOT / "README.md").exists():
        return ROOT
    for name in BUILD_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, scratch / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, scratch / name)
    (scratch / "README.md").write_text("# restic-helper\n")
    return scratch


@pytest.fixture(scope="session")
def image(docker_engine):
    """Build IMAGE (default restic-helper:test) with scripts/build-image; yield its name.

    Afterwards, remove whatever a crashed test left behind with this session's label.
    """
    with tempfile.TemporaryDirectory(prefix="restic-helper-build-") as scratch:
        context = build_context(Path(scratch))
        completed = subprocess.run(
            [str(context / "scripts" / "build-image")],
            env={**os.environ, "IMAGE": IMAGE},
            text=True,
            capture_output=True,
            timeout=900,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr)[-4000:]
        pytest.fail(f"scripts/build-image failed (exit {completed.returncode}):\n{output}", pytrace=False)
    yield IMAGE
    sweep(f"label={LABEL}={SESSION}")


@pytest.fixture
def resources(image: str):
    """Uniquely named containers, volumes and compose projects, removed after the test."""
    created = Resources(image=image)
    yield created
    created.cleanup()


def sweep(label_filter: str) -> None:
    containers = docker("ps", "--all", "--quiet", "--filter", label_filter, check=False).stdout.split()
    if containers:
        docker("rm", "--force", "--volumes", *containers, check=False)
    volumes = docker("volume", "ls", "--quiet", "--filter", label_filter, check=False).stdout.split()
    if volumes:
        docker("volume", "rm", "--force", *volumes, check=False)
