"""node_exporter's textfile collector, from Debian's package, serving what real runs wrote to
METRICS_DIR: the way Prometheus reads the helper."""

import subprocess
import time

import requests
import yaml

from tests.support.receivers import free_port
from tests.support.tools import ROOT, tool


def test_node_exporter_serves_the_helpers_gauges(metrics_dir):
    port = free_port()
    exporter = subprocess.Popen(
        [
            tool("prometheus-node-exporter"),
            f"--web.listen-address=127.0.0.1:{port}",
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={metrics_dir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, page = time.monotonic() + 20, ""
        while time.monotonic() < deadline:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                break
            except requests.ConnectionError:
                time.sleep(0.2)
    finally:
        exporter.terminate()
        _, errors = exporter.communicate(timeout=20)
    # A textfile it cannot parse is reported, not served: this gauge says every file was read.
    assert "node_textfile_scrape_error 0" in page, errors
    for name in ("restic_backup_last_success_timestamp", "restic_backup_expected_interval_seconds",
                 "restic_backup_running", "restic_forget_last_exit_code", "restic_locks_held",
                 "restic_backup_skipped_runs_total"):  # fmt: skip
        assert f"\n{name}{{" in page, name


def test_the_compose_example_wires_node_exporter_to_the_metrics_volume_and_the_rules():
    stack = yaml.safe_load((ROOT / "examples" / "monitoring" / "compose.yml").read_text())
    example = yaml.safe_load((ROOT / "compose.example.yml").read_text())
    exporter = stack["services"]["node-exporter"]
    assert "--collector.textfile.directory=/metrics" in exporter["command"]
    assert exporter["volumes"] == ["metrics:/metrics:ro"]
    assert "metrics" in example["volumes"], "compose.example.yml has no metrics volume to share"
    helper = next(iter(example["services"].values()))
    assert helper["environment"]["METRICS_DIR"] in {volume.split(":")[1] for volume in helper["volumes"]}
    mounted = {volume.split(":")[0] for volume in stack["services"]["prometheus"]["volumes"]}
    assert mounted == {"./examples/monitoring/prometheus.yml", "./examples/prometheus/alerts.yml"}
    assert all((ROOT / path).exists() for path in mounted)
