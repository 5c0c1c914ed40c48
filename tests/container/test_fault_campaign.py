"""The short fault campaign (tests/chaos/campaign.py), in CI: about a hundred faults in under
two minutes against three backup nodes and one owner sharing a REST repository, and not
one invariant violated."""

import os

import pytest

from tests.chaos import campaign

pytestmark = pytest.mark.docker

# A fixed seed, so a failure in CI replays on a developer's machine; `bench/chaos.py` draws new ones.
SEED = int(os.environ.get("CHAOS_SEED", "20261204"))


def test_the_short_campaign_violates_no_invariant(image, tmp_path):
    figures, violations = campaign.run(campaign.PROFILES["short"], SEED, image, tmp_path, say=print)
    print(campaign.table(figures, violations))
    injected = sum(n for kind, n in figures["faults"].items() if kind not in campaign.ACTIONS)
    assert injected >= 100, campaign.table(figures, violations)
    assert violations == [], campaign.table(figures, violations)
