"""examples/grafana/dashboard.json: valid JSON whose every query reads metrics the helper
really writes (recorded from real runs), so a renamed metric empties no panel unnoticed."""

import json
import re

from tests.support.tools import ROOT

DASHBOARD = ROOT / "examples" / "grafana" / "dashboard.json"
PROMQL_FUNCTIONS = {"time", "increase"}


def test_every_query_names_a_metric_the_runs_wrote(recorded):
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(queries) >= 10
    for query in queries:
        for pattern in re.findall(r'__name__=~"([^"]+)"', query):
            assert any(re.fullmatch(pattern, name) for name in recorded), f"{pattern} matches nothing written"
        for name in re.findall(r"\b(restic_[a-z_]+)\b(?![^{]*\")", query):
            assert name in recorded, f"{query}: {name} is not a metric the helper writes"
    assert {panel["gridPos"]["w"] <= 24 for panel in dashboard["panels"]} == {True}
