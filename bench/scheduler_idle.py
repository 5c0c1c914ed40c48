"""The scheduler at rest: CPU %, wakeups and RSS of PID 1 with four schedules, none of which
fires during the measurement, plus the modules it imported.

    python3 bench/scheduler_idle.py [--seconds 60]

The scheduler runs as `python3 -m helper entry` (what bin/entry execs) with the probe off,
so the measurement starts once it says "scheduler ready". From /proc/<pid>:
- CPU: utime + stime over the window, as a share of one core;
- wakeups: voluntary + involuntary context switches over the window (a process asleep in
  select() and never woken scores 0);
- RSS: VmRSS at the end, and VmHWM (the peak, start-up included).
Targets (issue 3): under 0.1 % CPU, no wakeups between fires, RSS of at most 30 MB.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The four schedules fire at most once a day, and never in the same minute as now.
SCHEDULES = {
    "BACKUP_CRON": "{minute} {hour} * * *",
    "FORGET_CRON": "{minute} {hour} * * 0",
    "PRUNE_CRON": "{minute} {hour} 1 * *",
    "CHECK_CRON": "0 0 29 2 *",
}
HEAVY = ("jinja2", "requests", "prometheus_client", "docker", "smtplib", "helper.envelope", "helper.workers")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def status_value(pid: int, key: str) -> int:
    return int(re.search(rf"^{key}:\s+(\d+)", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)[1])


def context_switches(pid: int) -> int:
    return status_value(pid, "voluntary_ctxt_switches") + status_value(pid, "nonvoluntary_ctxt_switches")


def start(work: Path, profile_imports: bool = False) -> tuple[subprocess.Popen, list[str]]:
    later = time.localtime(time.time() + 3 * 3600)
    env = {key: value for key, value in os.environ.items() if not key.endswith("_CRON")}
    env.update(
        {name: value.format(minute=later.tm_min, hour=later.tm_hour) for name, value in SCHEDULES.items()}
    )
    env.update(
        RESTIC_PASSWORD="bench",
        RESTIC_REPOSITORY=str(work / "repository"),
        RESTIC_CHECK_REPOSITORY_STATUS="OFF",
        LOG_DIR=str(work / "log"),
        LOCK_DIR=str(work / "lock"),
        SCHEDULE_LOCK_WAIT="1h",
    )
    if profile_imports:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "helper", "entry"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True).start()
    for line in process.stdout:
        if "scheduler ready" in line:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process, errors
    raise SystemExit("the scheduler never became ready:\n" + "".join(errors[-20:]))


def imported(errors: list[str]) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in errors if line.startswith("import time:")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as directory:
        # One start under -X importtime lists the modules; the measured one runs without it.
        profiled, errors = start(Path(directory) / "profiled", profile_imports=True)
        profiled.terminate()
        profiled.wait(30)
        process, _ = start(Path(directory))
        try:
            time.sleep(1)  # let start-up settle: the heartbeat write, the first select()
            pid = process.pid
            cpu_before, switches_before = cpu_seconds(pid), context_switches(pid)
            time.sleep(options.seconds)
            cpu = cpu_seconds(pid) - cpu_before
            wakeups = context_switches(pid) - switches_before
            rss, peak = status_value(pid, "VmRSS") / 1024, status_value(pid, "VmHWM") / 1024
            threads = status_value(pid, "Threads")
        finally:
            process.terminate()
            process.wait(30)
    modules = imported(errors)
    heavy = sorted(module for module in modules if module.startswith(HEAVY)) or "none"
    print(f"scheduler idle over {options.seconds:g} s, four schedules, none firing:")
    print(
        f"  CPU      {100 * cpu / options.seconds:.3f} % of one core ({cpu * 1000:.0f} ms)   target < 0.1 %"
    )
    print(f"  wakeups  {wakeups} context switches                      target 0")
    print(f"  RSS      {rss:.1f} MB now, {peak:.1f} MB peak               target <= 30 MB")
    print(f"  threads  {threads}")
    print(f"  modules  {len(modules)} imported; heavy ones: {heavy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
