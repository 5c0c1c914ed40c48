"""The helper's memory of repository locks, kept in LOCK_DIR across runs: when it first saw each
lock id (by its own clock), what the lock says, and when an id went away.

A lock id is the hash of the lock's content, and restic writes a live lock anew (under a new
id) every 5 minutes. So an id seen unchanged for longer than that proves its holder stopped
refreshing, whatever the holder's clock says; the verdict asks for LOCK_OBSERVATION_WINDOW of
it, since a paused holder resumes and refreshes. Every time stored here is a real sighting by
this host's clock, so merging two writers' files by the earliest time never invents evidence.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from helper.files import atomic_write_text
from helper.locks.verdict import LockRecord, Sighting

STATE_NAME = "repository-locks.json"
# Ids gone for longer than this are forgotten; they only serve as evidence of a refresh.
FORGET_GONE_AFTER = 3600.0


@dataclass
class Observations:
    path: Path | None
    repository: str  # a hash of RESTIC_REPOSITORY: never the URL, which may carry a password
    entries: dict[str, dict] = field(default_factory=dict)
    changed: bool = False


def repository_key(repository: str) -> str:
    return hashlib.sha256(repository.encode()).hexdigest()[:16]


def _read(path: Path, key: str) -> dict[str, dict]:
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(document, dict) or document.get("repository") != key:
        return {}
    entries = document.get("locks")
    return {k: v for k, v in entries.items() if isinstance(v, dict)} if isinstance(entries, dict) else {}


def load(lock_dir: str, repository: str) -> Observations:
    """Return what earlier runs saw of this repository's locks (nothing when unreadable)."""
    path = Path(lock_dir) / STATE_NAME if lock_dir else None
    key = repository_key(repository)
    return Observations(path, key, _read(path, key) if path else {})


def note_ids(observations: Observations, ids: set[str], now: float) -> None:
    """Record a listing taken at `now`: new ids are first seen now, missing ones went away."""
    entries = observations.entries
    for lock_id in ids:
        entry = entries.get(lock_id)
        if entry is None:
            entries[lock_id] = {"first_seen": now}
            observations.changed = True
        elif entry.get("gone_at") is not None:
            entry.pop("gone_at")
            observations.changed = True
    for lock_id, entry in list(entries.items()):
        if lock_id not in ids and entry.get("gone_at") is None:
            entry["gone_at"] = now
            observations.changed = True
        elif entry.get("gone_at") is not None and now - entry["gone_at"] > FORGET_GONE_AFTER:
            del entries[lock_id]
            observations.changed = True


def remember_document(observations: Observations, lock_id: str, document: dict) -> None:
    """Keep what a lock file says: its content never changes under the same id."""
    entry = observations.entries.setdefault(lock_id, {})
    if entry.get("document") != document:
        entry["document"] = document
        observations.changed = True


def cached_document(observations: Observations, lock_id: str) -> dict | None:
    document = observations.entries.get(lock_id, {}).get("document")
    return document if isinstance(document, dict) else None


def sighting(observations: Observations, record: LockRecord) -> Sighting | None:
    """Return this helper's sighting of a lock, noting whether it replaced its holder's older lock."""
    entry = observations.entries.get(record.lock_id)
    if entry is None or not isinstance(entry.get("first_seen"), int | float):
        return None
    first_seen = float(entry["first_seen"])
    refreshed = any(
        other_id != record.lock_id
        and isinstance(other.get("document"), dict)
        and other["document"].get("hostname") == record.hostname
        and other["document"].get("pid") == record.pid
        and isinstance(other.get("gone_at"), int | float)
        and float(other.get("first_seen", first_seen)) < first_seen <= float(other["gone_at"])
        for other_id, other in observations.entries.items()
    )
    return Sighting(first_seen, refreshed)


def save(observations: Observations) -> None:
    """Write the memory back, keeping the earliest sighting another process may have written."""
    if observations.path is None or not observations.changed:
        return
    for lock_id, theirs in _read(observations.path, observations.repository).items():
        ours = observations.entries.get(lock_id)
        if ours is not None and isinstance(theirs.get("first_seen"), int | float):
            ours["first_seen"] = min(
                float(ours.get("first_seen", theirs["first_seen"])), theirs["first_seen"]
            )
    document = {"repository": observations.repository, "locks": observations.entries}
    try:
        atomic_write_text(observations.path, json.dumps(document, indent=1) + "\n", mode=0o600)
    except OSError:
        return  # without a writable LOCK_DIR, observation only lasts for this run
    observations.changed = False
