"""Start-up cost: a run imports the heavy libraries only when it uses them."""

import pytest

HEAVY = ("jinja2", "requests", "prometheus_client", "smtplib", "email.message", "docker", "croniter")


def imported(completed) -> set[str]:
    """Module names from `python -X importtime` output (PYTHONPROFILEIMPORTTIME=1), with every
    parent package of a submodule: the reporters' libraries are imported in a background
    thread, whose lines may interleave with the main thread's."""
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in completed.stderr.splitlines()
        if line.startswith("import time:") and "cumulative" not in line
    }
    return {".".join(name.split(".")[:depth]) for name in names for depth in range(1, name.count(".") + 2)}


@pytest.mark.parametrize("arguments", [("backup", "--help"), ("backup",)], ids=["help", "backup"])
def test_a_run_without_metrics_mail_or_webhook_imports_none_of_them(sandbox, arguments):
    completed = sandbox.helper(*arguments, METRICS_DIR="", PYTHONPROFILEIMPORTTIME="1")
    assert completed.returncode == 0, completed.stderr[-2000:]
    modules = imported(completed)
    assert "helper.envelope" in modules or "--help" in arguments
    assert sorted(set(HEAVY) & modules) == []


def test_each_reporter_imports_its_library_only_when_used(sandbox):
    completed = sandbox.helper("backup", PYTHONPROFILEIMPORTTIME="1")  # METRICS_DIR is set
    modules = imported(completed)
    assert "prometheus_client" in modules
    assert sorted({"jinja2", "requests", "smtplib"} & modules) == []
