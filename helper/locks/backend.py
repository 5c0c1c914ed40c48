"""Direct access to a repository's `locks/` folder where the helper can reach it itself: a local
path (a folder) and a REST server (GET /locks/, DELETE /locks/<id>).

Listing lock ids this way needs no key derivation, so a waiting run can poll once a second
to notice a release at once. Removing by id takes away exactly the lock proven stale, which
plain `restic unlock` cannot do without its SIGHUP probe. Other backends return no store.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from helper.locks.repository import LOCK_ID

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


def _requests():
    """Return the requests module, imported lazily (only REST repositories need it). The run may
    be importing it in the background for the webhook reporter: wait for that first, since a
    module two threads import at once can come out half-loaded."""
    from helper.report import wait_for_preload

    wait_for_preload()
    import requests

    return requests


@dataclass(frozen=True)
class RestStore:
    base_url: str  # ends with "/", carries no credentials
    auth: tuple[str, str] | None = None
    verify: bool | str = True
    kind: str = "rest"

    def _request(self, method: str, path: str, **arguments):
        return _requests().request(
            method,
            self.base_url + path,
            auth=self.auth,
            verify=self.verify,
            timeout=REST_TIMEOUT_SECONDS,
            **arguments,
        )

    def list_ids(self) -> set[str] | None:
        """Return the ids the server lists under locks/, or None when it cannot be asked."""
        requests = _requests()
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
        requests = _requests()
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
