"""The restic runner: output reaches the log while restic runs, restic is read to its end and
waited for whatever happens to the log, memory stays bounded, and bytes that are no UTF-8
(a Latin-1 file name, host name or tag) pass through to restic and into readable logs."""

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from helper import restic, restic_output, settings
from helper.logs import TAIL_BYTES
from tests.core.conftest import helper_process, output, repository_locks, snapshots, wait_until
from tests.support.receivers import smtp_receiver

LATIN1_NAME = b"caf\xe9"  # "café" as Latin-1: no valid UTF-8


def producer(script: str) -> dict[str, str]:
    """Overrides that make /bin/backup read its data from `sh -c script`, whose stderr restic
    passes on to the helper."""
    return {
        "BACKUP_ROOT_DIR": "",
        "RESTIC_JOB_ARGS": f"--stdin-from-command --stdin-filename data.txt -- sh -c '{script}'",
    }


def test_output_reaches_the_log_while_restic_still_runs(sandbox):
    process = helper_process(sandbox, "backup", **producer("echo first-words >&2; sleep 30; echo data"))
    log = sandbox.log_dir / "backup-last.log"
    try:
        wait_until(
            lambda: log.exists() and "first-words" in log.read_text(), message="the first line in the log"
        )
        assert process.poll() is None, "the line must be logged before restic ends"
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert repository_locks(sandbox) == []


def test_the_mail_carries_a_bounded_tail_of_a_long_log(sandbox):
    # 3000 numbered lines of ~50 bytes: far more than the tail keeps.
    sandbox.hook(
        "pre-backup.sh", 'i=0; while [ $i -lt 3000 ]; do echo "line $i of a long log"; i=$((i+1)); done\n'
    )
    with smtp_receiver() as mail:
        completed = sandbox.helper(
            "backup", MAILX_RCPT="ops@example.com", SMTP_HOST="127.0.0.1", SMTP_PORT=mail.port
        )
        assert completed.returncode == 0, output(completed)
        body = mail.wait_for(1)[0].body
    log = (sandbox.log_dir / "backup-last.log").read_text()
    assert "line 0 of" in log and "line 2999 of" in log
    tail = body.split("Last lines of the run log", 1)[1]
    assert "earlier lines are in backup-last.log" in tail
    assert "line 2999 of" in tail and "line 0 of" not in tail
    assert TAIL_BYTES / 2 < len(tail.encode()) < TAIL_BYTES + 1024


def test_restic_output_kept_in_memory_is_bounded(sandbox):
    count = restic_output.OTHER_MESSAGES_KEPT + 300
    many = sandbox.source / "many"
    many.mkdir()
    for index in range(count):
        (many / f"file-with-a-long-name-{index:05d}.txt").write_text(str(index))
    assert sandbox.helper("backup").returncode == 0
    loaded, _ = settings.load(sandbox.env)
    runner = restic.runner(loaded)
    # `ls --json` prints one message per file: more than the runner keeps.
    completed = runner.run("ls", "--json", "latest")
    assert completed.exit_code == 0, completed.stderr
    kinds = [message.get("message_type") for message in completed.messages]
    assert kinds[0] == "snapshot"
    assert len(kinds) == restic_output.OTHER_MESSAGES_KEPT
    assert len(completed.stdout) <= restic_output.LOGGED_STDOUT_KEPT_BYTES
    # Output kept out of the log is what a caller parses: it stays whole.
    listing = runner.run("ls", "latest", echo=False)
    assert listing.stdout.count("file-with-a-long-name-") == count


def test_verdict_messages_are_kept_past_the_cap():
    collected = restic_output.Collected(logging.INFO, echo=True)
    for _ in range(restic_output.OTHER_MESSAGES_KEPT * 2):
        collected.keep_message({"message_type": "error", "error": {"message": "unreadable"}})
    collected.keep_message({"message_type": "summary", "snapshot_id": "abc"})
    kinds = [message["message_type"] for message in collected.messages]
    assert kinds.count("error") == restic_output.OTHER_MESSAGES_KEPT
    assert kinds[-1] == "summary"


def test_a_log_that_cannot_be_written_stops_nothing(sandbox):
    # The run log on a full disk: /dev/full fails every write with ENOSPC.
    (sandbox.log_dir / "backup-last.log").symlink_to("/dev/full")
    completed = sandbox.helper("backup")
    text = output(completed)
    assert completed.returncode == 0, text
    assert "Traceback" not in text
    assert text.count("cannot write the run log") == 1
    document = sandbox.last_json("backup")
    assert (document["status"], document["exit_code"]) == ("ok", 0)
    assert document["snapshot_id"] in [snapshot["id"] for snapshot in snapshots(sandbox)]
    assert repository_locks(sandbox) == []
    # A failed run copies a complete log to backup-error-last.log; this one has none to copy.
    failed = sandbox.helper("backup", RESTIC_JOB_ARGS="--no-such-flag")
    assert failed.returncode == 1, output(failed)
    assert "Traceback" not in output(failed)
    assert not (sandbox.log_dir / "backup-error-last.log").exists()


def test_bytes_that_are_no_utf8_pass_through_to_restic_and_into_readable_reports(sandbox):
    source = os.fsdecode(os.path.join(os.fsencode(sandbox.source), LATIN1_NAME))
    os.mkdir(source)
    (Path(source) / "inside.txt").write_text("data\n")
    odd = {"HOSTNAME": "h\udcff", "RESTIC_TAG": "tag\udcffged", "BACKUP_ROOT_DIR": source}
    with smtp_receiver() as mail:
        completed = sandbox.helper(
            "backup", **odd, MAILX_RCPT="ops@example.com", SMTP_HOST="127.0.0.1", SMTP_PORT=mail.port
        )
        text = output(completed)
        assert completed.returncode == 0, text
        subject = mail.wait_for(1)[0].subject
    assert "Traceback" not in text
    assert "backup on h\\xff started" in text
    log = (sandbox.log_dir / "backup-last.log").read_text(encoding="utf-8")
    assert "--tag 'tag\\xffged'" in log and "caf\\xe9" in log
    assert sandbox.last_json("backup")["hostname"] == "h\\xff"
    assert "h\\xff" in subject
    # restic got the bytes themselves: the snapshot holds the Latin-1 name.
    listing = subprocess.run(
        [sandbox.env["RESTIC_BIN"], "ls", "latest"], env=sandbox.env, capture_output=True, check=True
    )
    assert b"/" + LATIN1_NAME + b"/inside.txt" in listing.stdout
    # restic stores tags as JSON, where an undecodable byte becomes U+FFFD.
    assert snapshots(sandbox)[-1]["tags"] == ["tag\ufffdged"]


def restic_wrapper(sandbox) -> tuple[Path, Path]:
    """A RESTIC_BIN that leaves a process behind holding its stderr, the helper's pipe (restic
    0.18 itself hands its children pipes of its own); return it and the straggler's pid file."""
    pid_file = sandbox.root / "straggler.pid"
    wrapper = sandbox.root / "restic-wrapper"
    wrapper.write_text(
        f"#!/bin/sh\nsleep 60 </dev/null >/dev/null &\necho $! > {pid_file}\n"
        f'exec {sandbox.env["RESTIC_BIN"]} "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper, pid_file


def test_a_process_left_holding_restics_stderr_does_not_hold_up_the_run(sandbox):
    wrapper, pid_file = restic_wrapper(sandbox)
    started = time.monotonic()
    try:
        completed = sandbox.helper("check", RESTIC_BIN=str(wrapper))
        elapsed = time.monotonic() - started
        assert completed.returncode == 0, output(completed)
        assert f"a process left by {wrapper} holds restic's output open" in completed.stdout
        assert elapsed < 30
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_timeout_holds_even_when_restics_stderr_stays_open(sandbox):
    wrapper, pid_file = restic_wrapper(sandbox)
    runner = restic.Restic(str(wrapper), sandbox.env, kill_after_seconds=5)
    started = time.monotonic()
    try:
        # restic waits for its source command; the timeout interrupts both.
        completed = runner.run(
            "backup", "--stdin-from-command", "--stdin-filename", "x", "--", "sleep", "60", timeout_seconds=1
        )
        assert completed.exit_code == 124
        assert time.monotonic() - started < 20
    finally:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
