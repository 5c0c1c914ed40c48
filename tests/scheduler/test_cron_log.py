"""The shell image's cron.log: its compose files' `command: tail -fn0 /var/log/cron.log` starts
the scheduler, the scheduler's lines land in LOG_DIR/cron.log, and /bin/rotate_log archives the
file as the shell image did, without losing a line."""

import os
import signal
import tarfile
import time

import pytest


def archived_lines(log_dir) -> list[str]:
    """Every line of every cron_log_*.tar.gz, oldest archive first, then the live cron.log."""
    lines = []
    for path in sorted(log_dir.glob("cron_log_*.tar.gz"), key=lambda archive: archive.stat().st_mtime):
        with tarfile.open(path) as packed:
            assert packed.getnames() == ["cron.log"]
            lines += packed.extractfile("cron.log").read().decode().splitlines()
    return lines + (log_dir / "cron.log").read_text().splitlines()


@pytest.mark.parametrize(
    "command", [["tail", "-fn0", "/var/log/cron.log"], ["tail", "-F", "/var/log/cron.log"]]
)
def test_the_shell_images_tail_command_starts_the_scheduler_and_fills_cron_log(sandbox, start_entry, command):
    running = start_entry(*command, BACKUP_CRON="* * * * * *", ROTATE_LOG_CRON="")
    running.wait_for(r"starting the scheduler instead")
    running.wait_for(r"backup finished: ok", timeout=60)
    assert running.stop(signal.SIGTERM)[0] == 0

    cron_log = (sandbox.log_dir / "cron.log").read_text()
    assert "[scheduler]" in cron_log and "[backup]" in cron_log and "backup finished: ok" in cron_log
    assert sandbox.env["RESTIC_PASSWORD"] not in cron_log


def test_scheduled_rotation_archives_and_keeps_the_newest_without_losing_a_line(sandbox, start_entry):
    running = start_entry(
        ROTATE_LOG_CRON="* * * * * *", CRON_LOG_MAX_SIZE="300", MAX_CRON_LOG_ARCHIVES="50", HOOK_TIMEOUT="5"
    )
    running.wait_for(r"rotate_log finished: ok", count=4, timeout=60)
    running.stop(signal.SIGTERM)

    assert 1 <= len(list(sandbox.log_dir.glob("cron_log_*.tar.gz"))) <= 50
    lines = archived_lines(sandbox.log_dir)
    # Each line once, in order: nothing lost or doubled between the rename and the next line.
    stamps = [line.split(" [", 1)[0] for line in lines]
    assert len(lines) == len(set(lines)) and stamps == sorted(stamps)
    assert sum("restic-helper scheduler, pid" in line for line in lines) == 1
    # Every run's last line that reached stdout reached cron.log or an archive too.
    finished = len(running.matching(r"rotate_log finished: ok"))
    assert sum("rotate_log finished: ok" in line for line in lines) == finished


def test_rotate_log_by_hand_keeps_a_small_log_and_prunes_old_archives(sandbox):
    cron_log = sandbox.log_dir / "cron.log"
    cron_log.write_text("small\n")
    completed = sandbox.helper("rotate_log")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert sandbox.last_json("rotate_log")["rotated"] is False and cron_log.read_text() == "small\n"

    for age in range(4):
        old = sandbox.log_dir / f"cron_log_2020010{age + 1}_000000.tar.gz"
        old.write_bytes(b"")
        stamp = time.time() - 86400 * (5 - age)
        os.utime(old, (stamp, stamp))
    cron_log.write_text("x" * 2000 + "\n")
    completed = sandbox.helper("rotate_log", CRON_LOG_MAX_SIZE="1000", MAX_CRON_LOG_ARCHIVES="2")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = sandbox.last_json("rotate_log")
    assert document["rotated"] is True and (document["archives_kept"], document["archives_removed"]) == (2, 3)
    kept = sorted(path.name for path in sandbox.log_dir.glob("cron_log_*.tar.gz"))
    assert kept == sorted(["cron_log_20200104_000000.tar.gz", document["archive"]])
    assert not cron_log.exists()


def test_a_bad_size_is_named_and_exits_2(sandbox):
    completed = sandbox.helper("rotate_log", CRON_LOG_MAX_SIZE="0")
    assert completed.returncode == 2
    assert "CRON_LOG_MAX_SIZE" in completed.stdout + completed.stderr
