"""Fixtures for the core tests: another host's exclusive repository lock, a slow backup source,
and readers for the artifacts a run leaves behind."""

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hosts import start_as_host

ROOT = Path(__file__).resolve().parents[2]
HELPER = [sys.executable, "-m", "helper"]


def repository_locks(sandbox, **overrides) -> list[str]:
    """Return the ids of the repository's locks, read without taking a lock."""
    return sandbox.lock_ids(**overrides)


@contextlib.contextmanager
def lock_from_other_host(sandbox, hostname: str = "otherhost", exclusive: bool = True) -> Iterator[str]:
    """Hold a repository lock from another hostname until the block ends; yield its id.

    Exclusive: `restic key passwd` takes the exclusive lock, then waits for the new password
    on stdin. Non-exclusive: `restic backup --stdin` waits for its data. Closing stdin ends
    either one, and restic removes its own lock.
    """
    command = ["key", "passwd"] if exclusive else ["backup", "--stdin", "--stdin-filename", "held"]
    holder = start_as_host(
        hostname,
        [sandbox.env["RESTIC_BIN"], *command],
        sandbox.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not (locks := repository_locks(sandbox)):
            assert holder.poll() is None, "the lock holder exited before locking"
            assert time.monotonic() < deadline, "the other host never took its lock"
            time.sleep(0.05)
        yield locks[0]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


@pytest.fixture
def other_host_lock(sandbox):
    """`with other_host_lock(exclusive=True) as lock_id:` holds another host's repository lock."""
    return lambda hostname="otherhost", exclusive=True: lock_from_other_host(sandbox, hostname, exclusive)


def helper_process(sandbox, *arguments: str, **overrides) -> subprocess.Popen:
    """Start `python -m helper <arguments>` without waiting, with the sandbox environment."""
    env = {**sandbox.env, **{key: str(value) for key, value in overrides.items()}}
    return subprocess.Popen(
        [sys.executable, "-m", "helper", *arguments],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def slow_source(seconds: float) -> dict[str, str]:
    """Overrides that make /bin/backup read its data from a command that takes `seconds`."""
    return {
        "BACKUP_ROOT_DIR": "",
        "RESTIC_JOB_ARGS": (
            f"--stdin-from-command --stdin-filename slow.txt -- sh -c 'sleep {seconds}; echo data'"
        ),
    }


def wait_until(predicate, timeout: float = 30.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.05)


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (a zombie waiting to be reaped counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return any(line.startswith("State:") and line.split()[1] in ("Z", "X") for line in status.splitlines())


def output(completed) -> str:
    return completed.stdout + completed.stderr


def read_metrics(path: Path) -> dict[str, float]:
    """Parse a textfile with prometheus-client's own parser; return sample -> value, where the
    sample is its name plus any label other than hostname (`name{status="ok"}`)."""
    from prometheus_client.parser import text_string_to_metric_families

    samples = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            labels = ",".join(f'{key}="{value}"' for key, value in sample.labels.items() if key != "hostname")
            samples[sample.name + (f"{{{labels}}}" if labels else "")] = sample.value
    return samples


def snapshots(sandbox) -> list[dict]:
    import json

    return json.loads(sandbox.restic("snapshots", "--json").stdout)


def run_lock(sandbox) -> Path:
    return Path(sandbox.env["LOCK_DIR"]) / "run.lock"


def holder_pid(sandbox) -> int | None:
    try:
        return json.loads(run_lock(sandbox).read_text()).get("pid")
    except (OSError, ValueError):
        return None


@contextlib.contextmanager
def lock_held_by_sleep(sandbox, job: str = "backup"):
    """Hold the run lock with `locked_run <job> <lock> sleep 60` until the block ends."""
    holder = subprocess.Popen(
        [*HELPER, "locked_run", job, str(run_lock(sandbox)), "sleep", "60"],
        env=sandbox.env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: holder_pid(sandbox) == holder.pid, timeout=10, message="the run lock to be taken")
        yield holder
    finally:
        holder.kill()
        holder.wait()
