"""Fixtures for the scheduler tests: the real entrypoint as a child process whose output is
read as it comes, the repository's locks, and another host's exclusive lock."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import lock_ids
from tests.support.hosts import start_as_host

ROOT = Path(__file__).resolve().parents[2]
# Second-resolution schedules without a probe unless a test asks for one.
QUICK = {
    "RESTIC_CHECK_REPOSITORY_STATUS": "OFF",
    "BACKUP_CRON": "",
    "ROTATE_LOG_CRON": "",
    "STOP_GRACE_SECONDS": "20",
}


class Running:
    """`bin/entry` (or any argv) started in a session of its own, its output collected by line."""

    def __init__(self, argv: list[str], env: dict, cwd: Path | None = None) -> None:
        self.process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            with self.changed:
                self.lines.append(line.rstrip("\n"))
                self.changed.notify_all()
        with self.changed:
            self.changed.notify_all()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        with self.changed:
            return "\n".join(self.lines)

    def matching(self, pattern: str) -> list[str]:
        with self.changed:
            return [line for line in self.lines if re.search(pattern, line)]

    def wait_for(self, pattern: str, timeout: float = 30, count: int = 1) -> list[str]:
        """Wait until `count` output lines match `pattern`; return them."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(found := [line for line in self.lines if re.search(pattern, line)]) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.process.poll() is not None and not self.reader.is_alive()):
                    raise AssertionError(
                        f"no {count} line(s) matching {pattern!r}; output:\n" + "\n".join(self.lines)
                    )
                self.changed.wait(min(remaining, 0.5))
        return found

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 60) -> tuple[int, float]:
        """Send `signum`; return (exit code, seconds until the process exited)."""
        started = time.monotonic()
        self.process.send_signal(signum)
        exit_code = self.process.wait(timeout)
        self.reader.join(10)
        return exit_code, time.monotonic() - started

    def finish(self, timeout: float = 60) -> int:
        exit_code = self.process.wait(timeout)
        self.reader.join(10)
        return exit_code

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


@pytest.fixture
def start_entry(sandbox) -> Iterator:
    """`start_entry(*arguments, **env)` starts bin/entry with the sandbox's environment."""
    started: list[Running] = []

    def start(*arguments: str, **overrides) -> Running:
        env = {**sandbox.env, **QUICK, **{key: str(value) for key, value in overrides.items()}}
        running = Running([sys.executable, "-m", "helper", "entry", *arguments], env)
        started.append(running)
        return running

    yield start
    for running in started:
        if running.process.poll() is None:
            running.kill()


def repository_locks(env: dict) -> list[str]:
    return lock_ids(env)


def wait_until(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(0.05)


@contextlib.contextmanager
def exclusive_lock_of_other_host(env: dict, hostname: str = "otherhost") -> Iterator[str]:
    """Hold an exclusive repository lock as another host: `restic key passwd` takes it, then
    waits for the new password on stdin. Closing stdin lets it finish and remove the lock."""
    holder = start_as_host(
        hostname,
        [env["RESTIC_BIN"], "key", "passwd"],
        env,
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: repository_locks(env) or holder.poll() is not None, 30, "the other host's lock")
        assert holder.poll() is None, "the lock holder exited before locking"
        yield repository_locks(env)[0]
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)


def process_state(pid: int) -> str | None:
    """Return the state letter of /proc/<pid>/stat (R, S, Z, ...), or None when it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None
