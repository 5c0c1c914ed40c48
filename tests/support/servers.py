"""Repository servers on loopback for the tests: a restic REST server (`rclone serve restic`)
serving a folder, so several "hosts" can share one repository over HTTP."""

import contextlib
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.tools import tool

SERVING = re.compile(r"Serving restic REST API on (?P<url>https?://\S+?)/?$")
START_TIMEOUT_SECONDS = 20


@dataclass(frozen=True)
class RestServer:
    """A running REST server; `repository("repo")` is the RESTIC_REPOSITORY of `<root>/repo`."""

    url: str  # http://127.0.0.1:<port>, no trailing slash
    root: Path
    process: subprocess.Popen

    def repository(self, name: str) -> str:
        return f"rest:{self.url}/{name}/"


def _drain(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line.rstrip("\n"))


@contextlib.contextmanager
def rest_server(root: Path, *options: str) -> Iterator[RestServer]:
    """Serve the folder `root` with `rclone serve restic` on a free loopback port until the
    block ends. Extra `options` go to rclone (for example `--append-only`)."""
    process = subprocess.Popen(
        [tool("rclone"), "serve", "restic", "--addr", "127.0.0.1:0", *options, str(root)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={"RCLONE_CONFIG": "/dev/null", "PATH": "/usr/bin:/bin"},
    )
    lines: list[str] = []
    # Keep reading rclone's log, so a full pipe never blocks the server.
    threading.Thread(target=_drain, args=(process.stderr, lines), daemon=True).start()
    try:
        yield RestServer(_wait_for_url(process, lines), root, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_url(process: subprocess.Popen, lines: list[str]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        for line in list(lines):
            match = SERVING.search(line.strip())
            if match:
                return match["url"].rstrip("/")
        time.sleep(0.02)
    raise RuntimeError("rclone serve restic did not start:\n" + "\n".join(lines))
