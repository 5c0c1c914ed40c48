"""The shortest path through the product: one backup with every local reporter on."""


def test_backup_writes_json_log_and_metrics(sandbox):
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = sandbox.last_json("backup")
    assert document["status"] == "ok"
    assert len(document["snapshot_id"]) == 64
    assert (sandbox.log_dir / "backup-last.log").read_text()
    assert "restic_backup_last_success" in (sandbox.metrics_dir / "restic_backup.prom").read_text()
