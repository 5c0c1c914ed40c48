"""Driving the Docker CLI from tests, as an operator would: containers, volumes and compose
projects, each named uniquely and removed afterwards."""

import functools
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "container-test-password"
# Every resource a test creates carries this label, so a crashed session leaves findable leftovers.
LABEL = "org.restic-helper.test"
SESSION = uuid.uuid4().hex[:12]


def docker(*arguments: str, check: bool = True, timeout: float = 120, **run) -> subprocess.CompletedProcess:
    """Run `docker <arguments>` and return the completed process (text, captured output)."""
    completed = subprocess.run(
        ["docker", *arguments],
        text=True,
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
        **run,
    )
    if check and completed.returncode != 0:
        output = completed.stdout + completed.stderr
        raise AssertionError(f"docker {' '.join(arguments)} exited {completed.returncode}:\n{output}")
    return completed


def engine_problem() -> str | None:
    """Return why no Docker engine can be used, or None when one answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        completed = docker("version", "--format", "{{.Server.Version}}", check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if completed.returncode != 0:
        return f"no Docker engine reachable: {completed.stderr.strip() or completed.stdout.strip()}"
    return None


@functools.cache
def compose_command() -> tuple[str, ...] | None:
    """Return the compose CLI: the `docker compose` plugin when it works, else `docker-compose`."""
    try:
        if docker("compose", "version", check=False, timeout=20).returncode == 0:
            return ("docker", "compose")
    except subprocess.TimeoutExpired:
        pass
    return ("docker-compose",) if shutil.which("docker-compose") else None


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.5) -> object:
    """Poll `predicate` until it returns something truthy; return it, or fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def environment_flags(environment: dict[str, str]) -> list[str]:
    return [flag for key, value in environment.items() for flag in ("-e", f"{key}={value}")]


@dataclass
class Compose:
    """One compose project with a unique name, driven through the compose CLI."""

    command: tuple[str, ...]
    project: str
    files: tuple[Path, ...]

    def __call__(
        self, *arguments: str, check: bool = True, timeout: float = 180
    ) -> subprocess.CompletedProcess:
        argv = [*self.command, "--project-name", self.project]
        for file in self.files:
            argv += ["--file", str(file)]
        completed = subprocess.run(
            [*argv, *arguments],
            text=True,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
            cwd=ROOT,
        )
        if check and completed.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv[-2:])} {' '.join(arguments)} exited {completed.returncode}:\n"
                f"{completed.stdout}{completed.stderr}"
            )
        return completed

    def container(self, service: str) -> str:
        """Return the id of the service's (first) container."""
        identifier = self("ps", "-q", service).stdout.split()
        assert identifier, f"no container for service {service}"
        return identifier[0]

    def volume(self, name: str) -> str:
        """Return the engine's name of the project's named volume `name`."""
        return f"{self.project}_{name}"


@dataclass
class Resources:
    """Names for one test's containers, volumes and compose projects, and their removal."""

    image: str
    session: str = SESSION
    prefix: str = field(default_factory=lambda: f"rhtest-{uuid.uuid4().hex[:8]}")
    containers: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    projects: list[Compose] = field(default_factory=list)

    def name(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    def volume(self, role: str) -> str:
        name = self.name(role)
        docker("volume", "create", "--label", f"{LABEL}={self.session}", name)
        self.volumes.append(name)
        return name

    def start(self, role: str, *arguments: str, environment: dict[str, str] | None = None) -> str:
        """`docker run -d` a container named after `role`; return its name."""
        name = self.name(role)
        self.containers.append(name)
        docker(
            "run", "-d", "--name", name, "--label", f"{LABEL}={self.session}",
            *environment_flags(environment or {}), *arguments,
        )  # fmt: skip
        return name

    def run(
        self, *arguments: str, environment: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess:
        """`docker run --rm` to completion; return the completed process whatever its exit code."""
        return docker(
            "run", "--rm", "--label", f"{LABEL}={self.session}",
            *environment_flags(environment or {}), *arguments,
            check=False, timeout=timeout,
        )  # fmt: skip

    def compose(self, *files: Path) -> Compose:
        command = compose_command()
        assert command, "no compose CLI (neither `docker compose` nor docker-compose)"
        project = Compose(command, self.prefix, files)
        self.projects.append(project)
        return project

    def read(self, volume: str, path: str) -> str | None:
        """Return a file's text from a volume, read by a throw-away container; None when absent."""
        completed = self.run(
            "-v", f"{volume}:/volume:ro", "--entrypoint", "cat", self.image, f"/volume/{path.lstrip('/')}"
        )
        return completed.stdout if completed.returncode == 0 else None

    def read_json(self, volume: str, path: str) -> dict | None:
        text = self.read(volume, path)
        return json.loads(text) if text else None

    def restic(self, volume: str, *arguments: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        """Run plain restic (not the helper) against the repository on `volume`."""
        return self.run(
            "-v", f"{volume}:/mnt/restic", "--entrypoint", "restic", self.image,
            "--repo", "/mnt/restic", "--no-lock", *arguments,
            environment={"RESTIC_PASSWORD": password},
        )  # fmt: skip

    def cleanup(self) -> None:
        for project in self.projects:
            project("down", "--volumes", "--remove-orphans", "--timeout", "1", check=False)
        if self.containers:
            docker("rm", "--force", "--volumes", *self.containers, check=False)
        if self.volumes:
            docker("volume", "rm", "--force", *self.volumes, check=False)


def logs(container: str) -> str:
    completed = docker("logs", container, check=False)
    return completed.stdout + completed.stderr


def state(container: str) -> dict:
    return json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)


def lock_ids(resources: Resources, volume: str) -> list[str]:
    completed = resources.restic(volume, "list", "locks")
    assert completed.returncode == 0, completed.stderr
    return completed.stdout.split()
