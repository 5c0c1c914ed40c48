"""A Docker Swarm of several nodes on one machine, for the node-loss scenario: each node is
Debian's Docker engine in a container (swarm-node.Dockerfile), on two networks of the local
engine. `control` carries the swarm's own traffic; `storage` reaches the REST repository, a
container beside the swarm, and an observer that runs restic against it. Cutting a node off
`control` loses it to the managers while it still reaches the repository: Swarm then starts
its replicated tasks on other nodes, and the old ones run on."""

import contextlib
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tests.chaos.stack import REST_IMAGE, build_image
from tests.container.engine import LABEL, PASSWORD, SESSION, docker, wait_until

NODE_IMAGE = "restic-helper-swarm-node:latest"
# What --privileged grants, but for CAP_SYS_RESOURCE, which an engine that itself runs in a
# restricted sandbox cannot hand on (its `--privileged` fails there).
NODE_FLAGS = (
    "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
    "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
    "--security-opt", "systempaths=unconfined", "--cgroupns", "private",
)  # fmt: skip
SECRET = "restic_password"
TAG = ("--label", f"{LABEL}={SESSION}")


@dataclass
class Cluster:
    helper_image: str
    name: str = field(default_factory=lambda: "swarm-" + uuid.uuid4().hex[:6])
    nodes: list[str] = field(default_factory=list)  # container names, which are their hostnames
    repository: str = ""
    started_in: float = 0.0  # seconds from nothing to a swarm with the image on every node

    @property
    def control(self) -> str:
        return f"{self.name}-control"

    @property
    def storage(self) -> str:
        return f"{self.name}-storage"

    @property
    def observer(self) -> str:
        return f"{self.name}-observer"

    @property
    def manager(self) -> str:
        return self.nodes[0]

    def on(self, node: str, *arguments: str, timeout: float = 120, check: bool = True):
        """Run the Docker CLI of `node` against its own engine."""
        return docker("exec", node, "docker", *arguments, timeout=timeout, check=check)

    def task_container(self, node: str, service: str) -> str | None:
        """The id of the running container of `service` on `node`, or None."""
        found = self.on(node, "ps", "-q", "--filter", f"name={service}.", check=False).stdout.split()
        return found[0] if found else None

    def running_tasks(self, service: str) -> dict[str, str]:
        """node -> current state of the service's tasks the managers want running."""
        listed = self.on(self.manager, "service", "ps", service, "--filter", "desired-state=running",
                         "--format", "{{.Node}} {{.CurrentState}}", check=False)  # fmt: skip
        return dict(line.split(" ", 1) for line in listed.stdout.splitlines() if " " in line)

    def cut_off(self, node: str) -> None:
        docker("network", "disconnect", self.control, node)

    def reconnect(self, node: str) -> None:
        docker("network", "connect", self.control, node, check=False)

    def restic(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """restic against the repository, from the observer beside the swarm."""
        return docker("exec", self.observer, "restic", *arguments, timeout=timeout, check=False)


def address(container: str, network: str) -> str:
    template = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return docker("inspect", "-f", template, container).stdout.strip()


def start_node(cluster: Cluster, index: int) -> None:
    node = f"{cluster.name}-node-{index}"
    cluster.nodes.append(node)  # before it exists, so that a failed start is removed too
    docker("run", "-d", "--name", node, "--hostname", node, "--network", cluster.control, *TAG,
           *NODE_FLAGS, NODE_IMAGE)  # fmt: skip
    docker("network", "connect", cluster.storage, node)
    wait_until(lambda: cluster.on(node, "info", check=False).returncode == 0, 60, f"the engine of {node}")
    # The backup service binds each node's /srv/data.
    docker("exec", node, "sh", "-c", "mkdir -p /srv/data && seq 1 20000 > /srv/data/numbers.txt")


def form_swarm(cluster: Cluster) -> None:
    manager = cluster.manager
    cluster.on(manager, "swarm", "init", "--advertise-addr", address(manager, cluster.control))
    token = cluster.on(manager, "swarm", "join-token", "-q", "worker").stdout.strip()
    for node in cluster.nodes[1:]:
        cluster.on(node, "swarm", "join", "--token", token, f"{address(manager, cluster.control)}:2377")
    docker("exec", manager, "sh", "-c", f"printf %s '{PASSWORD}' | docker secret create {SECRET} -")


def load_image(cluster: Cluster) -> None:
    """The helper's image in every node's engine: there is no registry to pull it from."""
    with tempfile.NamedTemporaryFile(suffix=".tar") as archive:
        docker("save", "-o", archive.name, cluster.helper_image, timeout=300)

        def load(node: str) -> None:
            with open(archive.name, "rb") as stream:
                subprocess.run(["docker", "exec", "-i", node, "docker", "load"], stdin=stream,
                               capture_output=True, check=True, timeout=600)  # fmt: skip

        with ThreadPoolExecutor(len(cluster.nodes)) as pool:
            list(pool.map(load, cluster.nodes))


def start_repository(cluster: Cluster) -> None:
    """The REST server and the observer on the storage network; the repository initialised."""
    rest, image = f"{cluster.name}-rest", build_image("rest-server.Dockerfile", REST_IMAGE)
    docker("run", "-d", "--name", rest, "--network", cluster.storage, *TAG, image)
    cluster.repository = f"rest:http://{address(rest, cluster.storage)}:8000/repo"
    docker("run", "-d", "--name", cluster.observer, "--network", cluster.storage, *TAG,
           "-e", f"RESTIC_PASSWORD={PASSWORD}", "-e", f"RESTIC_REPOSITORY={cluster.repository}",
           "--entrypoint", "sleep", cluster.helper_image, "infinity")  # fmt: skip
    wait_until(lambda: cluster.restic("init").returncode == 0, 60, "restic init", interval=2)


def start(cluster: Cluster, count: int) -> None:
    build_image("swarm-node.Dockerfile", NODE_IMAGE)
    for network in (cluster.control, cluster.storage):
        docker("network", "create", *TAG, network)
    start_repository(cluster)
    for index in range(1, count + 1):
        start_node(cluster, index)
    form_swarm(cluster)
    load_image(cluster)


def tear_down(cluster: Cluster) -> None:
    containers = [*cluster.nodes, f"{cluster.name}-rest", cluster.observer]
    docker("rm", "-f", "-v", *containers, check=False, timeout=180)
    for network in (cluster.control, cluster.storage):
        docker("network", "rm", network, check=False)


@contextlib.contextmanager
def running(helper_image: str, count: int = 3):
    """Yield a started Cluster of `count` nodes, the first its manager; always tear it down."""
    if count < 3:
        raise ValueError("node loss needs a manager and two workers: 3 nodes at least")
    cluster = Cluster(helper_image)
    started = time.monotonic()
    try:
        start(cluster, count)
        cluster.started_in = time.monotonic() - started
        yield cluster
    finally:
        tear_down(cluster)
