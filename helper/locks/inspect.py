"""Inspecting repository locks: read every lock with restic, gather the facts about it (/proc,
this helper's own sightings, optionally the Docker engine), and give each its verdict.

Each lock file is read once: its id is the hash of its content, so what it says is kept
with the sightings in LOCK_DIR. An inspection reports nothing itself: the run keeps its last
one for the lock gauges.

LOCK_DOCKER_AWARE: LOCK_DOCKER_AWARE: what this host's Docker engine knows about a lock's hostname.

A container's hostname is its `hostname:` setting or, by default, the first 12 hex digits of
its id. A lock whose hostname is a container of this engine that is not running, or that
the engine destroyed after the lock was written, has no living holder. A hostname the
engine does not know says nothing: it may be another machine. The docker SDK is imported
only when this is switched on.
"""

import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from helper.clock import SYSTEM, Clock
from helper.locks import observations
from helper.locks.access import list_lock_ids, read_lock, record_from_document
from helper.locks.process import holder_facts
from helper.locks.verdict import STALE, UNKNOWN, JudgedLock, LockRecord, Verdict, judge, span
from helper.restic import Completed, Restic
from helper.settings import Settings

UNREADABLE = Verdict(UNKNOWN, "cannot be read: corrupt, or removed while being read")
SHORT_ID = re.compile(r"^[0-9a-f]{12}$")
ENGINE_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Inspection:
    at: float  # epoch seconds
    hostname: str  # this host, as restic records it (the kernel's nodename)
    locks: tuple[JudgedLock, ...]
    notes: tuple[str, ...] = ()  # problems that left some facts out

    @property
    def ids(self) -> set[str]:
        return {lock.record.lock_id for lock in self.locks}

    def summary(self) -> dict[str, object]:
        """The numbers the lock gauges show: counts, the oldest age, and when this was seen."""
        ages = [lock.age(self.at) for lock in self.locks]
        return {
            "total": len(self.locks),
            "exclusive": sum(lock.record.exclusive for lock in self.locks),
            "stale": sum(lock.verdict.verdict == STALE for lock in self.locks),
            "oldest_age_seconds": max([age for age in ages if age is not None and age > 0], default=0),
            "inspected_at": self.at,
            # Who holds them, for status; the lock gauges take the numbers only.
            "holders": sorted({f"{lock.record.hostname} (pid {lock.record.pid})" for lock in self.locks}),
        }

    def documents(self) -> list[dict]:
        """Return one JSON object per lock, as `unlock --json` and last-unlock.json carry them."""
        return [document(lock, self.at) for lock in self.locks]


def document(lock: JudgedLock, now: float) -> dict:
    record, age = lock.record, lock.age(now)
    moment = None if record.time is None else datetime.fromtimestamp(record.time, UTC)
    return {
        "id": record.lock_id,
        "hostname": record.hostname,
        "pid": record.pid,
        "username": record.username,
        "time": moment.isoformat(timespec="seconds") if moment else None,
        "age_seconds": None if age is None else round(age, 1),
        "exclusive": record.exclusive,
        "verdict": lock.verdict.verdict,
        "reason": lock.verdict.reason,
    }


def table(inspection: Inspection) -> list[str]:
    """Return the inspection as aligned text lines for the log and the console."""
    rows = [("ID", "HOST", "PID", "USER", "AGE", "EXCL", "VERDICT", "REASON")]
    for lock in inspection.locks:
        record, age = lock.record, lock.age(inspection.at)
        shown_age = "?" if age is None else ("-" if age < 0 else "") + span(age)
        rows.append(
            (
                record.lock_id[:8],
                record.hostname or "-",
                str(record.pid),
                record.username or "-",
                shown_age,
                "yes" if record.exclusive else "no",
                lock.verdict.verdict,
                lock.verdict.reason,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]


@dataclass
class Inspector:
    """Inspects one repository's locks for one run; cheap to call again (files are read once)."""

    restic: Restic
    settings: Settings
    clock: Clock = SYSTEM  # its time() dates the inspection and the sightings
    restic_names: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.restic_names = frozenset({"restic", os.path.basename(str(self.settings.restic_bin))})

    def inspect(self) -> tuple[Inspection | None, Completed]:
        """Return the judged locks (None when restic cannot list them) and the listing call."""
        ids, listing = list_lock_ids(self.restic)
        if ids is None:
            return None, listing
        now = self.clock.time()
        seen = observations.load(self.settings.lock_dir, self.settings.restic_repository)
        observations.note_ids(seen, set(ids), now)
        records = {lock_id: self._record(seen, lock_id) for lock_id in ids}
        if None in records.values():
            # A refresh or release between listing and reading: only still-listed ids count.
            relisted, _ = list_lock_ids(self.restic)
            records = {k: v for k, v in records.items() if v or relisted is None or k in relisted}
        observations.save(seen)
        hostname = os.uname().nodename
        foreign = any(record and record.hostname != hostname for record in records.values())
        docker = look_at_docker(self.settings.lock_docker_aware and foreign)
        locks = tuple(
            self._judge(record, now, hostname, seen, docker)
            if record
            else JudgedLock(LockRecord(lock_id, "", 0), UNREADABLE)
            for lock_id, record in records.items()
        )
        notes = []
        if docker.problem:
            notes.append(f"LOCK_DOCKER_AWARE: no answer from the Docker engine ({docker.problem})")
        return Inspection(now, hostname, locks, tuple(notes)), listing

    def _record(self, seen: observations.Observations, lock_id: str) -> LockRecord | None:
        document = observations.cached_document(seen, lock_id)
        if document is None:
            document, _ = read_lock(self.restic, lock_id)
            if document is None:
                return None
            observations.remember_document(seen, lock_id, document)
        return record_from_document(lock_id, document)

    def _judge(self, record, now, hostname, seen, docker) -> JudgedLock:
        same_host = bool(record.hostname) and record.hostname == hostname
        holder = holder_facts(record.pid, self.restic_names) if same_host and record.pid > 0 else None
        sighting = observations.sighting(seen, record)
        container = None if same_host else docker.state(record.hostname, record.time, now)
        verdict = judge(
            record, now, hostname, holder, sighting, container, self.settings.lock_observation_window
        )
        observed = None if sighting is None else max(0.0, now - sighting.first_seen)
        return JudgedLock(record, verdict, holder, observed)


@dataclass
class DockerView:
    """One snapshot of the engine's containers, built once per inspection."""

    hostnames: dict[str, str] = field(default_factory=dict)  # hostname or id -> "running"/"stopped"
    client: object | None = None
    problem: str = ""

    def state(self, hostname: str, since: float | None, until: float) -> str | None:
        """Return "running", "stopped", "destroyed" or None (not a known container)."""
        if not hostname or self.client is None:
            return None
        known = self.hostnames.get(hostname)
        if known is None and SHORT_ID.match(hostname):
            known = next((s for key, s in self.hostnames.items() if key.startswith(hostname)), None)
        if known is not None:
            return known
        if SHORT_ID.match(hostname) and since is not None and self._destroyed(hostname, since, until):
            return "destroyed"
        return None

    def _destroyed(self, short_id: str, since: float, until: float) -> bool:
        try:
            events = self.client.events(
                since=int(since) - 1,
                until=int(until) + 1,
                filters={"type": "container", "event": "destroy"},
                decode=True,
            )
            return any(str(event.get("id") or "").startswith(short_id) for event in events)
        except Exception:  # noqa: BLE001 - any engine problem only means "no evidence"
            return False


def look_at_docker(enabled: bool) -> DockerView:
    """Return the engine's view when LOCK_DOCKER_AWARE is on and the engine answers."""
    if not enabled:
        return DockerView()
    try:
        import docker  # only LOCK_DOCKER_AWARE needs the SDK

        client = docker.from_env(timeout=ENGINE_TIMEOUT_SECONDS)
        view = DockerView(client=client)
        for container in client.containers.list(all=True):
            state = "running" if container.status in ("running", "restarting", "paused") else "stopped"
            view.hostnames[container.id] = state
            hostname = (container.attrs.get("Config") or {}).get("Hostname")
            # A running container wins when two share a hostname.
            if hostname and view.hostnames.get(hostname) != "running":
                view.hostnames[hostname] = state
        return view
    except Exception as error:  # noqa: BLE001 - no socket, no SDK, no permission: no evidence
        return DockerView(problem=f"{type(error).__name__}: {error}")
