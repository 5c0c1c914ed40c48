"""/bin/replicate's restic mode: `restic copy` of this helper's snapshots into a real second
repository, with its password from a file, and a lock on our repository waited out."""

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PASSWORD
from tests.core.conftest import helper_process, output, snapshots

SECOND_PASSWORD = "second-repository-password"


@pytest.fixture
def second(sandbox, tmp_path) -> dict:
    """A second repository, made as the docs say (same chunker parameters as ours); return the
    variables that point /bin/replicate at it, the password in a file."""
    repository = tmp_path / "second"
    environment = {
        **sandbox.env,
        "RESTIC_REPOSITORY": str(repository),
        "RESTIC_PASSWORD": SECOND_PASSWORD,
        "RESTIC_FROM_PASSWORD": PASSWORD,
    }
    subprocess.run(
        [
            sandbox.env["RESTIC_BIN"],
            "init",
            "--from-repo",
            sandbox.env["RESTIC_REPOSITORY"],
            "--copy-chunker-params",
        ],
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )
    password_file = tmp_path / "second.password"
    password_file.write_text(SECOND_PASSWORD + "\n")
    return {"REPLICATE_REPOSITORY": str(repository), "REPLICATE_PASSWORD_FILE": str(password_file)}


def second_snapshots(sandbox, second: dict) -> list[dict]:
    completed = subprocess.run(
        [sandbox.env["RESTIC_BIN"], "snapshots", "--json", "--no-lock"],
        env={
            **sandbox.env,
            "RESTIC_REPOSITORY": second["REPLICATE_REPOSITORY"],
            "RESTIC_PASSWORD": SECOND_PASSWORD,
        },
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout)


@pytest.mark.skipif(Path("/config/replicate_jobs.txt").exists(), reason="the default job file would run too")
def test_restic_copy_copies_this_hosts_snapshots_then_every_hosts(sandbox, second):
    assert sandbox.helper("backup").returncode == 0
    sandbox.restic("backup", "--host", "otherhost", "--tag", "automated", str(sandbox.source))
    ours = next(snapshot for snapshot in snapshots(sandbox) if snapshot["hostname"] != "otherhost")

    completed = sandbox.helper("replicate", **second)

    assert completed.returncode == 0, output(completed)
    copied = second_snapshots(sandbox, second)
    assert [(snapshot["hostname"], snapshot["tags"]) for snapshot in copied] == [
        (ours["hostname"], ["automated"])
    ]
    document = sandbox.last_json("replicate")
    assert (document["snapshots_copied"], document["replicate_jobs_processed"]) == (1, 1)
    job = document["replicate_jobs"][0]
    assert (job["mode"], job["destination"], job["exit_code"]) == (
        "restic-copy",
        second["REPLICATE_REPOSITORY"],
        0,
    )
    log = (sandbox.log_dir / "replicate-last.log").read_text()
    assert "$ restic copy --host" in log and SECOND_PASSWORD not in log and PASSWORD not in log

    again = sandbox.helper("replicate", REPLICATE_HOST="*", **second)

    assert again.returncode == 0, output(again)
    assert sandbox.last_json("replicate")["snapshots_copied"] == 1, "what was copied is not copied again"
    assert sorted(snapshot["hostname"] for snapshot in second_snapshots(sandbox, second)) == sorted(
        [ours["hostname"], "otherhost"]
    )


def test_a_wrong_second_password_names_both_password_variables(sandbox, second, tmp_path):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-it")
    completed = sandbox.helper("replicate", **{**second, "REPLICATE_PASSWORD_FILE": str(wrong)})
    assert completed.returncode == 12, output(completed)
    assert "check RESTIC_PASSWORD and REPLICATE_PASSWORD" in sandbox.last_json("replicate")["error"]


def test_a_missing_second_password_is_a_configuration_error(sandbox, second):
    completed = sandbox.helper("replicate", REPLICATE_REPOSITORY=second["REPLICATE_REPOSITORY"])
    assert completed.returncode == 2, output(completed)
    assert "REPLICATE_PASSWORD: not set" in completed.stdout and "Traceback" not in output(completed)


def test_a_lock_on_our_repository_is_waited_out_by_watching_our_locks(sandbox, second, other_host_lock):
    assert sandbox.helper("backup").returncode == 0
    with other_host_lock(exclusive=True):
        process = helper_process(sandbox, "replicate", "--lock-wait", "2m", **second)
        time.sleep(6)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 0, stdout + stderr
    document = sandbox.last_json("replicate")
    assert document["snapshots_copied"] == 1 and document["lock_wait_seconds"] > 1
    # Blocked once, then retried when our repository's lock went: not retried blindly meanwhile.
    assert (sandbox.log_dir / "replicate-last.log").read_text().count("$ restic copy") == 2
