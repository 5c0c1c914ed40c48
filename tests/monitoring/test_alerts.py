"""examples/prometheus/alerts.yml, tested with promtool on series whose names and labels are
recorded from real runs: a renamed metric or label breaks these tests, not a user's alerting."""

import re
import subprocess
from pathlib import Path

import yaml

from tests.support.tools import ROOT

RULES = ROOT / "examples" / "prometheus" / "alerts.yml"
ANNOTATIONS = {
    rule["alert"]: rule["annotations"] for rule in yaml.safe_load(RULES.read_text())["groups"][0]["rules"]
}


def series(recorded: dict, name: str, values: str, **labels: str) -> dict:
    """An input series for promtool: a metric the helper really wrote, with its real labels."""
    merged = {**recorded[name], **labels}
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(merged.items()))
    return {"series": f"{name}{{{selector}}}", "values": values}


def rendered(text: str, labels: dict) -> str:
    """An annotation as Prometheus renders it: the rules use `{{ $labels.<name> }}` only."""
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda match: labels[match.group(1)], text)


def firing(alertname: str, at: str, recorded: dict, name: str, **labels: str) -> dict:
    """`alertname` fires at `at` on the series `name`, with its hostname and these labels."""
    expected = {"hostname": recorded[name]["hostname"], **labels}
    context = {**expected, "__name__": name}
    annotations = {key: rendered(text, context) for key, text in ANNOTATIONS[alertname].items()}
    return {
        "eval_time": at,
        "alertname": alertname,
        "exp_alerts": [{"exp_labels": expected, "exp_annotations": annotations}],
    }


def quiet(alertname: str, at: str) -> dict:
    return {"eval_time": at, "alertname": alertname, "exp_alerts": []}


def minutes(value: str, count: int) -> str:
    """A constant sampled every minute (Prometheus forgets a sample after 5 minutes)."""
    return f"{value}x{count}"


def overdue_case(recorded: dict, job: str, alertname: str, severity: str) -> dict:
    """The last success at time 0 on a daily schedule: quiet at 40 h, firing past 48 h + 15 min."""
    success, interval = f"restic_{job}_last_success_timestamp", f"restic_{job}_expected_interval_seconds"
    return {
        "interval": "1m",
        "input_series": [
            series(recorded, success, minutes("0", 3100)),
            series(recorded, interval, minutes("86400", 3100)),
        ],
        "alert_rule_test": [
            quiet(alertname, "40h"),
            firing(alertname, "50h", recorded, success, severity=severity),
        ],
    }


def cases(recorded: dict) -> list[dict]:
    status = "restic_backup_last_status"
    return [
        overdue_case(recorded, "backup", "BackupOverdue", "critical"),
        overdue_case(recorded, "forget", "ForgetOverdue", "warning"),
        overdue_case(recorded, "prune", "PruneOverdue", "warning"),
        {
            "interval": "1m",
            "input_series": [
                series(recorded, status, minutes("1", 90), status="failed"),
                series(recorded, status, minutes("0", 90), status="ok"),
            ],
            "alert_rule_test": [
                firing("BackupFailed", "1h", recorded, status, severity="warning", status="failed")
            ],
        },
        {
            "interval": "1m",
            "input_series": [series(recorded, "restic_check_last_errors_found", "0x59 " + minutes("2", 90))],
            "alert_rule_test": [
                quiet("CheckFailed", "30m"),
                firing("CheckFailed", "2h", recorded, "restic_check_last_errors_found", severity="critical"),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                series(recorded, "restic_lock_oldest_age_seconds", minutes("30000", 90)),
                series(recorded, "restic_locks_stale", minutes("1", 90)),
            ],
            "alert_rule_test": [
                firing(
                    "RepositoryLockHeldTooLong",
                    "1h",
                    recorded,
                    "restic_lock_oldest_age_seconds",
                    severity="warning",
                ),
                quiet("StaleLockPresent", "20m"),
                firing("StaleLockPresent", "1h", recorded, "restic_locks_stale", severity="warning"),
            ],
        },
        {
            # A counter: increase() reads a range, so hourly samples do.
            "interval": "1h",
            "input_series": [series(recorded, "restic_backup_skipped_runs_total", "0 1 2 3 4")],
            "alert_rule_test": [
                quiet("RunsSkippedRepeatedly", "1h"),
                firing(
                    "RunsSkippedRepeatedly",
                    "4h",
                    recorded,
                    "restic_backup_skipped_runs_total",
                    severity="warning",
                ),
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                series(recorded, "restic_restore_test_last_status", minutes("1", 90), status="failed"),
            ],
            "alert_rule_test": [
                firing(
                    "RestoreDrillFailed",
                    "1h",
                    recorded,
                    "restic_restore_test_last_status",
                    severity="critical",
                    status="failed",
                )
            ],
        },
        {
            # A run that started at time 0 and never reported: running_since stays behind.
            "interval": "1m",
            "input_series": [series(recorded, "restic_backup_running_since_timestamp", minutes("0", 1900))],
            "alert_rule_test": [
                quiet("HelperRunKilled", "20h"),
                firing(
                    "HelperRunKilled",
                    "30h",
                    recorded,
                    "restic_backup_running_since_timestamp",
                    severity="critical",
                ),
            ],
        },
    ]


def test_the_rules_are_valid(promtool):
    completed = subprocess.run([promtool, "check", "rules", str(RULES)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "SUCCESS: 10 rules found" in completed.stdout


def test_each_alert_fires_on_what_real_runs_write(promtool, recorded, tmp_path):
    test_file = tmp_path / "alerts_test.yml"
    test_file.write_text(
        yaml.safe_dump({"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": cases(recorded)})
    )
    completed = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_every_textfile_the_runs_write_passes_promtool_check_metrics(promtool, metrics_dir: Path):
    files = sorted(metrics_dir.glob("*.prom"))
    assert {path.name for path in files} >= {"restic_backup.prom", "restic_forget.prom", "restic_locks.prom"}
    for path in files:
        completed = subprocess.run(
            [promtool, "check", "metrics"], input=path.read_text(), capture_output=True, text=True
        )
        assert completed.returncode == 0, f"{path.name}: {completed.stdout}{completed.stderr}"
