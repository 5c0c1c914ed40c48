"""Fire accuracy: how long after the scheduled second the scheduler starts the worker, over
20 ticks of a once-a-second schedule (median, p99, max).

    python3 bench/fire_accuracy.py [--ticks 20]

The scheduler (`python3 -m helper entry`, probe off) runs `FORGET_CRON="* * * * * *"`; a
pre-forget hook that exits 75 skips each run before restic, so a worker ends well within its
second and the machine stays quiet between ticks. Two figures:
- dispatch delay: the scheduler's own measure, printed on each tick line ("+N ms"): the wall
  clock right after the worker process was started, minus the scheduled instant;
- seen delay: when this script read that tick line from the scheduler's stdout, minus the
  scheduled instant (adds the pipe and this reader; an outside upper bound).
Target (issue 3): p99 of the dispatch delay at most 50 ms; printed as a ratio with a verdict,
and the exit code is 1 when it is missed.
"""

import argparse
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
P99_TARGET_MS = 50.0
TICK = re.compile(
    r"⏰ forget tick (?P<scheduled>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) \S+ → pid \d+ \(\+(?P<delay>[\d.]+) ms\)"
)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: with 20 values, p99 is the largest."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def measure(work: Path, ticks: int) -> tuple[list[float], list[float]]:
    hook = work / "hooks" / "pre-forget.sh"
    hook.parent.mkdir(parents=True)
    hook.write_text("#!/bin/sh\nexit 75\n")
    hook.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if not key.endswith("_CRON")}
    env.update(
        RESTIC_PASSWORD="bench",
        RESTIC_REPOSITORY=str(work / "repository"),
        RESTIC_CHECK_REPOSITORY_STATUS="OFF",
        RESTIC_FORGET_ARGS="--keep-last 10",
        FORGET_CRON="* * * * * *",
        BACKUP_CRON="",
        TZ="UTC",
        LOG_DIR=str(work / "log"),
        LOCK_DIR=str(work / "lock"),
        HOOKS_DIR=str(work / "hooks"),
        METRICS_DIR="",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "helper", "entry"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    dispatch, seen = [], []
    try:
        for line in process.stdout:
            match = TICK.search(line)
            if not match:
                continue
            read_at = time.time()
            scheduled = datetime.fromisoformat(match["scheduled"] + "+00:00").timestamp()
            dispatch.append(float(match["delay"]))
            seen.append((read_at - scheduled) * 1000)
            if len(dispatch) == ticks:
                break
    finally:
        process.terminate()
        process.wait(30)
    return dispatch, seen


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=20)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-fire-") as directory:
        dispatch, seen = measure(Path(directory), options.ticks)
    print(f"fire accuracy over {len(dispatch)} ticks of `* * * * * *`:")
    for label, values in (("dispatch delay", dispatch), ("seen delay", seen)):
        median, p99 = statistics.median(values), percentile(values, 0.99)
        print(f"  {label:<15} median {median:6.1f} ms   p99 {p99:6.1f} ms   max {max(values):6.1f} ms")
    p99 = percentile(dispatch, 0.99)
    passed = len(dispatch) == options.ticks and p99 <= P99_TARGET_MS
    print(
        f"  dispatch p99 {p99:.1f} ms / target {P99_TARGET_MS:.0f} ms = {p99 / P99_TARGET_MS:.2f}x  "
        f"{'PASS' if passed else 'FAIL'}"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
