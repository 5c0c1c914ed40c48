"""Reading restic's repository locks without taking one: `restic list locks` (which takes no
lock) and `restic --no-lock cat lock <id>` (plain `cat` would need a lock, and fails with
exit 11 while an exclusive lock exists)."""

import json
import re
from dataclasses import dataclass
from datetime import datetime

from helper.locks.verdict import LockRecord
from helper.outcome import LOCK_CONFLICT
from helper.restic import Completed, Restic

LOCK_ID = re.compile(r"^[0-9a-f]{64}$")
# restic names the lock that blocked it by the first 8 hex digits of its id (since 0.8.3).
STORAGE_ID = re.compile(r"storage ID (?P<prefix>[0-9a-f]{8,64})")


@dataclass(frozen=True)
class Blocker:
    """The lock restic named when it could not lock the repository."""

    id_prefix: str = ""
    hostname: str = ""
    pid: int = 0
    exclusive: bool = False

    def describe(self) -> str:
        kind = "an exclusive lock" if self.exclusive else "a lock"
        where = f" of pid {self.pid} on {self.hostname or 'an unnamed host'}" if self.pid else ""
        return f"{kind}{where}" + (f" (id {self.id_prefix[:8]})" if self.id_prefix else "")


def list_lock_ids(restic: Restic) -> tuple[list[str] | None, Completed]:
    """Return the ids from `restic list locks` (None when the listing failed) and the call."""
    completed = restic.run("list", "locks", "--no-lock", echo=False)
    if completed.exit_code != 0:
        return None, completed
    return [line.strip() for line in completed.stdout.splitlines() if LOCK_ID.match(line.strip())], completed


def parse_time(text: object) -> float | None:
    """Given restic's RFC 3339 lock time (nanoseconds allowed), return epoch seconds or None."""
    if not isinstance(text, str):
        return None
    # Go writes up to nine fractional digits; Python reads at most six.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.strip())
    try:
        moment = datetime.fromisoformat(trimmed)
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo else None


def record_from_document(lock_id: str, document: dict) -> LockRecord:
    """Given the JSON restic stored in a lock file, return its record."""
    pid = document.get("pid")
    uid = document.get("uid")
    return LockRecord(
        lock_id=lock_id,
        hostname=str(document.get("hostname") or ""),
        pid=pid if isinstance(pid, int) else 0,
        username=str(document.get("username") or ""),
        time=parse_time(document.get("time")),
        exclusive=document.get("exclusive") is True,
        uid=uid if isinstance(uid, int) else None,
    )


def read_lock(restic: Restic, lock_id: str) -> tuple[dict | None, Completed]:
    """Return the lock's JSON document (None when it is gone or unreadable) and the call."""
    completed = restic.run("--no-lock", "cat", "lock", lock_id, echo=False)
    if completed.exit_code != 0:
        return None, completed
    try:
        document = json.loads(completed.stdout)
    except ValueError:
        return None, completed
    return (document if isinstance(document, dict) else None), completed


def blocker_from(completed: Completed) -> Blocker | None:
    """Given a failed restic call, return the lock its message names, or None."""
    conflict = LOCK_CONFLICT.search(completed.stderr)
    if conflict is None:
        return None
    storage = STORAGE_ID.search(completed.stderr, conflict.end())
    return Blocker(
        id_prefix=storage["prefix"] if storage else "",
        hostname=conflict["hostname"],
        pid=int(conflict["pid"]),
        exclusive=bool(conflict["exclusive"]),
    )
