"""The fault campaign from the command line: N hosts of the built image back up to one shared
REST repository while faults hit them, then every invariant is checked (see
tests/chaos/campaign.py and docs/reliability.md).

    python3 bench/chaos.py [--profile short|long] [--seconds N] [--seed N] [--image restic-helper:latest]

It needs a Docker engine, root (for the full-disk fault's tmpfs; without it that fault is left
out) and the helper's image. Exit 0 when no invariant was violated, 1 otherwise.
"""

import argparse
import dataclasses
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.chaos import campaign  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", choices=sorted(campaign.PROFILES), default="short")
    parser.add_argument("--seconds", type=float, help="how long to inject faults (default: the profile's)")
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(2**31))
    parser.add_argument("--image", default="restic-helper:latest")
    parser.add_argument("--keep", type=Path, help="keep the hosts' logs in this folder")
    options = parser.parse_args()
    profile = campaign.PROFILES[options.profile]
    if options.seconds:
        profile = dataclasses.replace(profile, seconds=options.seconds)
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        work = options.keep or Path(scratch)
        figures, violations = campaign.run(profile, options.seed, options.image, work)
    print(campaign.table(figures, violations))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
