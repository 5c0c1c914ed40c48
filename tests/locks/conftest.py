"""Fixtures for the lock tests: several "hosts" (own UTS hostname each) sharing one repository,
on a local path or behind a REST server; real restic lock holders; restic calls timed by a
wrapper; and readers for what a run leaves behind."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import lock_ids
from tests.support.hosts import as_host
from tests.support.servers import rest_server, s3_server, sftp_server

LOCK_ID = re.compile(r"^[0-9a-f]{64}$")
HOLDER_COMMANDS = {
    # `key passwd` takes the exclusive lock, then waits for the new password on stdin.
    "exclusive": ["key", "passwd"],
    # `backup --stdin` takes a non-exclusive lock and waits for its data.
    "backup": ["backup", "--stdin", "--stdin-filename", "held"],
}
LOCK_SETTLE_SECONDS = 0.6
TIMING_WRAPPER = """#!/bin/sh
# Records when each restic call starts, then becomes restic (same PID, same name).
[ -n "$RESTIC_CALLS" ] && printf '%s %s\\n' "$(date +%s.%N)" "$*" >> "$RESTIC_CALLS"
exec {restic} "$@"
"""


def wait_until(predicate, timeout: float = 30.0, message: str = "condition", step: float = 0.02):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {message}"
        time.sleep(step)
    return value


@dataclass
class LockHolder:
    """A real restic holding a repository lock under some hostname, released by closing stdin."""

    process: subprocess.Popen
    lock_id: str
    hostname: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def release(self) -> None:
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGCONT)
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        self.process.wait(timeout=30)

    def kill(self, reap: bool = True) -> None:
        self.process.send_signal(signal.SIGKILL)
        if reap:
            self.process.wait()

    def stop(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)


@dataclass
class Shared:
    """One repository that every "host" of a test uses; `repo_dir` is its folder on disk."""

    sandbox: object
    backend: str
    repo_dir: Path
    holders: list[LockHolder] = field(default_factory=list)

    @property
    def restic_bin(self) -> str:
        return self.sandbox.env["RESTIC_BIN"]

    def env(self, **overrides) -> dict:
        env = {**self.sandbox.env, **{key: str(value) for key, value in overrides.items()}}
        env.pop("HOSTNAME", None)  # the helper must see the UTS hostname of its "host"
        return env

    def locks(self) -> set[str]:
        """Return the lock ids: on disk where the served folder is on disk, else as restic lists them."""
        if self.backend == "s3":
            return set(lock_ids(self.env(RESTIC_CALLS="")))
        try:
            return {name for name in os.listdir(self.repo_dir / "locks") if LOCK_ID.match(name)}
        except FileNotFoundError:
            return set()

    def cat(self, lock_id: str) -> dict:
        completed = subprocess.run(
            [self.restic_bin, "--no-lock", "cat", "lock", lock_id],
            env=self.env(RESTIC_CALLS=""),
            capture_output=True,
            text=True,
            check=True,
        )
        return json.loads(completed.stdout)

    def hold(self, hostname: str, kind: str = "backup") -> LockHolder:
        """Start restic as `hostname` and return once its lock is in the repository."""
        before = self.locks()
        process = subprocess.Popen(
            as_host(hostname, [self.restic_bin, *HOLDER_COMMANDS[kind]]),
            env=self.env(RESTIC_CALLS=""),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a stopped holder must not get the kernel's SIGHUP/SIGCONT
        )
        holder = LockHolder(process, "", hostname)
        self.holders.append(holder)

        def new_lock():
            assert process.poll() is None, f"the {kind} holder on {hostname} exited before locking"
            return self.locks() - before

        holder.lock_id = next(iter(wait_until(new_lock, message=f"{hostname}'s lock")))
        # restic checks for other locks again 200 ms after writing its own, and may back off.
        time.sleep(LOCK_SETTLE_SECONDS)
        assert process.poll() is None and holder.lock_id in self.locks(), f"{hostname} backed off"
        return holder

    def helper(self, hostname: str, *arguments: str, timeout: float = 120, **overrides):
        """Run `python -m helper <arguments>` as host `hostname` and wait for it."""
        return subprocess.run(
            as_host(hostname, [sys.executable, "-m", "helper", *arguments]),
            env=self.env(**overrides),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start_helper(self, hostname: str, *arguments: str, **overrides) -> subprocess.Popen:
        return subprocess.Popen(
            as_host(hostname, [sys.executable, "-m", "helper", *arguments]),
            env=self.env(**overrides),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def calls(self, name: str) -> list[tuple[float, str]]:
        """Return (start time, arguments) of every restic call recorded under `name`, but the
        forget guard's dry runs: they take no lock, and these tests count the calls that may."""
        path = self.sandbox.root / f"calls-{name}.txt"
        if not path.exists():
            return []
        return [
            (float(stamp), rest)
            for stamp, _, rest in (line.partition(" ") for line in path.read_text().splitlines())
            if "--dry-run" not in rest.split()
        ]

    def calls_file(self, name: str) -> str:
        return str(self.sandbox.root / f"calls-{name}.txt")

    def last_json(self, job: str, hostname: str | None = None) -> dict:
        if hostname is None:
            return self.sandbox.last_json(job)
        return json.loads((self.sandbox.root / "hosts" / hostname / "log" / f"last-{job}.json").read_text())

    def own_dirs(self, hostname: str) -> dict[str, str]:
        """Overrides that give a host its own log, lock and metrics folders, as separate machines have."""
        root = self.sandbox.root / "hosts" / hostname
        dirs = {name: root / name for name in ("log", "lock", "metrics")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        return {
            "LOG_DIR": str(dirs["log"]),
            "LOCK_DIR": str(dirs["lock"]),
            "METRICS_DIR": str(dirs["metrics"]),
        }

    def release_and_time(self, holder: LockHolder) -> float:
        """Let the holder finish; return the wall time at which its lock file went away."""
        holder.process.stdin.close()
        wait_until(lambda: holder.lock_id not in self.locks(), message="the release", step=0.005)
        released_at = time.time()
        holder.process.wait(timeout=30)
        return released_at


def install_timing_wrapper(sandbox) -> None:
    wrapper = sandbox.root / "bin" / "restic"
    wrapper.parent.mkdir()
    wrapper.write_text(TIMING_WRAPPER.format(restic=sandbox.env["RESTIC_BIN"]))
    wrapper.chmod(0o755)
    sandbox.env["RESTIC_BIN"] = str(wrapper)


def cleanup(shared: Shared) -> None:
    for holder in shared.holders:
        if holder.process.poll() is None:
            os.kill(holder.pid, signal.SIGCONT)
            holder.process.kill()
            holder.process.wait()


@pytest.fixture
def shared(sandbox):
    """A local-path repository shared by the hosts of one test."""
    install_timing_wrapper(sandbox)
    value = Shared(sandbox, "local", Path(sandbox.env["RESTIC_REPOSITORY"]))
    yield value
    cleanup(value)


@pytest.fixture(params=["local", "rest"])
def any_shared(request, sandbox):
    """The same repository, once on a local path and once behind `rclone serve restic`."""
    install_timing_wrapper(sandbox)
    repo_dir = Path(sandbox.env["RESTIC_REPOSITORY"])
    if request.param == "local":
        value = Shared(sandbox, "local", repo_dir)
        yield value
        cleanup(value)
        return
    with rest_server(repo_dir.parent) as server:
        sandbox.env["RESTIC_REPOSITORY"] = server.repository(repo_dir.name)
        value = Shared(sandbox, "rest", repo_dir)
        yield value
        cleanup(value)


def first_start_after(shared, name: str, command: str, moment: float) -> float:
    starts = [
        start for start, arguments in shared.calls(name) if arguments.startswith(command) and start > moment
    ]
    assert starts, f"{name} never ran {command} after the release"
    return starts[0] - moment


@dataclass
class TimedOutput:
    """A running helper's stdout, read as it comes, each line with the wall time it arrived
    (the helper flushes its console after every line)."""

    process: subprocess.Popen
    lines: list[tuple[float, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append((time.time(), line))

    def finish(self, timeout: float = 120) -> str:
        """Wait for the process; return all its output."""
        self.process.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return "".join(line for _, line in self.lines) + self.process.stderr.read()

    def has(self, marker: str) -> bool:
        return any(marker in line for _, line in self.lines)

    def moment_of(self, marker: str) -> float:
        """Return when the first line holding `marker` arrived."""
        moments = [moment for moment, line in self.lines if marker in line]
        assert moments, f"no line with {marker!r} in:\n" + "".join(line for _, line in self.lines)
        return moments[0]


def output(completed) -> str:
    return completed.stdout + completed.stderr


def read_metrics(path: Path) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(path.read_text())
        for sample in family.samples
    }


def log_text(sandbox, job: str) -> str:
    return (sandbox.log_dir / f"{job}-last.log").read_text()


@pytest.fixture(params=["sftp", "s3", "rclone"])
def remote_shared(request, sandbox):
    """A repository that only restic can reach: over SFTP, in an S3 bucket, and through restic's
    rclone backend (restic starts `rclone serve restic --stdio` itself)."""
    install_timing_wrapper(sandbox)
    repo_dir = Path(sandbox.env["RESTIC_REPOSITORY"])
    if request.param == "rclone":
        sandbox.env.update(RESTIC_REPOSITORY=f"rclone::local:{repo_dir}", RCLONE_CONFIG="/dev/null")
        value = Shared(sandbox, "rclone", repo_dir)
        yield value
        cleanup(value)
        return
    if request.param == "sftp":
        with sftp_server(repo_dir.parent, sandbox.root / "sftp") as server:
            sandbox.env["RESTIC_REPOSITORY"] = server.repository(repo_dir.name)
            sandbox.env["PATH"] = f"{server.ssh_directory}{os.pathsep}{sandbox.env['PATH']}"
            value = Shared(sandbox, "sftp", repo_dir)
            yield value
            cleanup(value)
        return
    with s3_server() as server:
        sandbox.env["RESTIC_REPOSITORY"] = server.repository(repo_dir.name)
        sandbox.env.update(AWS_ACCESS_KEY_ID="tester", AWS_SECRET_ACCESS_KEY="s3-secret-of-the-tests")
        sandbox.restic("init")
        value = Shared(sandbox, "s3", repo_dir)
        yield value
        cleanup(value)
