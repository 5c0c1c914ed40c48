"""The registry of jobs: each job's declarations are complete and consistent, and every
registered job has its bin/<name> launcher, which the image installs."""

import re
import stat

import pytest

from helper import workers
from tests.core.conftest import ROOT

LAUNCHER = '#!/bin/sh\nexec python3 -m helper {name} "$@"\n'
DECLARED = ("NAME", "SUMMARY", "TAKES_RUN_LOCK", "AUTO_UNLOCK", "CRON_VARIABLE", "FIELDS", "GAUGES")


@pytest.mark.parametrize("name", workers.NAMES)
def test_every_job_declares_itself_completely(name):
    declared = workers.load(name)
    assert name == declared.NAME
    for attribute in (*DECLARED, "requirements", "add_arguments", "run"):
        assert hasattr(declared, attribute), attribute
    assert set(declared.GAUGES) <= set(declared.FIELDS), "a gauge is one of the job's fields"
    assert isinstance(declared.TAKES_RUN_LOCK, bool) and isinstance(declared.AUTO_UNLOCK, bool)
    if declared.CRON_VARIABLE is not None:
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*_CRON", declared.CRON_VARIABLE)
        assert isinstance(declared.CRON_DEFAULT, str) and declared.CRON_HELP


def test_scheduled_jobs_and_their_variables():
    assert [(job.NAME, job.CRON_VARIABLE) for job in workers.scheduled()] == [
        ("backup", "BACKUP_CRON"),
        ("forget", "FORGET_CRON"),
        ("prune", "PRUNE_CRON"),
        ("check", "CHECK_CRON"),
        ("restore-test", "RESTORE_TEST_CRON"),
        ("rotate_log", "ROTATE_LOG_CRON"),
        ("replicate", "REPLICATE_CRON"),
    ]
    names = [setting.name for setting in workers.settings_table()]
    assert len(names) == len(set(names)), "a *_CRON variable clashes with a setting"
    # The schedules head their group, as the environment reference lists them.
    assert names[names.index("BACKUP_CRON") : names.index("TZ")] == [
        "BACKUP_CRON",
        "FORGET_CRON",
        "PRUNE_CRON",
        "CHECK_CRON",
        "RESTORE_TEST_CRON",
        "ROTATE_LOG_CRON",
        "REPLICATE_CRON",
    ]


def test_an_unknown_job_is_refused():
    with pytest.raises(KeyError):
        workers.load("no-such-job")
    with pytest.raises(KeyError):
        workers.load("context")


@pytest.mark.parametrize("name", workers.NAMES)
def test_every_registered_job_has_its_launcher(name):
    launcher = ROOT / "bin" / name
    assert launcher.is_file(), f"bin/{name} is missing: write {LAUNCHER.format(name=name)!r} to it"
    assert launcher.read_text() == LAUNCHER.format(name=name)
    assert launcher.stat().st_mode & stat.S_IXUSR, f"bin/{name} is not executable"


def test_every_launcher_is_the_generic_one_and_the_image_installs_them_all():
    for launcher in sorted((ROOT / "bin").iterdir()):
        assert launcher.read_text() == LAUNCHER.format(name=launcher.name), launcher.name
    # No launcher is named in the Dockerfile: a new one is installed without touching it.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "install -D -m 0755 -t /staging/usr/bin /src/bin/*" in dockerfile


def table_row(page: str, first_cell: str) -> str:
    """Return the markdown table row of `page` whose first cell is `first_cell`, or ""."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    return next((line for line in text.splitlines() if line.startswith(f"| {first_cell} |")), "")


@pytest.mark.parametrize("name", workers.NAMES)
def test_the_hand_written_pages_list_each_jobs_gauges_and_schedule(name):
    """metrics.md and scheduler.md describe the declarations in prose tables: keep them true."""
    job = workers.load(name)
    gauges = table_row("metrics.md", name)
    assert bool(gauges) == bool(job.GAUGES), f"docs/metrics.md: the row of {name}"
    for gauge in job.GAUGES:
        assert f"_last_{gauge}`" in gauges, f"docs/metrics.md: {name} gauge {gauge}"
    schedule = table_row("scheduler.md", f"`{job.CRON_VARIABLE}`")
    assert bool(schedule) == bool(job.CRON_VARIABLE), f"docs/scheduler.md: the row of {name}"
    if job.CRON_VARIABLE:
        assert f"`/bin/{name}`" in schedule
        assert schedule.endswith(f"| `{job.CRON_DEFAULT}` |" if job.CRON_DEFAULT else "| empty |")
