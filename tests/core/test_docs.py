"""The documentation: the environment reference never drifts from the settings table, and the
mkdocs site builds without a warning."""

import subprocess
import sys

import pytest

from helper.workers import settings_table
from tests.core.conftest import ROOT

REFERENCE = ROOT / "docs" / "reference" / "environment.md"


def test_environment_reference_matches_the_settings_table():
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen-env-docs"), "--stdout"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert REFERENCE.read_text(encoding="utf-8") == generated, (
        "run scripts/gen-env-docs and commit the result"
    )
    for setting in settings_table():  # the jobs' *_CRON schedules included
        assert f"| `{setting.name}` |" in generated


def test_the_drift_check_fails_on_a_stale_reference(tmp_path):
    """--check must be able to fail, or the test above proves nothing about CI."""
    script = (ROOT / "scripts" / "gen-env-docs").read_text()
    copy = tmp_path / "scripts" / "gen-env-docs"
    copy.parent.mkdir()
    copy.write_text(script)
    (tmp_path / "helper").symlink_to(ROOT / "helper")
    (tmp_path / "docs" / "reference").mkdir(parents=True)
    (tmp_path / "docs" / "reference" / "environment.md").write_text("# stale\n")
    stale = subprocess.run([sys.executable, str(copy), "--check"], capture_output=True, text=True)
    assert stale.returncode == 1
    assert "out of date" in stale.stderr
    assert subprocess.run([sys.executable, str(copy)], check=False).returncode == 0
    assert subprocess.run([sys.executable, str(copy), "--check"], check=False).returncode == 0


def test_mkdocs_builds_strictly(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the test extra: pip install -e '.[test]'")
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert (tmp_path / "site" / "reference" / "environment" / "index.html").exists()
