"""The executables and their command line: --help everywhere, usage errors exit 2."""

import subprocess

import pytest

from helper.workers import NAMES as WORKERS
from tests.core.conftest import ROOT, output


@pytest.mark.parametrize("command", [*WORKERS, "locked_run"])
def test_every_bin_executable_has_help(sandbox, command):
    completed = subprocess.run(
        [str(ROOT / "bin" / command), "--help"], env=sandbox.env, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, output(completed)
    assert completed.stdout.startswith("usage: ")
    assert "--lock-wait" in completed.stdout or command == "locked_run"


@pytest.mark.parametrize("command", WORKERS)
def test_an_unknown_flag_is_a_usage_error(sandbox, command):
    completed = sandbox.helper(command, "--no-such-flag")
    assert completed.returncode == 2
    assert "unrecognized arguments: --no-such-flag" in completed.stderr
    assert "Traceback" not in output(completed)
    assert not (sandbox.log_dir / f"last-{command}.json").exists()


def test_a_bad_lock_wait_names_the_flag(sandbox):
    completed = sandbox.helper("backup", "--lock-wait", "soon")
    assert completed.returncode == 2
    assert "--lock-wait" in completed.stderr
    assert "Traceback" not in output(completed)


def test_unknown_command_and_no_command_exit_2(sandbox):
    unknown = sandbox.helper("restore-everything")
    assert unknown.returncode == 2
    assert "unknown command 'restore-everything'" in unknown.stderr
    assert sandbox.helper().returncode == 2
    assert sandbox.helper("--help").returncode == 0
