"""SCHEDULE_JITTER in the real processes: cron-list shows each job's delay and the delayed
times, and the scheduler ticks, its heartbeat and the metrics textfile follow the same times."""

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta

from helper.workers import jitter
from tests.scheduler.conftest import QUICK


def cron_list(sandbox, *arguments: str, **overrides) -> subprocess.CompletedProcess:
    env = {**sandbox.env, **QUICK, **overrides}
    return subprocess.run(
        [sys.executable, "-m", "helper", "cron-list", *arguments],
        env=env,
        text=True,
        capture_output=True,
        timeout=60,
    )


def test_cron_list_shows_each_jobs_jitter_and_the_delayed_fire_times(sandbox):
    offset = jitter.offset("nas-7", "backup", 600)
    assert offset, "pick a host name whose offset is not zero"
    settings = {"BACKUP_CRON": "30 2 * * *", "SCHEDULE_JITTER": "10m", "HOSTNAME": "nas-7"}
    completed = cron_list(sandbox, **settings)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    minutes, seconds = divmod(int(offset.total_seconds()), 60)
    shown = f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"
    assert (
        f"backup  BACKUP_CRON=30 2 * * *\n        at 02:30 every day\n        +{shown} jitter"
        in completed.stdout
    )
    delayed = (datetime(2000, 1, 1, 2, 30) + offset).strftime("%H:%M:%S")
    assert completed.stdout.count(f" {delayed} UTC") == 5, completed.stdout

    document = json.loads(cron_list(sandbox, "--json", **settings).stdout)
    (backup,) = [row for row in document["jobs"] if row["job"] == "backup"]
    assert backup["jitter_seconds"] == offset.total_seconds()
    assert [datetime.fromisoformat(moment).strftime("%H:%M:%S") for moment in backup["next"]] == [delayed] * 5
    without = cron_list(sandbox, BACKUP_CRON="30 2 * * *", HOSTNAME="nas-7")
    assert "jitter" not in without.stdout and without.stdout.count(" 02:30:00 UTC") == 5


def test_cron_list_refuses_a_negative_jitter_naming_it(sandbox):
    completed = cron_list(sandbox, BACKUP_CRON="30 2 * * *", SCHEDULE_JITTER="-5m")
    assert completed.returncode == 2
    assert (
        "❌ SCHEDULE_JITTER: expected a duration such as 90s, 5m, 2h or 1h30m, got '-5m'" in completed.stdout
    )


def test_the_scheduler_ticks_its_heartbeat_and_the_metrics_follow_the_delayed_times(sandbox, start_entry):
    host = next(f"node{number}" for number in range(100) if jitter.offset(f"node{number}", "backup", 5))
    offset = jitter.offset(host, "backup", 5).total_seconds()
    scheduler = start_entry(BACKUP_CRON="*/5 * * * * *", SCHEDULE_JITTER="5s", HOSTNAME=host)
    scheduler.wait_for(
        rf"backup: BACKUP_CRON=\*/5 \* \* \* \* \* \(every 5 seconds, \+{offset:.0f}s jitter\)"
    )
    scheduler.wait_for(r"\[backup\] ✅ backup finished: ok", timeout=30)
    assert scheduler.stop()[0] == 0, scheduler.output

    heartbeat = json.loads((sandbox.log_dir / "scheduler.json").read_text())
    assert datetime.fromisoformat(heartbeat["jobs"]["backup"]["next_fire"]).second % 5 == offset

    (tick,) = scheduler.matching(r"⏰ backup tick")[:1]
    assert int(re.search(r"tick \S+ \d\d:\d\d:(\d\d)", tick)[1]) % 5 == offset, tick
    prom = (sandbox.metrics_dir / "restic_backup.prom").read_text()
    upcoming = float(re.search(r"^restic_backup_next_run_timestamp\{[^}]*\} (\S+)$", prom, re.MULTILINE)[1])
    assert upcoming % 5 == offset
    assert timedelta(seconds=upcoming % 1) == timedelta(0)
