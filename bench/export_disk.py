"""snapshot-export against the shell image's way (restore into a work directory, then tar and
gzip it): wall time and the peak extra disk each needs, measured on the same filesystem in
the same run, interleaved.

    python3 bench/export_disk.py [--runs 3] [--files 5000] [--megabytes 200]

Peak extra disk is the largest drop of free space on the work filesystem while the command
runs, sampled every 20 ms (os.statvfs), so it counts temporary copies the command removes
before it ends. The tree is half incompressible data and half text, so gzip has work to do.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.restore_throughput import environment  # noqa: E402 - same environment as the restore bench
from tests.support.tools import tool  # noqa: E402 - finds (or installs) restic >= 0.17


def make_tree(root: Path, files: int, megabytes: int) -> None:
    size = megabytes * 1024 * 1024 // files
    for index in range(files):
        folder = root / f"dir{index // 100:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        content = os.urandom(size) if index % 2 else (f"line {index}\n" * (size // 10 + 1)).encode()[:size]
        (folder / f"file{index:05d}").write_bytes(content)


def free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def measured(argv: list[str], env: dict, work: Path) -> tuple[float, int]:
    """Run argv; return its wall time and the peak drop of free space under `work`."""
    os.sync()
    baseline = free_bytes(work)
    lowest = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            lowest[0] = min(lowest[0], free_bytes(work))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if completed.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed ({completed.returncode}): {completed.stderr[-500:]}")
    return elapsed, max(0, baseline - lowest[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--megabytes", type=int, default=200)
    options = parser.parse_args()
    restic = tool("restic")
    with tempfile.TemporaryDirectory(prefix="export-bench-", dir=os.environ.get("BENCH_DIR")) as scratch:
        work = Path(scratch)
        make_tree(work / "tree", options.files, options.megabytes)
        env = environment(work, restic) | {"BACKUP_ROOT_DIR": ""}
        subprocess.run([restic, "init"], env=env, check=True, capture_output=True)
        subprocess.run([restic, "backup", "-q", str(work / "tree")], env=env, check=True, capture_output=True)
        archive, workdir = work / "out" / "export.tar.gz", work / "workdir"
        helper = [
            sys.executable,
            "-m",
            "helper",
            "snapshot-export",
            "--output",
            str(archive),
            "--force",
            "--tag",
            "",
        ]
        shell_way = [
            "sh", "-c",
            f'"{restic}" restore latest --target "{workdir}" -q && tar -C "{workdir}" -czf "{archive}" . '
            f'&& rm -rf "{workdir}"',
        ]  # fmt: skip
        results: dict[str, list[tuple[float, int]]] = {"snapshot-export": [], "restore + tar": []}
        for _ in range(options.runs):
            results["snapshot-export"].append(measured(helper, env, work))
            archive.unlink()
            results["restore + tar"].append(measured(shell_way, env, work))
            archive.unlink()
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"tree: {options.files} files, {options.megabytes} MB; {options.runs} interleaved runs each")
    medians = {
        way: (statistics.median(run[0] for run in runs), statistics.median(run[1] for run in runs))
        for way, runs in results.items()
    }
    base_seconds, base_disk = medians["restore + tar"]
    for way, (seconds, disk) in medians.items():
        print(
            f"{way:16}: {seconds:6.2f}s (ratio {seconds / base_seconds:.2f}), peak extra disk "
            f"{disk / 2**20:7.1f} MiB (ratio {disk / base_disk:.2f})"
        )


if __name__ == "__main__":
    main()
