"""Runs that end within milliseconds still leave their whole audit trail."""

from tests.core.conftest import output


def test_a_missing_repository_still_writes_metrics(sandbox):
    missing = sandbox.root / "no-such-repository"
    completed = sandbox.helper("check", RESTIC_REPOSITORY=str(missing))
    assert completed.returncode == 10, output(completed)
    assert "reporter failed" not in output(completed)
    text = (sandbox.metrics_dir / "restic_check.prom").read_text()
    assert 'restic_check_last_exit_code{hostname="' in text
    assert sandbox.last_json("check")["exit_code"] == 10


def test_a_skipping_pre_hook_still_writes_metrics(sandbox):
    sandbox.hook("pre-check.sh", "exit 75\n")
    completed = sandbox.helper("check")
    assert completed.returncode == 0, output(completed)
    assert "reporter failed" not in output(completed)
    text = (sandbox.metrics_dir / "restic_check.prom").read_text()
    assert "restic_check_skipped_runs_total" in text
    assert sandbox.last_json("check")["status"] == "skipped"
