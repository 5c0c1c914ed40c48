"""What the helper costs a restore: `bin/restore` against raw `restic restore` of the same
snapshot, interleaved, with the medians' ratio; and the helper's own peak memory, which must
stay flat as the tree grows (restic does the work; the helper only reads its progress).

    python3 bench/restore_throughput.py [--runs 5] [--files 20000] [--megabytes 500]

Both sides restore the same snapshot into an empty directory on the same filesystem: raw
restic as `restic restore <id> --target T --json`; the helper twice, as `bin/restore --id <id>
--target T --yes` (restic checks the id itself) and as `bin/restore --target T --yes`, which
resolves `latest` with one more `restic snapshots` first, so the audit can name it (one more
repository open: restic derives its key again, about half a second).

The helper's peak RSS is read from its own /proc status (VmHWM) by a wrapper, without
restic's, which is a child. Targets (issue 11): ratio at most 1.03; helper RSS at most 60 MB.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.tools import tool  # noqa: E402 - finds (or installs) restic >= 0.17

# Runs the helper in-process and prints its own peak RSS (VmHWM, kB) on stderr at exit.
MEASURED_HELPER = """
import atexit, re, runpy, sys
def peak():
    status = open("/proc/self/status").read()
    sys.stderr.write("helper-peak-kb " + re.search(r"VmHWM:\\s+(\\d+)", status).group(1) + "\\n")
atexit.register(peak)
sys.argv = ["helper", *sys.argv[1:]]
runpy.run_module("helper", run_name="__main__")
"""


def make_tree(root: Path, files: int, megabytes: int) -> None:
    """`files` files of incompressible data, `megabytes` in all, 200 to a directory."""
    size = megabytes * 1024 * 1024 // files
    for index in range(files):
        folder = root / f"dir{index // 200:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"file{index:06d}.bin").write_bytes(os.urandom(size))


def environment(work: Path, restic: str) -> dict:
    python_dir = str(Path(sys.executable).parent)
    base = {
        key: value for key, value in os.environ.items() if not key.startswith(("RESTIC_", "LOG_", "METRICS_"))
    }
    return base | {
        "PATH": f"{python_dir}{os.pathsep}{Path(restic).parent}{os.pathsep}{base.get('PATH', '')}",
        "RESTIC_REPOSITORY": str(work / "repo"),
        "RESTIC_PASSWORD": "benchmark-password",
        "RESTIC_CACHE_DIR": str(work / "cache"),
        "RESTIC_BIN": restic,
        "LOG_DIR": str(work / "log"),
        "PYTHONPATH": str(ROOT),
        "TZ": "UTC",
    }


def timed(argv: list[str], env: dict, target: Path) -> tuple[float, str]:
    shutil.rmtree(target, ignore_errors=True)
    # The last run's 500 MB still being written back would slow whichever way runs next.
    os.sync()
    started = time.perf_counter()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({completed.returncode}): {completed.stderr[-500:]}")
    shutil.rmtree(target, ignore_errors=True)
    return elapsed, completed.stderr


def measure(work: Path, restic: str, runs: int, snapshot: str) -> dict[str, list[float]]:
    """Interleaved runs of each way to restore; seconds per way, plus the helper's peaks (kB)."""
    env = environment(work, restic)
    target = work / "target"
    helper = [sys.executable, "-c", MEASURED_HELPER, "restore", "--target", str(target), "--yes"]
    ways = {
        "raw restic restore": [restic, "restore", snapshot, "--target", str(target), "--json"],
        "bin/restore --id": [*helper, "--id", snapshot],
        "bin/restore latest": [*helper, "--host", "", "--tag", ""],
    }
    results: dict[str, list[float]] = {way: [] for way in [*ways, "peak"]}
    for _ in range(runs):
        for way, argv in ways.items():
            elapsed, stderr = timed(argv, env, target)
            results[way].append(elapsed)
            if "helper-peak-kb " in stderr:
                results["peak"].append(int(stderr.rsplit("helper-peak-kb ", 1)[1].split()[0]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--files", type=int, default=20000)
    parser.add_argument("--megabytes", type=int, default=500)
    options = parser.parse_args()
    restic = tool("restic")
    with tempfile.TemporaryDirectory(prefix="restore-bench-", dir=os.environ.get("BENCH_DIR")) as scratch:
        work = Path(scratch)
        make_tree(work / "tree", options.files, options.megabytes)
        env = environment(work, restic)
        subprocess.run([restic, "init"], env=env, check=True, capture_output=True)
        subprocess.run([restic, "backup", "-q", str(work / "tree")], env=env, check=True, capture_output=True)
        listing = subprocess.run(
            [restic, "snapshots", "--json"], env=env, check=True, capture_output=True, text=True
        )
        snapshot = listing.stdout.split('"id":"', 1)[1][:64]
        results = measure(work, restic, options.runs, snapshot)
    raw = statistics.median(results["raw restic restore"])
    print(f"tree: {options.files} files, {options.megabytes} MB; {options.runs} interleaved runs each")
    for way in ("raw restic restore", "bin/restore --id", "bin/restore latest"):
        times = results[way]
        median = statistics.median(times)
        print(
            f"{way:20}: median {median:.2f}s (min {min(times):.2f}, max {max(times):.2f}), "
            f"ratio {median / raw:.3f} (target <= 1.03)"
        )
    peaks = results["peak"]
    print(
        f"helper peak RSS     : median {statistics.median(peaks) / 1024:.1f} MB, "
        f"max {max(peaks) / 1024:.1f} MB (target <= 60)"
    )


if __name__ == "__main__":
    main()
