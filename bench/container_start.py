#!/usr/bin/env python3
"""Container figures: image size, cold start to "scheduler ready", and the scheduler's RSS.

    python3 bench/container_start.py [--image restic-helper:test] [--runs 5]

Cold start is measured from the moment `docker run` is invoked until the scheduler's ready
line reaches the attached stdout. `docker run IMAGE true` gives the floor any container
pays, so the ratio shows what the helper itself adds; raw `restic --no-lock cat config` in a
container is what the start-up probe costs on its own. RSS is VmRSS of
PID 1 (the scheduler) read from /proc/1/status through `docker exec`, right after ready and
again after a few idle seconds. Build the image first (scripts/build-image).
"""

import argparse
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

TARGET_SECONDS = 2.0
PASSWORD = "bench-password"
# What the scheduler prints once its schedules are set and it sleeps until the first fire.
READY = re.compile(r"scheduler ready")
SCHEDULES = {
    "BACKUP_CRON": "0 3 * * *",
    "FORGET_CRON": "15 3 * * *",
    "PRUNE_CRON": "30 3 * * 0",
    "CHECK_CRON": "45 3 * * 0",
    "RESTIC_FORGET_ARGS": "--keep-last 3",
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="restic-helper:test")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--idle", type=float, default=5.0, help="seconds before the second RSS reading")
    options = parser.parse_args()

    size = int(docker("image", "inspect", "--format", "{{.Size}}", options.image))
    print(f"image {options.image}: {size / 1e6:.0f} MB")
    repository = f"bench-repository-{uuid.uuid4().hex[:8]}"
    docker("volume", "create", repository)
    try:
        docker(
            "run", "--rm", "-v", f"{repository}:/mnt/restic", "-e", f"RESTIC_PASSWORD={PASSWORD}",
            "--entrypoint", "restic", options.image, "init", "--repo", "/mnt/restic",
        )  # fmt: skip
        nothing = ("--entrypoint", "true", options.image)
        timed_run(options.image, *nothing)  # warm the page cache once, for every measurement alike
        floor = statistics.median(timed_run(options.image, *nothing) for _ in range(options.runs))
        print(f"docker run IMAGE true (the floor): median {floor:.2f} s over {options.runs} runs")
        probe_alone = (
            "-v", f"{repository}:/mnt/restic", "-e", f"RESTIC_PASSWORD={PASSWORD}", "--entrypoint", "restic",
            options.image, "--repo", "/mnt/restic", "--no-lock", "cat", "config",
        )  # fmt: skip
        raw = statistics.median(timed_run(options.image, *probe_alone) for _ in range(options.runs))
        print(f"docker run IMAGE restic --no-lock cat config (raw restic probe): median {raw:.2f} s")
        for probe in (False, True):
            runs = [cold_start(options.image, repository, probe, options.idle) for _ in range(options.runs)]
            starts = [run[0] for run in runs]
            median = statistics.median(starts)
            verdict = "meets" if median <= TARGET_SECONDS else "MISSES"
            label = "with start-up probe" if probe else "probe off"
            print(
                f"cold start to scheduler ready ({label}): median {median:.2f} s, "
                f"min {min(starts):.2f} s, max {max(starts):.2f} s, {median / floor:.1f}x the floor; "
                f"{verdict} the {TARGET_SECONDS:.0f} s target"
            )
            print(
                f"  scheduler RSS ({label}): {statistics.median(run[1] for run in runs):.1f} MB at ready, "
                f"{statistics.median(run[2] for run in runs):.1f} MB after {options.idle:.0f} s idle"
            )
    finally:
        docker("volume", "rm", "--force", repository, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
