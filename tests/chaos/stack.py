"""The campaign's stack on the local Docker engine: a REST repository (Debian's
restic-rest-server), backup nodes and one maintenance owner built from the helper's image, and
an observer container that reads the repository, all on one private network. Each host has its
own hostname and its log folder bind-mounted from the campaign's work folder, so its
`events.jsonl` and `last-<job>.json` are read as files, and outlive its restarts."""

import contextlib
import os
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.container.engine import LABEL, PASSWORD, docker, environment_flags

HERE = Path(__file__).resolve().parent
REST_IMAGE = "restic-helper-chaos-rest:latest"
REPOSITORY = "rest:http://rest:8000/repo"
# restic's retention as the owner applies it; the snapshot invariant knows it.
KEEP_LAST = 5
LOG_IN_CONTAINER = "/logs"
# The scaled image's observation window: a lock unchanged for this long is proven stale.
OBSERVATION_WINDOW_SECONDS = 45
# The scaled helper assumes restic rewrites its lock every 10 s, but the real restic in it
# rewrites it every 5 minutes: in the campaign, a lock stays unchanged for its whole run. Every
# run is therefore ended by its time limit (and the stop's escalation after 0.8 of the grace)
# while a pause on top of it still keeps the lock younger than the window; a replay with
# 90-second limits had another host remove a slow prune's live lock after 50 s.
STOP_GRACE_SECONDS = 6
RUN_TIME_LIMIT_SECONDS = 20


@dataclass
class Host:
    name: str  # the hostname, as restic records it in snapshots and locks
    container: str
    role: str  # "node" or "owner"
    logs: Path
    data: Path
    small_logs: bool = False  # LOG_DIR on a small tmpfs: the full-disk fault fills it


@dataclass
class Stack:
    image: str  # the time-scaled image of the helper
    work: Path
    name: str = field(default_factory=lambda: "chaos-" + uuid.uuid4().hex[:8])
    hosts: list[Host] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)

    @property
    def network(self) -> str:
        return self.name

    @property
    def rest(self) -> str:
        return f"{self.name}-rest"

    @property
    def observer(self) -> str:
        return f"{self.name}-observer"

    @property
    def rest_host(self) -> Host:
        """The REST server as a target of faults; it has no logs or data of its own here."""
        return Host("rest", self.rest, "rest", self.work / "rest", self.work / "rest")

    def host(self, name: str) -> Host:
        return next(host for host in self.hosts if host.name == name)


def build_image(dockerfile: str, tag: str, *arguments: str) -> str:
    """Build one of the test images of this folder (the network reaches Debian's packages)."""
    docker("build", "--network", "host", "-q", "-t", tag, "-f", str(HERE / dockerfile), *arguments, str(HERE),
           timeout=900)  # fmt: skip
    return tag


def build_images(helper_image: str) -> str:
    """Build the REST server's image and the time-scaled helper image; return the latter's tag."""
    build_image("rest-server.Dockerfile", REST_IMAGE)
    scaled = f"{helper_image.rsplit(':', 1)[0]}:chaos"
    return build_image("scaled.Dockerfile", scaled, "--build-arg", f"IMAGE={helper_image}")


def common_environment() -> dict[str, str]:
    return {
        "RESTIC_REPOSITORY": REPOSITORY,
        "RESTIC_PASSWORD": PASSWORD,
        "TZ": "UTC",
        "LOG_DIR": LOG_IN_CONTAINER,
        "METRICS_DIR": f"{LOG_IN_CONTAINER}/metrics",
        "LOCK_DIR": f"{LOG_IN_CONTAINER}/lock",
        "SCHEDULE_LOCK_WAIT": "20s",
        "RESTIC_LOCK_RETRY_AFTER": "2s",
        "LOCK_OBSERVATION_WINDOW": f"{OBSERVATION_WINDOW_SECONDS}s",
        # The multi-host pattern of docs/locks.md, scaled: a blocking lock proven stale goes.
        "LOCK_FORCE_INACTIVE": "ON",
        "RESTIC_STALE_LOCK_AGE": "10s",
        "STOP_GRACE_SECONDS": str(STOP_GRACE_SECONDS),
        **{f"{job}_TIMEOUT": f"{RUN_TIME_LIMIT_SECONDS}s" for job in ("BACKUP", "FORGET", "PRUNE", "CHECK")},
        "BACKUP_CRON": "",
    }


def node_environment(index: int) -> dict[str, str]:
    # Every 4 s, each node on its own second, so the nodes meet each other and the owner.
    return {"BACKUP_CRON": f"{index % 4}-59/4 * * * * *", "BACKUP_ROOT_DIR": "/data"}


OWNER_ENVIRONMENT = {
    "FORGET_CRON": "*/15 * * * * *",
    "PRUNE_CRON": "7,37 * * * * *",
    "CHECK_CRON": "22 * * * * *",
    "FORGET_SCOPE": "repository",
    "RESTIC_FORGET_ARGS": f"--keep-last {KEEP_LAST}",
    # At this pace a forget the faults held up for a minute removes most snapshots of a day's
    # worth: a refusal there is the guard doing its job, but not what the campaign is about.
    "FORGET_MAX_REMOVE_PERCENT": "0",
}


def start(stack: Stack, nodes: int) -> None:
    """Create the network, the repository and every host; raise on any failure."""
    docker("network", "create", "--label", LABEL, stack.network)
    run_detached(stack, stack.rest, "rest", REST_IMAGE, [], ())
    run_detached(stack, stack.observer, "observer", stack.image, ["--entrypoint", "sleep"], ("infinity",),
                 common_environment())  # fmt: skip
    observe(stack, "init")
    for index in range(1, nodes + 1):
        add_host(stack, f"node-{index}", "node", node_environment(index), small_logs=index == nodes)
    add_host(stack, "owner", "owner", OWNER_ENVIRONMENT)


def add_host(
    stack: Stack, name: str, role: str, environment: dict[str, str], small_logs: bool = False
) -> None:
    logs, data = stack.work / name / "logs", stack.work / name / "data"
    for path in (logs, data):
        path.mkdir(parents=True)
    if small_logs and not mount_small_tmpfs(logs):
        small_logs = False
    (data / "seed.txt").write_text(f"{name} " * 1000)
    host = Host(name, f"{stack.name}-{name}", role, logs, data, small_logs)
    stack.hosts.append(host)
    mounts = ["-v", f"{logs}:{LOG_IN_CONTAINER}", "-v", f"{data}:/data:ro"]
    run_detached(
        stack, host.container, name, stack.image, mounts, (), {**common_environment(), **environment}
    )


def mount_small_tmpfs(path: Path) -> bool:
    """A 4 MiB tmpfs on `path`, for the full-disk fault; False where mounting is not allowed."""
    completed = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)],
                               capture_output=True, check=False)  # fmt: skip
    return completed.returncode == 0


def run_detached(stack, container, hostname, image, options, command, environment=None) -> None:
    docker("run", "-d", "--name", container, "--hostname", hostname, "--network", stack.network,
           "--network-alias", hostname, "--label", LABEL, *options,
           *environment_flags(environment or {}), image, *command)  # fmt: skip
    stack.containers.append(container)


def observe(stack: Stack, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run restic in the observer (no lock unless the command needs one) and return it."""
    return docker("exec", stack.observer, "restic", *arguments, timeout=timeout, check=False)


def in_host(host: Host, *command: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return docker("exec", host.container, *command, timeout=timeout, check=False)


def scheduler_log(host: Host) -> str:
    """The container's output since it was created, across restarts, with Docker's timestamps."""
    completed = docker("logs", "--timestamps", host.container, check=False, timeout=60)
    return completed.stdout + completed.stderr


def tear_down(stack: Stack) -> None:
    for container in reversed(stack.containers):
        docker("rm", "-f", "-v", container, check=False, timeout=60)
    docker("network", "rm", stack.network, check=False)
    for host in stack.hosts:
        if host.small_logs:
            subprocess.run(["umount", str(host.logs)], capture_output=True, check=False)


@contextlib.contextmanager
def running(helper_image: str, work: Path, nodes: int):
    """Yield a started Stack; always tear it down."""
    stack = Stack(build_images(helper_image), work)
    os.makedirs(work, exist_ok=True)
    try:
        start(stack, nodes)
        yield stack
    finally:
        tear_down(stack)
