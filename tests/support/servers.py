"""Repository servers on loopback for the tests, so several "hosts" can share one repository
over the network: a restic REST server and an SFTP server (`rclone serve restic|sftp`, both
serving a folder on disk) and an S3 server (moto, which keeps its buckets in memory). Also a
WebDAV server (`rclone serve webdav`), a remote for /bin/replicate's rclone jobs."""

import contextlib
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import tool

START_TIMEOUT_SECONDS = 20
RCLONE_ENVIRONMENT = {"RCLONE_CONFIG": "/dev/null", "PATH": "/usr/bin:/bin"}
# restic's sftp backend runs `ssh`; this client configuration makes it talk to the test server.
SSH_CONFIG = """Host 127.0.0.1
  Port {port}
  User tester
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  BatchMode yes
  LogLevel ERROR
"""


@dataclass(frozen=True)
class Server:
    """A running repository server; `repository("repo")` is the RESTIC_REPOSITORY of repo `repo`."""

    template: str  # the RESTIC_REPOSITORY of a repository named {name}
    ssh_directory: Path | None = None  # sftp: an `ssh` for the front of PATH that reaches the server

    def repository(self, name: str) -> str:
        return self.template.format(name=name)


def _drain(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


@contextlib.contextmanager
def _serve(argv: list[str], ready: re.Pattern, environment: dict | None = None) -> Iterator[re.Match]:
    """Run a server until the block ends; yield the match of `ready` on its first fitting line."""
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    lines: list[str] = []
    # Keep reading the server's log, so a full pipe never blocks it.
    threading.Thread(target=_drain, args=(process.stdout, lines), daemon=True).start()
    try:
        yield _wait_for(ready, process, lines)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(ready: re.Pattern, process: subprocess.Popen, lines: list[str]) -> re.Match:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        for line in list(lines):
            match = ready.search(line.strip())
            if match:
                return match
        time.sleep(0.02)
    raise RuntimeError(f"{process.args[:3]} did not start:\n" + "\n".join(lines))


@contextlib.contextmanager
def rest_server(root: Path, *options: str) -> Iterator[Server]:
    """Serve the folder `root` with `rclone serve restic` on a free loopback port until the
    block ends. Extra `options` go to rclone (for example `--append-only`)."""
    argv = [tool("rclone"), "serve", "restic", "--addr", "127.0.0.1:0", *options, str(root)]
    serving = re.compile(r"Serving restic REST API on (?P<url>https?://\S+?)/?$")
    with _serve(argv, serving, RCLONE_ENVIRONMENT) as match:
        yield Server("rest:" + match["url"].rstrip("/") + "/{name}/")


@contextlib.contextmanager
def sftp_server(root: Path, workspace: Path) -> Iterator[Server]:
    """Serve the folder `root` over SFTP (any user, no password) on a free loopback port."""
    workspace.mkdir(parents=True, exist_ok=True)
    host_key = workspace / "host_key"
    keygen = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)]
    subprocess.run(keygen, check=True, stdin=subprocess.DEVNULL)
    argv = [tool("rclone"), "serve", "sftp", "--addr", "127.0.0.1:0", "--no-auth", "--key", str(host_key)]
    argv.append(str(root))
    listening = re.compile(r"SFTP server listening on 127\.0\.0\.1:(?P<port>\d+)")
    with _serve(argv, listening, RCLONE_ENVIRONMENT) as match:
        config = workspace / "ssh_config"
        config.write_text(SSH_CONFIG.format(port=match["port"]))
        ssh = workspace / "bin" / "ssh"
        ssh.parent.mkdir(exist_ok=True)
        ssh.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F "{config}" "$@"\n')
        ssh.chmod(0o755)
        yield Server("sftp:127.0.0.1:{name}", ssh.parent)


@contextlib.contextmanager
def webdav_server(root: Path, user: str, password: str) -> Iterator[str]:
    """Serve the folder `root` over WebDAV with basic auth on a free loopback port; yield its URL."""
    argv = [tool("rclone"), "serve", "webdav", "--addr", "127.0.0.1:0", "--user", user, "--pass", password]
    started = re.compile(r"WebDav Server started on \[?(?P<url>http://127\.0\.0\.1:\d+)")
    with _serve([*argv, str(root)], started, RCLONE_ENVIRONMENT) as match:
        yield match["url"]


@contextlib.contextmanager
def s3_server() -> Iterator[Server]:
    """Serve S3 (moto) on a free loopback port; buckets live in the server's memory."""
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"]
    running = re.compile(r"Running on (?P<url>http://127\.0\.0\.1:\d+)")
    with _serve(argv, running) as match:
        yield Server("s3:" + match["url"] + "/restic-helper/{name}")
