"""A new job is one module and one line in the registry.

The proof defines a job, `census` (count the snapshots tagged RESTIC_TAG), only here, and shows
that the real scheduler process schedules it from its CENSUS_CRON, that it runs through the
envelope, that it is reported (last-census.json with its declared fields, its declared gauges in
restic_census.prom, a mail whose subject names it) and documented (the environment reference,
cron-list, config-check).

How, without any hook in the product for extending the registry: the test copies the helper
package into a temporary tree, writes the job's module into that copy, and adds "census"
to NAMES in the copy's helper/workers/__init__.py, exactly the edits a developer makes. Every
process is then started in the copy with PYTHONPATH pointing at it (`python -m` looks in the
current directory first), so it runs the product's own code plus those edits; the working tree
is never touched.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.scheduler.conftest import QUICK, ROOT, Running
from tests.support.receivers import smtp_receiver

JOB = '''"""/bin/census: count the snapshots tagged RESTIC_TAG (`restic snapshots --json`)."""

from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, config_error, report_from

NAME = "census"
SUMMARY = "Count the snapshots tagged RESTIC_TAG (restic snapshots)."
TAKES_RUN_LOCK = True
AUTO_UNLOCK = True
CRON_VARIABLE = "CENSUS_CRON"
CRON_DEFAULT = ""
CRON_HELP = "When /bin/census runs. Empty disables it."
FIELDS = ("snapshots", "newest")
GAUGES = ("snapshots",)

NO_TAG = "RESTIC_TAG is empty: census counts the snapshots with that tag"


def requirements(settings: Settings) -> list[str]:
    return [] if settings.restic_tag else [NO_TAG]


def add_arguments(parser) -> None:
    """census takes no options of its own."""


def run(context: RunContext) -> WorkerReport:
    if problems := requirements(context.settings):
        return config_error("; ".join(problems))
    completed = context.locks.run("snapshots", "--json", "--tag", context.settings.restic_tag)
    found = next((m["items"] for m in completed.messages if m.get("message_type") == "list"), [])
    newest = found[-1]["id"][:8] if found else None
    return report_from(completed, {"snapshots": len(found), "newest": newest})
'''
REGISTRY_LINE = re.compile(r"^NAMES = \((.*?),?\s*\)$", re.M | re.S)


def tree_with_census(root: Path) -> Path:
    """Copy the helper package and the docs generator to `root`, then add the job there."""
    shutil.copytree(ROOT / "helper", root / "helper", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "gen-env-docs", root / "scripts" / "gen-env-docs")
    (root / "helper" / "workers" / "census.py").write_text(JOB)
    registry = root / "helper" / "workers" / "__init__.py"
    text = registry.read_text()
    text, found = REGISTRY_LINE.subn(r'NAMES = (\1, "census")', text)
    assert found == 1, "the registry line moved: update this test"
    registry.write_text(text)
    return root


def run_copy(root: Path, env: dict, *argv: str) -> subprocess.CompletedProcess:
    """Run argv on the copy."""
    copy_env = {**env, "PYTHONPATH": str(root)}
    return subprocess.run(argv, env=copy_env, cwd=root, capture_output=True, text=True, timeout=60)


def test_a_job_defined_only_in_this_test_is_scheduled_run_reported_and_documented(sandbox, tmp_path):
    root = tree_with_census(tmp_path / "tree")
    sandbox.restic("backup", "--tag", "automated", str(sandbox.source))
    env = {**sandbox.env, **QUICK, "CENSUS_CRON": "*/2 * * * * *", "PYTHONPATH": str(root)}

    with smtp_receiver() as receiver:
        mail = {"MAILX_RCPT": "ops@example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(receiver.port)}
        scheduler = Running([sys.executable, "-m", "helper", "entry"], {**env, **mail}, cwd=root)
        try:
            scheduler.wait_for(r"\[scheduler\] scheduler ready: 1 job\(s\)")
            scheduler.wait_for(r"\[census\] ✅ census finished: ok", timeout=60)
            exit_code, _ = scheduler.stop()
        finally:
            if scheduler.process.poll() is None:
                scheduler.kill()
        mails = receiver.wait_for(1)

    # Scheduled by the real scheduler process, from its own *_CRON variable.
    assert exit_code == 0, scheduler.output
    assert scheduler.matching(r"\[scheduler\] census: CENSUS_CRON=\*/2 \* \* \* \* \* \("), scheduler.output
    assert scheduler.matching(r"\[scheduler\] ⏰ census tick .* → pid \d+")
    # Run through the envelope, and reported with its declared fields and gauges.
    document = sandbox.last_json("census")
    assert (document["job"], document["status"], document["exit_code"]) == ("census", "ok", 0)
    assert document["snapshots"] == 1 and len(document["newest"]) == 8
    assert "$ restic snapshots --json --tag automated" in (sandbox.log_dir / "census-last.log").read_text()
    metrics = (sandbox.metrics_dir / "restic_census.prom").read_text()
    assert "restic_census_last_snapshots{" in metrics and "restic_census_last_exit_code{" in metrics
    assert "newest" not in metrics
    assert mails and mails[0].subject.startswith("[OK] Census "), [m.subject for m in mails]

    # Documented: the environment reference, cron-list and config-check know its schedule.
    reference = run_copy(root, env, sys.executable, str(root / "scripts" / "gen-env-docs"), "--stdout")
    assert "| `CENSUS_CRON` | cron | *(empty)* |  | When /bin/census runs. Empty disables it. |" in (
        reference.stdout
    ), reference.stderr
    listing = run_copy(root, env, sys.executable, "-m", "helper", "cron-list", "--json")
    [row] = [row for row in json.loads(listing.stdout)["jobs"] if row["job"] == "census"]
    assert (row["variable"], row["enabled"], len(row["next"])) == ("CENSUS_CRON", True, 5)
    refused = run_copy(root, {**env, "RESTIC_TAG": ""}, sys.executable, "-m", "helper", "config-check")
    assert refused.returncode == 2
    assert "❌ CENSUS_CRON: census is scheduled, but every run would exit 2: RESTIC_TAG is empty" in (
        refused.stdout
    )


def test_the_working_tree_does_not_know_the_job():
    """The job above lives only in the copy."""
    from helper import workers

    assert "census" not in workers.NAMES
    assert not (ROOT / "helper" / "workers" / "census.py").exists()
