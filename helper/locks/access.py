"""The one place that lists, reads and removes a repository's locks.

Through restic, without taking a lock: `restic list locks` (which takes none) and `restic
--no-lock cat lock <id>` (plain `cat` would need a lock, and fails with exit 11 while an
exclusive lock exists). Directly where the helper reaches the backend itself, a local path
(a folder) or a REST server (GET /locks/, DELETE /locks/<id>): listing that way needs no key
derivation, so a waiting run can poll once a second, and removing by id takes away exactly
the lock proven stale, which plain `restic unlock` cannot do without its SIGHUP probe.
"""

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from helper.locks.verdict import LockRecord
from helper.outcome import EXIT_OK, LOCK_CONFLICT
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
    if completed.exit_code != EXIT_OK:
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
    if completed.exit_code != EXIT_OK:
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


OTHER_BACKENDS = ("sftp:", "s3:", "azure:", "gs:", "b2:", "swift:", "rclone:", "opendal:")
REST_TIMEOUT_SECONDS = 10
REST_V2 = "application/vnd.x.restic.rest.v2"


@dataclass(frozen=True)
class LocalStore:
    locks_dir: Path
    kind: str = "local"

    def list_ids(self) -> set[str] | None:
        """Return the ids in locks/, or None when the folder cannot be read."""
        try:
            return {name for name in os.listdir(self.locks_dir) if LOCK_ID.match(name)}
        except OSError:
            return None

    def remove(self, lock_id: str) -> str | None:
        """Remove one lock file; return None on success (or when it is gone), else the problem."""
        if not LOCK_ID.match(lock_id):
            return f"not a lock id: {lock_id!r}"
        try:
            (self.locks_dir / lock_id).unlink(missing_ok=True)
        except OSError as error:
            return error.strerror or str(error)
        return None


@dataclass(frozen=True)
class RestStore:
    base_url: str  # ends with "/", carries no credentials
    auth: tuple[str, str] | None = None
    verify: bool | str = True
    kind: str = "rest"

    def _request(self, method: str, path: str, **arguments):
        import requests  # only REST repositories need it

        return requests.request(
            method,
            self.base_url + path,
            auth=self.auth,
            verify=self.verify,
            timeout=REST_TIMEOUT_SECONDS,
            **arguments,
        )

    def list_ids(self) -> set[str] | None:
        """Return the ids the server lists under locks/, or None when it cannot be asked."""
        import requests

        try:
            response = self._request("GET", "locks/", headers={"Accept": REST_V2})
            entries = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None
        if not isinstance(entries, list):
            return None
        names = (entry.get("name") if isinstance(entry, dict) else entry for entry in entries)
        return {name for name in names if isinstance(name, str) and LOCK_ID.match(name)}

    def remove(self, lock_id: str) -> str | None:
        """DELETE one lock; return None on success (or when it is gone), else the problem."""
        import requests

        if not LOCK_ID.match(lock_id):
            return f"not a lock id: {lock_id!r}"
        try:
            response = self._request("DELETE", f"locks/{lock_id}")
        except requests.RequestException as error:
            return type(error).__name__
        return None if response.status_code in (200, 204, 404) else f"HTTP {response.status_code}"


def rest_store(url: str, environment: Mapping[str, str]) -> RestStore | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    user = parts.username or environment.get("RESTIC_REST_USERNAME", "")
    password = parts.password or environment.get("RESTIC_REST_PASSWORD", "")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc += f":{parts.port}" if parts.port else ""
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    base = urlunsplit((parts.scheme, netloc, path, "", ""))
    verify = environment.get("RESTIC_CACERT") or True
    return RestStore(base, (user, password) if user else None, verify)


def open_store(repository: str, environment: Mapping[str, str]) -> LocalStore | RestStore | None:
    """Given RESTIC_REPOSITORY and restic's environment, return a direct store, or None."""
    if repository.startswith("rest:"):
        return rest_store(repository.removeprefix("rest:"), environment)
    if repository.startswith(OTHER_BACKENDS) or not repository:
        return None
    path = Path(repository.removeprefix("local:"))
    return LocalStore(path / "locks") if path.is_absolute() else None


@dataclass(frozen=True)
class LockSource:
    """One repository's locks as a run reaches them. `restic` writes its calls into the run
    log; the listings of a lock wait, which may be hundreds, are logged below every sink."""

    restic: Restic
    store: LocalStore | RestStore | None

    @classmethod
    def open(cls, restic: Restic, repository: str) -> "LockSource":
        return cls(restic, open_store(repository, restic.environment))

    @property
    def direct(self) -> bool:
        return self.store is not None

    @property
    def kind(self) -> str:
        return self.store.kind if self.store is not None else "restic"

    def list_ids(self) -> set[str] | None:
        """Return the lock ids now (None when they cannot be listed), without logging."""
        ids = self.store.list_ids() if self.store is not None else None
        if ids is None:
            listed, _ = list_lock_ids(self.restic.quiet())
            ids = None if listed is None else set(listed)
        return ids

    def remove(self, lock_id: str) -> str | None:
        """Remove one lock by id; return None on success, else the problem."""
        if self.store is None:
            return "this backend cannot be reached directly"
        return self.store.remove(lock_id)

    def unlock(self) -> None:
        """Plain `restic unlock`: restic's own rule decides what goes."""
        self.restic.run("unlock")
