#!/usr/bin/env python3
"""Container figures against their targets: image size, cold start to "scheduler ready", and
the scheduler's RSS inside the container, each as a ratio to its target with PASS or FAIL.

    python3 bench/container_start.py [--image restic-helper:test] [--runs 5]

Cold start is measured from the moment `docker run` is invoked until the scheduler's ready
line reaches the attached stdout, with the start-up probe on (the default) and off. For
context, `docker run IMAGE true` gives the floor any container pays, and raw
`restic --no-lock cat config` in a container is what the probe costs on its own. RSS is
VmRSS of PID 1 (the scheduler) read from /proc/1/status through `docker exec`, right after
ready and again after a few idle seconds; the larger reading is judged. Build the image first
(scripts/build-image). Exits 1 when a figure misses its target.

Targets: cold start at most 2 s (issue 3); RSS at most 30 MB, as bench/scheduler_idle.py
holds the scheduler outside a container; image size at most 300 MB, a budget for Debian's
slim base (about 80 MB) plus python3, restic, rclone and ssh, which no issue fixes.
"""

import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

TARGET_START_SECONDS = 2.0
TARGET_RSS_MB = 30.0
TARGET_IMAGE_MB = 300.0
PASSWORD = "bench-password"
# What the scheduler prints once its schedules are set and it sleeps until the first fire.
READY = re.compile(r"scheduler ready")
SCHEDULES = {
    "BACKUP_CRON": "0 3 * * *",
    "FORGET_CRON": "15 3 * * *",
    "PRUNE_CRON": "30 3 * * 0",
    "CHECK_CRON": "45 3 * * 0",
    "RESTIC_FORGET_ARGS": "--keep-last 3",
    # The scheduler refuses a BACKUP_CRON with nothing to back up.
    "BACKUP_ROOT_DIR": "/data",
}


def docker(*arguments: str, check: bool = True) -> str:
    completed = subprocess.run(["docker", *arguments], capture_output=True, text=True, check=False)
    if check and completed.returncode != 0:
        sys.exit(f"docker {' '.join(arguments)} failed: {completed.stderr.strip()}")
    return completed.stdout


def environment_flags(environment: dict[str, str]) -> list[str]:
    return [flag for key, value in environment.items() for flag in ("-e", f"{key}={value}")]


def vm_rss_megabytes(container: str) -> float:
    status = docker("exec", container, "cat", "/proc/1/status")
    kilobytes = int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1])
    return kilobytes / 1024


def timed_run(image: str, *arguments: str) -> float:
    """Return how long `docker run IMAGE arguments` takes to exit; the removal is not timed."""
    name = f"bench-floor-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    docker("run", "--name", name, *arguments)
    elapsed = time.perf_counter() - started
    docker("rm", name)
    return elapsed


def cold_start(image: str, repository: str, probe: bool, idle_seconds: float) -> tuple[float, float, float]:
    """Start the scheduler; return (seconds to ready, RSS at ready, RSS after idling) in MB."""
    name = f"bench-start-{uuid.uuid4().hex[:8]}"
    environment = {
        **SCHEDULES,
        "RESTIC_PASSWORD": PASSWORD,
        "RESTIC_REPOSITORY": "/mnt/restic",
        "RESTIC_CHECK_REPOSITORY_STATUS": "ON" if probe else "OFF",
    }
    argv = ["docker", "run", "--rm", "--name", name, "-v", f"{repository}:/mnt/restic"]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*argv, *environment_flags(environment), image],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen: list[str] = []
    ready_at = None
    try:
        for line in process.stdout:
            seen.append(line)
            if READY.search(line):
                ready_at = time.perf_counter() - started
                break
        if ready_at is None:
            sys.exit("the scheduler never said it was ready:\n" + "".join(seen[-20:]))
        # Keep the pipe drained, or a chatty scheduler would block on a full pipe.
        threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        at_ready = vm_rss_megabytes(name)
        time.sleep(idle_seconds)
        idle = vm_rss_megabytes(name)
    finally:
        docker("rm", "--force", name, check=False)
        process.wait(timeout=30)
    return ready_at, at_ready, idle


def judged(name: str, measured: float, target: float, unit: str) -> bool:
    """Print one figure as a ratio to its target, with PASS or FAIL; return whether it passed."""
    passed = measured <= target
    verdict = "PASS" if passed else "FAIL"
    print(f"{name}: {measured:.2f} {unit} / {target:.0f} {unit} target = {measured / target:.2f}  {verdict}")
    return passed


def context_figures(image: str, repository: str, runs: int) -> None:
    """Print what any container pays (the floor) and what the raw probe costs, for comparison."""
    nothing = ("--entrypoint", "true", image)
    timed_run(image, *nothing)  # warm the page cache once, for every measurement alike
    floor = statistics.median(timed_run(image, *nothing) for _ in range(runs))
    print(f"  context: docker run IMAGE true (the floor) median {floor:.2f} s over {runs} runs")
    probe_alone = (
        "-v", f"{repository}:/mnt/restic", "-e", f"RESTIC_PASSWORD={PASSWORD}", "--entrypoint", "restic",
        image, "--repo", "/mnt/restic", "--no-lock", "cat", "config",
    )  # fmt: skip
    raw = statistics.median(timed_run(image, *probe_alone) for _ in range(runs))
    print(f"  context: docker run IMAGE restic --no-lock cat config (the raw probe) median {raw:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="restic-helper:test")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds before the second RSS reading")
    options = parser.parse_args()

    size_mb = int(docker("image", "inspect", "--format", "{{.Size}}", options.image)) / 1e6
    passed = [judged(f"image size of {options.image}", size_mb, TARGET_IMAGE_MB, "MB")]
    repository = f"bench-repository-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", repository)
    try:
        docker(
            "run", "--rm", "-v", f"{repository}:/mnt/restic", "-e", f"RESTIC_PASSWORD={PASSWORD}",
            "--entrypoint", "restic", options.image, "init", "--repo", "/mnt/restic",
        )  # fmt: skip
        for probe, label in ((True, "probe on, the default"), (False, "probe off")):
            runs = [cold_start(options.image, repository, probe, options.idle) for _ in range(options.runs)]
            starts = [run[0] for run in runs]
            median = statistics.median(starts)
            passed.append(
                judged(f"cold start to scheduler ready ({label}), median", median, TARGET_START_SECONDS, "s")
            )
            print(f"  over {options.runs} runs: min {min(starts):.2f} s, max {max(starts):.2f} s")
            rss = max(max(run[1], run[2]) for run in runs)
            passed.append(judged(f"scheduler RSS ({label}), largest reading", rss, TARGET_RSS_MB, "MB"))
        context_figures(options.image, repository, options.runs)
    finally:
        docker("volume", "rm", "--force", repository, check=False)
    return 0 if all(passed) else 1


if __name__ == "__main__":
    sys.exit(main())
