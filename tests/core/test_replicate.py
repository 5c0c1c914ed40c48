"""/bin/replicate's rclone mode with the real rclone: sync, copy and bisync between local folders
and a WebDAV remote on loopback, the bisync recovery, bad job files, the SYNC_* names and
/bin/bisync. rclone's own timeouts and one retry keep a dead endpoint from hanging a test."""

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.core.conftest import ROOT, helper_process, output, process_gone, wait_until
from tests.support.servers import webdav_server
from tests.support.tools import tool

QUICK_FAILURE = "--contimeout 5s --timeout 20s --retries 1 --low-level-retries 1"


@pytest.fixture
def replicating(sandbox, tmp_path):
    """The sandbox with rclone, its own rclone.conf and bisync work folder, and a job file."""
    (tmp_path / "rclone.conf").write_text("")
    sandbox.env.update(
        RCLONE_BIN=tool("rclone"),
        RCLONE_CONFIG=str(tmp_path / "rclone.conf"),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),  # where bisync keeps its listings
        REPLICATE_JOB_FILE=str(tmp_path / "jobs.txt"),
        REPLICATE_JOB_ARGS=QUICK_FAILURE,
    )
    return sandbox


def write_jobs(sandbox, *lines: str) -> None:
    Path(sandbox.env["REPLICATE_JOB_FILE"]).write_text("\n".join(lines) + "\n")


def folder(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (path / name.replace("__", ".")).write_text(content)
    return path


def names(path: Path) -> set[str]:
    return {entry.name for entry in path.iterdir()} if path.exists() else set()


def test_sync_copy_and_a_first_bisync_recovered_then_a_plain_bisync(replicating, tmp_path):
    a = folder(tmp_path / "a", one__txt="1", skip__log="x")
    b = folder(tmp_path / "b", from_b__txt="b")
    c = folder(tmp_path / "c", stale__txt="old")
    d = folder(tmp_path / "d", kept__txt="kept")
    write_jobs(
        replicating,
        "# the replicate jobs",
        "",
        f"{a};{b};BISYNC;--resync",
        f"{a};{c};sync",
        f"  # {a};{tmp_path / 'never'};copy",
        f"{a};{d};copy;--exclude '*.log'",
    )

    first = replicating.helper("replicate")

    # bisync has no listings on a pair's first run: it fails, the recovery resyncs, and that
    # is the pair's setting up, no failure.
    assert first.returncode == 0, output(first)
    assert names(a) == names(b) == {"one.txt", "skip.log", "from_b.txt"}
    # The jobs run in order: the bisync brought from_b.txt to a first.
    assert names(c) == {"one.txt", "skip.log", "from_b.txt"}, "sync makes the destination a mirror"
    assert names(d) == {"one.txt", "from_b.txt", "kept.txt"}, "copy keeps what is there and honours EXTRA"
    assert not (tmp_path / "never").exists(), "an indented comment ran as a job"
    assert "--resync removed from the arguments of line 3" in first.stdout
    document = replicating.last_json("replicate")
    assert (document["status"], document["exit_code"], document["error"]) == ("ok", 0, None)
    assert [document[f"replicate_jobs_{count}"] for count in ("processed", "failed", "recovered")] == [
        3,
        0,
        1,
    ]
    bisync = document["replicate_jobs"][0]
    assert (bisync["line"], bisync["mode"], bisync["recovered"], bisync["first_bisync"]) == (
        3,
        "bisync",
        True,
        True,
    )
    assert bisync["exit_code"] == 2 and bisync["recovery"] == {
        "copy_to_destination": 0,
        "copy_to_source": 0,
        "resync": 0,
    }

    (a / "one.txt").unlink()
    (b / "new.txt").write_text("new")
    second = replicating.helper("replicate")

    assert second.returncode == 0, output(second)
    assert names(a) == names(b) == {"skip.log", "from_b.txt", "new.txt"}, "bisync carries both ways"
    assert replicating.last_json("replicate")["replicate_jobs_failed"] == 0


def test_a_failed_job_fails_the_run_and_the_others_still_run(replicating, tmp_path):
    missing = tmp_path / "missing"
    a = folder(tmp_path / "a", one__txt="1")
    b = folder(tmp_path / "b")
    write_jobs(
        replicating, f"{missing};{tmp_path / 'out1'};sync", f"{missing};{b}", f"{a};{tmp_path / 'out2'};copy"
    )

    completed = replicating.helper("replicate", timeout=180)

    assert completed.returncode == 1, output(completed)
    assert names(tmp_path / "out2") == {"one.txt"}
    document = replicating.last_json("replicate")
    sync, bisync, copy = document["replicate_jobs"]
    assert sync["exit_code"] == 3 and "directory not found" in sync["error"], "rclone's own code, kept"
    assert bisync["recovered"] is False and bisync["recovery"]["copy_to_destination"] != 0
    assert bisync["recovery"]["resync"] is None, "no resync after a failed copy"
    assert copy["exit_code"] == 0
    assert (document["replicate_jobs_processed"], document["replicate_jobs_failed"]) == (3, 2)
    assert document["error"].startswith(
        f"line 1: sync {missing} -> {tmp_path / 'out1'} failed (rclone exit 3)"
    )
    assert "the recovery failed at the copy to the destination" in document["error"]


def test_with_check_access_a_side_without_rclone_test_is_never_recovered_into(replicating, tmp_path):
    a = folder(tmp_path / "a", one__txt="1")
    b = folder(tmp_path / "b")
    write_jobs(replicating, f"{a};{b}")
    assert replicating.helper("replicate").returncode == 0  # the first run resyncs
    (a / "two.txt").write_text("2")

    # rclone's access check fails; after that it demands a resync, which skips the check.
    for _ in range(2):
        checked = replicating.helper("replicate", REPLICATE_BISYNC_CHECK_ACCESS="ON")
        assert checked.returncode == 1, output(checked)
        document = replicating.last_json("replicate")
        assert document["replicate_jobs"][0]["recovery"] is None
        assert f"not recovered: {a} holds no RCLONE_TEST" in document["error"]
        assert names(b) == {"one.txt"}, "the recovery copied into a side without RCLONE_TEST"

    (a / "RCLONE_TEST").write_text("")
    (b / "RCLONE_TEST").write_text("")
    assert replicating.helper("replicate", REPLICATE_BISYNC_CHECK_ACCESS="ON").returncode == 3
    assert names(b) == {"one.txt", "two.txt", "RCLONE_TEST"}
    assert replicating.helper("replicate", REPLICATE_BISYNC_CHECK_ACCESS="ON").returncode == 0


def obscure(password: str) -> str:
    return subprocess.run(
        [tool("rclone"), "obscure", password], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()


def test_a_webdav_remote_on_loopback_whose_credentials_never_reach_a_report(replicating, tmp_path):
    served = folder(tmp_path / "served")
    a = folder(tmp_path / "a", one__txt="1")
    good, wrong = obscure("webdav-password-1"), obscure("not-the-password")
    with webdav_server(served, "tester", "webdav-password-1") as url:
        Path(replicating.env["RCLONE_CONFIG"]).write_text(
            f"[dav]\ntype = webdav\nurl = {url}\nvendor = other\nuser = tester\npass = {good}\n"
        )
        inline = f":webdav,url='{url}',vendor=other,user=tester,pass={{}}:{{}}"
        write_jobs(
            replicating,
            f"{a};dav:configured;sync",
            f"{a};{inline.format(good, 'inline')};copy",
            f"{a};{inline.format(wrong, 'denied')};copy",
        )
        completed = replicating.helper("replicate", timeout=180)

    assert completed.returncode == 1, output(completed)
    assert names(served / "configured") == names(served / "inline") == {"one.txt"}
    assert not (served / "denied").exists()
    document = replicating.last_json("replicate")
    assert [job["exit_code"] == 0 for job in document["replicate_jobs"]] == [True, True, False]
    assert document["replicate_jobs"][1]["destination"].endswith(",user=tester,pass=***:inline")
    reports = [output(completed)] + [
        path.read_text() for path in replicating.log_dir.iterdir() if path.is_file()
    ]
    assert all(good not in text and wrong not in text for text in reports)
    assert "pass=***:denied" in (replicating.log_dir / "replicate-last.log").read_text()


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (None, "{file} does not exist"),
        ("", "{file} holds no job"),
        ("# only a comment;x\n", "{file} holds no job"),
        ("{a};{b};copy\n{a} {b}\n", "{file} line 2: no ';' between source and destination"),
        (
            "{a};{b};copy\n{a};{b};mirror\n",
            "{file} line 2: unknown mode 'mirror' (expected bisync, sync, copy)",
        ),
        ("{a};{b};copy\n\n{a};\n", "{file} line 3: the destination is empty"),
    ],
)
def test_a_bad_job_file_runs_nothing_names_the_file_and_line_and_exits_2(
    replicating, tmp_path, content, named
):
    file, a, b = replicating.env["REPLICATE_JOB_FILE"], folder(tmp_path / "a", one__txt="1"), tmp_path / "b"
    if content is not None:
        Path(file).write_text(content.format(a=a, b=b))

    completed = replicating.helper("replicate")

    assert completed.returncode == 2, output(completed)
    assert f"REPLICATE_JOB_FILE: {named.format(file=file)}" in completed.stdout
    assert "Traceback" not in output(completed)
    assert replicating.last_json("replicate")["exit_code"] == 2
    assert not b.exists(), "a job ran from a file with a bad line"


def test_rclone_that_cannot_start_is_named(replicating, tmp_path):
    write_jobs(replicating, f"{folder(tmp_path / 'a')};{tmp_path / 'b'};sync")
    completed = replicating.helper("replicate", RCLONE_BIN=str(tmp_path / "no-rclone"))
    assert completed.returncode == 127, output(completed)
    assert f"cannot start {tmp_path / 'no-rclone'}" in replicating.last_json("replicate")["error"]


def test_the_sync_names_work_with_a_warning_naming_the_new_ones(replicating, tmp_path):
    a = folder(tmp_path / "a", one__txt="1")
    jobs = tmp_path / "old-jobs.txt"
    jobs.write_text(f"{a};{tmp_path / 'b'};copy\n")
    del replicating.env["REPLICATE_JOB_FILE"], replicating.env["REPLICATE_JOB_ARGS"]

    completed = replicating.helper("replicate", SYNC_JOB_FILE=jobs, SYNC_JOB_ARGS="-v", SYNC_VERBOSE="OFF")

    assert completed.returncode == 0, output(completed)
    assert names(tmp_path / "b") == {"one.txt"}
    for old, new in (("SYNC_JOB_FILE", "REPLICATE_JOB_FILE"), ("SYNC_JOB_ARGS", "REPLICATE_JOB_ARGS")):
        assert f"{old} is deprecated: rename it to {new}" in completed.stdout
    # SYNC_VERBOSE=OFF: rclone's -v lines are in the run's log, not on the console.
    log = (replicating.log_dir / "replicate-last.log").read_text()
    assert "Copied (new)" in log and "Copied (new)" not in completed.stdout


def test_bin_bisync_runs_replicate_and_says_it_is_the_old_name(replicating, tmp_path):
    write_jobs(replicating, f"{folder(tmp_path / 'a', one__txt='1')};{tmp_path / 'b'};copy")
    completed = subprocess.run(
        [str(ROOT / "bin" / "bisync")],
        env={**replicating.env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, output(completed)
    assert "/bin/bisync is the old name of /bin/replicate" in completed.stdout
    assert replicating.last_json("replicate")["replicate_jobs_processed"] == 1
    assert names(tmp_path / "b") == {"one.txt"}


def test_a_stop_signal_reaches_rclone_and_the_run_is_interrupted(replicating, tmp_path):
    a = folder(tmp_path / "a")
    (a / "big.bin").write_bytes(os.urandom(4 * 1024 * 1024))
    write_jobs(replicating, f"{a};{tmp_path / 'b'};copy;--bwlimit 64k", f"{a};{tmp_path / 'c'};copy")
    process = helper_process(replicating, "replicate")
    wait_until(lambda: "$ rclone copy" in read_log(replicating), message="rclone to start")

    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stdout + stderr
    document = replicating.last_json("replicate")
    assert document["status"] == "interrupted" and document["replicate_jobs_processed"] == 1
    assert not (tmp_path / "c").exists(), "the next job ran after the stop"
    rclone_pids = subprocess.run(["pgrep", "-f", f"rclone copy {a}"], capture_output=True, text=True).stdout
    assert all(process_gone(int(pid)) for pid in rclone_pids.split())


def read_log(sandbox) -> str:
    path = sandbox.log_dir / "replicate-last.log"
    return path.read_text() if path.exists() else ""
