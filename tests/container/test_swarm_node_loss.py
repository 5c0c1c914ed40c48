"""examples/swarm/stack.yml on a three-node swarm (tests/chaos/swarm_nodes.py: three Docker
engines in containers), and the loss of the maintenance owner's node: Swarm starts a second
owner while the first still runs, cut off from the managers but not from the repository. The
second owner must not take the first one's live lock for stale (tests/chaos/node_loss.py)."""

import pytest

from tests.chaos import node_loss, swarm_nodes
from tests.container.engine import docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_a_second_owner_started_by_node_loss_keeps_the_first_owners_live_lock(image):
    probe = docker("run", "--rm", *swarm_nodes.NODE_FLAGS, "--entrypoint", "true", image, check=False)
    if probe.returncode != 0:
        pytest.skip(f"this engine cannot run a Docker engine in a container: {probe.stderr.strip()}")
    with swarm_nodes.running(image) as cluster:
        figures, violations = node_loss.run(cluster, shared_hostname=False)
    print(figures)
    assert violations == [], (violations, figures)
    # Live, or unknown until observed long enough: never stale while its restic runs.
    assert figures["the old owner's lock, to the new owner"].startswith(("live", "unknown")), figures
    assert figures["old owner's restic alive after the unlock"] and figures["live locks removed"] == 0
