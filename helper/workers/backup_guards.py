"""The backup's guards against silent data loss: a source that is not there, a snapshot that
shrank, a tree that changed wholesale. Each makes the backup fail or warn, and a warning
skips the inline forget, so retention never acts on a suspect backup.

An NFS share that did not mount, or a volume re-created empty, leaves a directory that
restic backs up happily: zero files, exit 0, and the retention policy then ages the good
snapshots out one by one. Before the backup the source must exist, be readable and hold
something (and BACKUP_SOURCE_MARKER, when set); after it, the snapshot must not have shrunk
past BACKUP_SHRINK_GUARD against this host's previous snapshot of the same paths. And when
more than BACKUP_CHURN_WARN percent of the files are new or changed, ransomware may have
encrypted them.
"""

import os
from pathlib import Path

from helper.restic import Restic
from helper.settings import Settings
from helper.settings.kinds import format_bytes

WHY = "an unmounted share or a re-created volume looks like this"


def source_problem(settings: Settings) -> str | None:
    """Why BACKUP_ROOT_DIR cannot be backed up, or None. Paths that RESTIC_JOB_ARGS names are
    restic's to judge."""
    root = settings.backup_root_dir
    if not root:
        return None
    path = Path(root)
    if not path.exists():
        return f"BACKUP_ROOT_DIR {root} does not exist ({WHY})"
    if not os.access(path, os.R_OK) or (path.is_dir() and not os.access(path, os.X_OK)):
        return f"BACKUP_ROOT_DIR {root} is not readable by uid {os.getuid()}"
    if path.is_dir():
        try:
            with os.scandir(path) as entries:
                empty = next(entries, None) is None
        except OSError as error:
            return f"BACKUP_ROOT_DIR {root} cannot be listed: {error.strerror}"
        if empty:
            return f"BACKUP_ROOT_DIR {root} is empty ({WHY})"
    marker = settings.backup_source_marker
    if marker and not (path / marker).exists():
        return f"BACKUP_SOURCE_MARKER: {path / marker} is missing ({WHY})"
    return None


def previous_snapshot(restic: Restic, settings: Settings, snapshot_id: str) -> dict | None:
    """This host's snapshot of the same paths and tag before `snapshot_id`, read without a
    lock, or None (a first backup, or a listing that failed: the guard then says nothing)."""
    listing = restic.run(
        "snapshots", "--no-lock", "--json", "--latest", "2", "--host", settings.hostname,
        "--tag", settings.restic_tag, echo=False,
    )  # fmt: skip
    snapshots = listing.listed() or []
    current = next((s for s in snapshots if s.get("id") == snapshot_id), None)
    if current is None:
        return None
    same_paths = [s for s in snapshots if s.get("paths") == current.get("paths") and s is not current]
    return max(same_paths, key=lambda snapshot: snapshot.get("time", ""), default=None)


def shrink_warning(previous: dict | None, extras: dict, guard_percent: int) -> str | None:
    """Given the previous snapshot and this backup's figures, the warning when files or bytes
    dropped by more than `guard_percent`, or None."""
    summary = (previous or {}).get("summary") or {}
    before = (summary.get("total_files_processed"), summary.get("total_bytes_processed"))
    after = (extras.get("files_processed"), extras.get("bytes_processed"))
    if not guard_percent or None in (*before, *after):
        return None
    drops = [1 - now / then for now, then in zip(after, before, strict=True) if then]
    if not drops or max(drops) * 100 <= guard_percent:
        return None
    return (
        f"the snapshot holds {after[0]} files ({format_bytes(after[1])}), {max(drops):.0%} less than "
        f"this host's previous snapshot {previous['short_id']} ({before[0]} files, "
        f"{format_bytes(before[1])}; BACKUP_SHRINK_GUARD={guard_percent}%): {WHY}"
    )


def churn(extras: dict) -> float | None:
    """The share of files new or changed since the parent snapshot; None for a first backup
    (everything is new) or an empty one."""
    new, changed, unmodified = (
        extras.get(key) or 0 for key in ("files_new", "files_changed", "files_unmodified")
    )
    if changed + unmodified == 0:
        return None
    return round((new + changed) / (new + changed + unmodified), 4)


def churn_warning(ratio: float | None, settings: Settings) -> str | None:
    if ratio is None or not settings.backup_churn_warn or ratio * 100 <= settings.backup_churn_warn:
        return None
    return (
        f"{ratio:.0%} of the files are new or changed since the last snapshot (BACKUP_CHURN_WARN="
        f"{settings.backup_churn_warn}%): mass deletion or encryption looks like this"
    )
