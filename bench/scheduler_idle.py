"""The scheduler at rest: CPU %, wakeups and RSS of PID 1 with four schedules, none of which
fires during the measurement, plus the modules it imported.

    python3 bench/scheduler_idle.py [--seconds 60]

The scheduler runs as `python3 -m helper entry` (what bin/entry execs) with the probe off,
so the measurement starts once it says "scheduler ready". From /proc/<pid>:
- CPU: utime + stime over the window, as a share of one core;
- wakeups: voluntary + involuntary context switches over the window (a process asleep in
  select() and never woken scores 0);
- RSS: VmRSS at the end, and VmHWM (the peak, start-up included).
Targets (issue 3): under 0.1 % CPU, no wakeups between fires, RSS of at most 30 MB, and the
scheduler imports only what scheduling needs: none of HEAVY. Each figure is printed against its
target with a verdict; the exit code is 1 when any target is missed.
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
# Libraries and modules only a run needs. The job modules themselves are loaded: the registry
# reads what each job declares (its schedule variable, its own settings), and RSS_TARGET_MB
# bounds what that costs.
HEAVY = (
    "jinja2",
    "requests",
    "prometheus_client",
    "docker",
    "smtplib",
    "helper.envelope",
    "helper.report",
)
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
CPU_TARGET_PERCENT = 0.1
RSS_TARGET_MB = 30.0


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
        # What the scheduled jobs need, or the scheduler refuses to start.
        BACKUP_ROOT_DIR=str(work),
        RESTIC_FORGET_ARGS="--keep-last 10",
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


def heavy_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == name or m.startswith(name + ".") for name in HEAVY))


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def report(seconds: float, cpu: float, wakeups: int, rss: float, peak: float, modules: set[str]) -> bool:
    """Print each figure against its target; return whether every target is met."""
    cpu_percent = 100 * cpu / seconds
    heavy = heavy_modules(modules)
    checks = [
        (
            f"CPU      {cpu_percent:.3f} % / target {CPU_TARGET_PERCENT} % = "
            f"{cpu_percent / CPU_TARGET_PERCENT:.2f}x ({cpu * 1000:.0f} ms of one core)",
            cpu_percent < CPU_TARGET_PERCENT,
        ),
        (f"wakeups  {wakeups} context switches / target 0", wakeups == 0),
        (
            f"RSS      {rss:.1f} MB / target {RSS_TARGET_MB:.0f} MB = {rss / RSS_TARGET_MB:.2f}x "
            f"(peak {peak:.1f} MB = {peak / RSS_TARGET_MB:.2f}x)",
            rss <= RSS_TARGET_MB,
        ),
        (
            f"imports  {len(modules)} modules; heavy ones: {', '.join(heavy) or 'none'} / target none",
            not heavy,
        ),
    ]
    print(f"scheduler idle over {seconds:g} s, four schedules, none firing:")
    for line, passed in checks:
        print(f"  {line:<78} {verdict(passed)}")
    return all(passed for _, passed in checks)


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
    passed = report(options.seconds, cpu, wakeups, rss, peak, imported(errors))
    print(f"  threads  {threads}")
    print(f"verdict: {verdict(passed)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
