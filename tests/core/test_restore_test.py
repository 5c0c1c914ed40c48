"""/bin/restore-test, the restore drill, end to end: real restic, real files, and a drill that
fails for each reason it can, seen by the JSON, the metrics, the mail and the post-hook."""

import hashlib
import json
import os

import pytest

from tests.core.conftest import output, read_metrics
from tests.support.receivers import http_receiver, smtp_receiver


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backup(sandbox) -> None:
    completed = sandbox.helper("backup")
    assert completed.returncode == 0, output(completed)


def canary(sandbox) -> str:
    path = sandbox.source / "docs" / "a.txt"
    return f"{path}={digest(path)}"


def drill(sandbox, tmp_path, *arguments: str, **overrides):
    """Run the drill with mail, a webhook and a post-hook watching; return the run, its JSON,
    its gauges, the mail, the webhook's payload and what the post-hook was told."""
    sandbox.hook("post-restore-test.sh", f'echo "$1 $HELPER_STATUS" > {tmp_path}/post\n')
    with smtp_receiver() as mail, http_receiver() as hook:
        mail_settings = {"MAILX_RCPT": "ops@example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": mail.port}
        completed = sandbox.helper(
            "restore-test", *arguments, WEBHOOK_URL=hook.url(), **mail_settings, **overrides
        )
        [message] = mail.wait_for(1)
        [request] = hook.wait_for(1)
    document = sandbox.last_json("restore-test")
    gauges = read_metrics(sandbox.metrics_dir / "restic_restore_test.prom")
    posted = (tmp_path / "post").read_text().strip()
    return completed, document, gauges, message, json.loads(request.body), posted


def test_a_drill_that_passes_restores_checks_and_cleans_up(sandbox, tmp_path):
    backup(sandbox)
    completed, document, gauges, mail, payload, posted = drill(
        sandbox, tmp_path, "--canary", canary(sandbox), "--sample", "10", "--verify"
    )

    assert completed.returncode == 0, output(completed)
    assert (document["status"], document["verification"], posted) == ("ok", "passed", "0 ok")
    assert (document["files_restored"], document["bytes_restored"]) == (2, 4096 + 6)
    assert (document["canary_total"], document["canary_passed"], document["canary_failed"]) == (1, 1, 0)
    assert document["canary_results"][0]["result"] == "passed"
    assert (document["sample_size"], document["sample_checked"], document["sample_mismatches"]) == (10, 2, 0)
    assert document["target_autotmp"] is True and document["cleanup_status"] == "cleaned"
    assert not os.path.exists(document["target"])
    assert (
        gauges["restic_restore_test_last_success"] == 1
        and gauges["restic_restore_test_last_canary_failed"] == 0
    )
    assert mail.subject.startswith("[OK]") and payload["verification"] == "passed"


def change_canary_after_the_backup(sandbox) -> list[str]:
    expected = canary(sandbox)
    (sandbox.source / "docs" / "a.txt").write_text("tampered\n")
    backup(sandbox)
    return ["--canary", expected]


def corrupt_a_source_file_silently(sandbox) -> list[str]:
    """Same size and modification time, other bytes: what bit rot, or a backup that stored
    the wrong data, looks like to the spot check."""
    source = sandbox.source / "b.bin"
    stat = source.stat()
    source.write_bytes(bytes(byte ^ 0xFF for byte in source.read_bytes()))
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    return ["--sample", "5"]


@pytest.mark.parametrize(
    ("make_it_fail", "reason", "field", "value"),
    [
        (change_canary_after_the_backup, "canary", "canary_failed", 1),
        (lambda sandbox: ["--min-files", "50"], "fewer than 50", "min_files_met", False),
        (corrupt_a_source_file_silently, "differs from its source", "sample_mismatches", 1),
    ],
    ids=["canary", "too-few-files", "sample"],
)
def test_a_drill_that_fails_is_failed_everywhere(sandbox, tmp_path, make_it_fail, reason, field, value):
    backup(sandbox)
    arguments = make_it_fail(sandbox)

    completed, document, gauges, mail, payload, posted = drill(sandbox, tmp_path, *arguments)

    assert completed.returncode == 1, output(completed)
    assert (document["status"], document["verification"], document[field]) == ("failed", "failed", value)
    assert reason in document["error"] and reason in output(completed)
    assert posted == "1 failed"
    assert gauges["restic_restore_test_last_success"] == 0
    assert mail.subject.startswith("[FAIL 1]") and payload["exit_code"] == 1
    if field == "sample_mismatches":
        assert document["sample_mismatched_paths"] == [str(sandbox.source / "b.bin")]
        assert gauges["restic_restore_test_last_sample_mismatches"] == 1


def test_variables_set_the_drill_and_a_kept_target_stays(sandbox, tmp_path):
    backup(sandbox)
    canaries = tmp_path / "canaries.sha256"
    canaries.write_text(f"# known files\n{digest(sandbox.source / 'b.bin')}  {sandbox.source / 'b.bin'}\n")
    target = tmp_path / "drill"

    completed = sandbox.helper(
        "restore-test",
        RESTORE_TEST_TARGET=target,
        RESTORE_TEST_CANARY_FILE=canaries,
        RESTORE_TEST_PATH=str(sandbox.source / "b.bin"),
        RESTORE_TEST_MIN_FILES="1",
    )

    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("restore-test")
    assert (document["include_paths_count"], document["files_restored"], document["canary_passed"]) == (
        1,
        1,
        1,
    )
    assert (
        document["cleanup_status"] == "kept"
        and (target / str(sandbox.source / "b.bin").lstrip("/")).is_file()
    )


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("--canary", "/data/x=abc"), "--canary: expected PATH=SHA256"),
        (("--canary-file", "/no/such/file"), "--canary-file: cannot read /no/such/file"),
        (("--min-files", "-1"), "argument --min-files"),
        (("--target", "/"), "--target /: refusing to restore into the root directory"),
    ],
)
def test_bad_input_names_the_flag_exits_2_and_restores_nothing(sandbox, arguments, named):
    backup(sandbox)
    completed = sandbox.helper("restore-test", *arguments)
    assert completed.returncode == 2, output(completed)
    assert named in output(completed) and "Traceback" not in output(completed)
    log = sandbox.log_dir / "restore-test-last.log"
    assert not log.exists() or "$ restic restore" not in log.read_text()
