"""Runs that end within milliseconds still leave their whole audit trail.

Such a run reaches its reporters while the libraries they need may still be loading in the
background, so each case is repeated: a race shows up in some runs only.
"""

import pytest

from tests.core.conftest import output

REPEATS = 6


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_a_missing_repository_still_writes_metrics(sandbox, attempt):
    missing = sandbox.root / "no-such-repository"
    completed = sandbox.helper("check", RESTIC_REPOSITORY=str(missing))
    assert completed.returncode == 10, output(completed)
    assert "reporter failed" not in output(completed)
    text = (sandbox.metrics_dir / "restic_check.prom").read_text()
    assert 'restic_check_last_exit_code{hostname="' in text
    assert sandbox.last_json("check")["exit_code"] == 10


@pytest.mark.parametrize("attempt", range(REPEATS))
def test_a_skipping_pre_hook_still_writes_metrics(sandbox, attempt):
    sandbox.hook("pre-check.sh", "exit 75\n")
    completed = sandbox.helper("check")
    assert completed.returncode == 0, output(completed)
    assert "reporter failed" not in output(completed)
    text = (sandbox.metrics_dir / "restic_check.prom").read_text()
    assert "restic_check_skipped_runs_total" in text
    assert sandbox.last_json("check")["status"] == "skipped"
