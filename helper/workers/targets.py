"""Where an operator's command may write restored files (restore, restore-test,
snapshot-export, mount-snapshot), checked before the first byte is written."""

import os
import shutil
from pathlib import Path

from helper import mounts
from helper.settings import Settings
from helper.settings.kinds import format_bytes


def local_repository(repository: str) -> Path | None:
    """The directory of a local repository (`/srv/repo`, `local:/srv/repo`), or None for a
    remote one (`rest:`, `s3:`, `sftp:`, `rclone:` ...)."""
    path = repository.removeprefix("local:")
    return Path(path) if path.startswith("/") else None


def ephemeral_refusal(settings: Settings) -> str | None:
    """Why a new repository must not be created where RESTIC_REPOSITORY points, or None: a
    local path in the container's writable layer or in memory, which would vanish with the
    container while backups "succeed" (the shell image's NFS_TARGET, unmounted, did this)."""
    path = local_repository(settings.restic_repository)
    if path is None or settings.restic_allow_ephemeral_repository:
        return None
    reason = mounts.ephemeral_storage(str(path), mounts.read())
    if reason is None:
        return None
    return (
        f"RESTIC_REPOSITORY: not creating a repository that would vanish with the container: {reason}. "
        f"Mount a volume or bind mount on {path} (or set RESTIC_ALLOW_EPHEMERAL_REPOSITORY=ON "
        "for a throwaway test)"
    )


def overlaps(one: Path, other: Path) -> bool:
    """Whether one of the two directories is, or holds, the other."""
    return one == other or one in other.parents or other in one.parents


def guarded_overlap(option: str, target: Path, settings: Settings, above: bool = True) -> str | None:
    """Why `target` is too close to the live data or the repository, or None: inside
    BACKUP_ROOT_DIR or a local repository, or (given `above`, for a directory that receives a
    tree) a directory that holds one of them."""
    resolved = Path(os.path.realpath(target))
    guarded = [("BACKUP_ROOT_DIR", settings.backup_root_dir)]
    guarded.append(("RESTIC_REPOSITORY", local_repository(settings.restic_repository)))
    for name, directory in guarded:
        if not directory:
            continue
        protected = Path(os.path.realpath(directory))
        if overlaps(resolved, protected) if above else protected in (resolved, *resolved.parents):
            where = "inside or above" if above else "inside"
            return (
                f"{option} {target}: {where} {name} ({directory}); write elsewhere and move "
                "the files, so the live data or the repository is never overwritten"
            )
    return None


def refusal(option: str, target: Path, settings: Settings, force: bool) -> str | None:
    """Why `target` must not receive a restore, naming the option that chose it; None when it
    may. The root, BACKUP_ROOT_DIR and the local repository (or anything inside or above them)
    are refused even with --force; a non-empty directory only without it."""
    resolved = Path(os.path.realpath(target))
    if resolved == Path("/"):
        return f"{option} {target}: refusing to restore into the root directory"
    if clash := guarded_overlap(option, target, settings):
        return clash
    if resolved.exists() and not resolved.is_dir():
        return f"{option} {target}: exists and is not a directory"
    if not force and resolved.is_dir() and any(resolved.iterdir()):
        return f"{option} {target}: the directory is not empty; pass --force to restore into it anyway"
    return None


def free_bytes(target: Path) -> int:
    """The bytes free on the filesystem that holds `target`, or would once it is created."""
    existing = Path(os.path.realpath(target))
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def space_refusal(option: str, target: Path, needed: int) -> str | None:
    """Why `needed` bytes will not fit under `target`, or None when they will."""
    free = free_bytes(target)
    if needed <= free:
        return None
    return (
        f"{option} {target}: the snapshot needs {format_bytes(needed)}, but only "
        f"{format_bytes(free)} is free there"
    )
