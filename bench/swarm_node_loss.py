"""Node loss on a multi-node Docker Swarm on this machine (tests/chaos/node_loss.py): three
nodes, each Debian's Docker engine in a container, run examples/swarm/stack.yml; the
maintenance owner's node loses the managers but not the repository, Swarm starts a second
owner, and that owner's /bin/unlock judges the first owner's live lock.

    python3 bench/swarm_node_loss.py [--shared-hostname] [--image restic-helper:latest]

--shared-hostname gives every owner task one hostname, as the example did before: the second
owner then removes the first one's live lock, and this exits 1. Exit 0 when no invariant was
violated.
"""

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos import node_loss, swarm_nodes  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-hostname", action="store_true", help="one hostname for every owner task")
    parser.add_argument("--image", default="restic-helper:latest")
    parser.add_argument("--nodes", type=int, default=3)
    options = parser.parse_args()
    with swarm_nodes.running(options.image, options.nodes) as cluster:
        print(f"{options.nodes} nodes in a swarm, the image on each, in {cluster.started_in:.0f}s")
        figures, violations = node_loss.run(cluster, options.shared_hostname)
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"violations: {len(violations)}")
    for violation in violations:
        print(f"  - {violation}")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
