"""/bin/sources-report on real trees and lists: what a backup would read, without restic."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.core.conftest import output
from tests.support.tools import ROOT


def tree(root, files: dict[str, str]):
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


def test_sources_lists_and_exclude_files_are_inventoried_with_an_errors_gauge(sandbox, tmp_path):
    data = tree(tmp_path / "data", {"a.txt": "12345", "deep/b.txt": "12", "deep/deeper/c.txt": "1"})
    (data / "link").symlink_to("/etc", target_is_directory=True)  # never followed
    listing = tmp_path / "list.txt"
    listing.write_text(f"# what else\n{data / 'a.txt'}\n{tmp_path / 'gone.txt'}\n{data}/deep/*.txt\n")
    excludes = tmp_path / "excludes.txt"
    excludes.write_text("*.tmp\n# comment\n\n*.log\n")
    job_args = f"--files-from={listing} --exclude-file {excludes} --iexclude-file {tmp_path / 'none'}"

    completed = sandbox.helper(
        "sources-report", "--source", str(data), "--source", str(tmp_path / "missing"),
        BACKUP_ROOT_DIR=str(data), RESTIC_JOB_ARGS=job_args,
    )  # fmt: skip

    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("sources-report")
    assert (document["sources_count"], document["files_from_count"], document["exclude_files_count"]) == (
        2,
        1,
        2,
    )
    first, missing = document["sources"]
    assert (first["type"], first["files"], first["bytes"]) == ("directory", 3, 8)
    assert (missing["type"], missing["readable"], missing["errors"]) == ("missing", False, 1)
    assert document["files_from"][0] | {"missing_samples": None} == {
        "path": str(listing), "flag": "--files-from", "readable": True, "entries": 3, "missing": 1,
        "missing_samples": None,
    }  # fmt: skip
    assert [entry["patterns"] for entry in document["exclude_files"]] == [2, None]
    # One missing source, one missing list entry, one unreadable exclude file.
    assert document["errors_count"] == 3
    metrics = (sandbox.metrics_dir / "restic_sources_report.prom").read_text()
    assert re.search(r"^restic_sources_report_last_errors_count\{[^}]*\} 3\.0$", metrics, re.M)
    assert "gone.txt" in completed.stdout


def test_depth_and_no_size(sandbox, tmp_path):
    data = tree(tmp_path / "data", {"a.txt": "1", "deep/b.txt": "2", "deep/deeper/c.txt": "3"})
    shallow = sandbox.helper("sources-report", "--depth", "2", BACKUP_ROOT_DIR=str(data))
    assert shallow.returncode == 0 and sandbox.last_json("sources-report")["total_files"] == 2
    assert sandbox.helper("sources-report", "--no-size", BACKUP_ROOT_DIR=str(data)).returncode == 0
    document = sandbox.last_json("sources-report")
    assert (document["no_size"], document["total_files"], document["sources"][0]["type"]) == (
        True,
        None,
        "directory",
    )


def test_an_unreadable_directory_is_counted_not_fatal():
    # As an unprivileged user (root reads everything): a directory it may not list.
    top = Path(tempfile.mkdtemp(prefix="sources-report-"))
    try:
        data = tree(top / "data", {"a.txt": "1", "locked/b.txt": "2"})
        for directory in (top, data):
            directory.chmod(0o755)
        (data / "locked").chmod(0o700)
        (data / "a.txt").chmod(0o644)
        as_nobody = (
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        )
        script = (
            "import json; from helper.workers.source_tree import inventory; "
            f"print(json.dumps(inventory({str(data)!r}, True, None)))"
        )
        completed = subprocess.run(
            [*as_nobody, sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False,
        )  # fmt: skip
    finally:
        shutil.rmtree(top)
    assert completed.returncode == 0, completed.stderr
    entry = json.loads(completed.stdout.splitlines()[-1])
    assert (entry["files"], entry["unreadable_dirs"], entry["errors"]) == (1, 1, 1)


@pytest.mark.parametrize(
    ("arguments", "environment", "words"),
    [
        (("--depth", "0"), {}, "--depth: expected a whole number of 1 or more, got '0'"),
        (("--depth", "x"), {}, "--depth: expected a whole number of 0 or more, got 'x'"),
        ((), {"BACKUP_ROOT_DIR": ""}, "nothing to inspect: set BACKUP_ROOT_DIR"),
    ],
)
def test_bad_input_is_named_and_exits_2(sandbox, arguments, environment, words):
    completed = sandbox.helper("sources-report", *arguments, **environment)
    assert completed.returncode == 2
    assert words in output(completed)
    assert "Traceback" not in output(completed)


def test_an_unreadable_files_from_list_given_as_an_option_is_an_error_not_a_crash(sandbox, tmp_path):
    completed = sandbox.helper(
        "sources-report", "--files-from", str(tmp_path / "no-list"), BACKUP_ROOT_DIR=""
    )
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("sources-report")
    assert document["files_from"][0]["readable"] is False and document["errors_count"] == 1
    assert f"--files-from {tmp_path / 'no-list'}: cannot be read" in completed.stdout
