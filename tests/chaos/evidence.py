"""What the campaign gathers to judge the product by: each host's event stream and scheduler
log, the repository's locks as the observer saw them over time, and its snapshots at the end."""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from tests.chaos.stack import Host, Stack, observe, scheduler_log

# "backup worker (pid 57) exited 0", as the scheduler says it, after Docker's timestamp.
WORKER_EXIT = re.compile(r"^(\S+) .*?(\w[\w-]*) worker \(pid (\d+)\) exited (-?\d+)")


def epoch(text: str) -> float:
    """An ISO time (Docker's nanoseconds, or the events' milliseconds) as seconds."""
    text = text.replace("Z", "+00:00")
    if "." in text:  # Python takes at most 6 digits of a fraction
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest).group()
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    return datetime.fromisoformat(text).timestamp()


def events_of(host: Host) -> list[dict]:
    """The host's events, oldest first, across one rotation; a torn last line is skipped."""
    found = []
    for name in ("events.jsonl.1", "events.jsonl"):
        path = host.logs / name
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            event["epoch"] = epoch(event["at"])
            found.append(event)
    return sorted(found, key=lambda event: event["epoch"])


def worker_exits(host: Host) -> list[tuple[float, str, int, int]]:
    """(time, job, pid, exit code) of each worker the host's scheduler saw exit."""
    exits = []
    for line in scheduler_log(host).splitlines():
        match = WORKER_EXIT.match(line)
        if match:
            stamp, job, pid, code = match.groups()
            exits.append((epoch(stamp), job, int(pid), int(code)))
    return exits


@dataclass
class SeenLock:
    id: str
    hostname: str
    pid: int
    exclusive: bool
    written: float  # the time in the lock: every container shares this machine's clock
    first_seen: float
    last_seen: float
    gone_at: float | None = None


@dataclass
class LockWatch:
    """Samples the repository's locks every `interval` seconds from the observer."""

    stack: Stack
    interval: float = 2.0
    locks: dict[str, SeenLock] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)

    def sample(self) -> None:
        listing = observe(self.stack, "list", "locks", "--no-lock", timeout=60)
        if listing.returncode != 0:
            return  # the REST server restarting: no verdict from a failed listing
        now, present = time.time(), set(listing.stdout.split())
        for lock_id in present - set(self.locks):
            shown = observe(self.stack, "cat", "lock", lock_id, "--no-lock", timeout=60)
            try:
                document = json.loads(shown.stdout)
            except ValueError:
                continue  # removed between the listing and the read
            self.locks[lock_id] = SeenLock(
                lock_id, document.get("hostname", ""), int(document.get("pid", 0)),
                bool(document.get("exclusive")), epoch(document["time"]), now, now,
            )  # fmt: skip
        for lock in self.locks.values():
            if lock.id in present:
                lock.last_seen = now
            elif lock.gone_at is None:
                lock.gone_at = now

    def run(self) -> None:
        while not self.stopping.is_set():
            self.sample()
            self.stopping.wait(self.interval)

    def present(self) -> list[SeenLock]:
        return [lock for lock in self.locks.values() if lock.gone_at is None]


def final_snapshots(stack: Stack) -> list[dict]:
    listing = observe(stack, "snapshots", "--no-lock", "--json", timeout=120)
    return json.loads(listing.stdout or "[]")
