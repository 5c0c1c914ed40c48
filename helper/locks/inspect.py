"""Inspecting repository locks: read every lock with restic, gather the facts about it (/proc,
this helper's own sightings, optionally the Docker engine), and give each its verdict.

Each lock file is read once: its id is the hash of its content, so what it says is kept
with the sightings in LOCK_DIR. Every inspection writes restic_locks.prom.
"""

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from helper.locks import docker_engine, lock_metrics, observations
from helper.locks.plan import JudgedLock
from helper.locks.process import holder_facts
from helper.locks.repository import list_lock_ids, read_lock, record_from_document
from helper.locks.verdict import UNKNOWN, LockRecord, Verdict, judge, span
from helper.restic import Completed, Restic
from helper.settings import Settings

UNREADABLE = Verdict(UNKNOWN, "cannot be read: corrupt, or removed while being read")


@dataclass(frozen=True)
class Inspection:
    at: float  # epoch seconds
    hostname: str  # this host, as restic records it (the kernel's nodename)
    locks: tuple[JudgedLock, ...]
    notes: tuple[str, ...] = ()  # problems that left some facts out

    @property
    def ids(self) -> set[str]:
        return {lock.record.lock_id for lock in self.locks}

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
    clock: Callable[[], float] = time.time
    restic_names: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        self.restic_names = frozenset({"restic", os.path.basename(str(self.settings.restic_bin))})

    def inspect(self) -> tuple[Inspection | None, Completed]:
        """Return the judged locks (None when restic cannot list them) and the listing call."""
        ids, listing = list_lock_ids(self.restic)
        if ids is None:
            return None, listing
        now = self.clock()
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
        docker = docker_engine.look(self.settings.lock_docker_aware and foreign)
        locks = tuple(
            self._judge(record, now, hostname, seen, docker)
            if record
            else JudgedLock(LockRecord(lock_id, "", 0), UNREADABLE)
            for lock_id, record in records.items()
        )
        notes = []
        if docker.problem:
            notes.append(f"LOCK_DOCKER_AWARE: no answer from the Docker engine ({docker.problem})")
        inspection = Inspection(now, hostname, locks, tuple(notes))
        lock_metrics.write(inspection, self.settings.metrics_dir, self.settings.hostname, self.restic.log)
        return inspection, listing

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
