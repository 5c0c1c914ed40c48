"""What /proc/self/mountinfo says about a path: which mount holds it, and whether that storage
outlives the container.

Used where a wrong answer loses data: mount-snapshot finding its FUSE mount, the guard that
refuses to create a repository in the container's own writable layer, and the legacy cache
volume on /.cache/restic.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
PROCESS_STATUS = Path("/proc/self/status")
CAP_SYS_ADMIN = 21
# Storage that is gone when the container (or the machine) stops.
MEMORY_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
# A container's root filesystem as Docker's and Podman's overlay storage drivers mount it: its
# writable layer. (The btrfs, zfs and vfs drivers look like any disk and are not recognised.)
LAYER_FILESYSTEMS = frozenset({"overlay", "aufs", "fuse.fuse-overlayfs"})


@dataclass(frozen=True)
class Mount:
    point: str
    filesystem: str
    source: str


def unescape(field: str) -> str:
    """Undo the kernel's octal escapes of space, tab, newline and backslash."""
    return re.sub(r"\\([0-7]{3})", lambda escape: chr(int(escape.group(1), 8)), field)


def parse(mountinfo: str) -> list[Mount]:
    """The mounts of a mountinfo text: its fifth field is the mount point; after the "-"
    separator (optional fields come before it) the filesystem type and the source."""
    mounts = []
    for line in mountinfo.splitlines():
        words = line.split()
        if len(words) < 5:
            continue
        after = words[words.index("-", 6) + 1 :] if "-" in words[6:] else []
        filesystem, source = [*after, "", ""][:2]
        mounts.append(Mount(unescape(words[4]), filesystem, unescape(source)))
    return mounts


def read() -> list[Mount]:
    """This process's mounts, or none when /proc cannot be read."""
    try:
        return parse(MOUNTINFO.read_text())
    except OSError:
        return []


def holding(path: str, mounts: list[Mount]) -> Mount | None:
    """The mount a path lives on: the last-mounted one with the longest mount point that is
    the path or one of its parents. `path` is absolute and already resolved."""
    candidates = [
        mount for mount in mounts if path == mount.point or path.startswith(mount.point.rstrip("/") + "/")
    ]
    # Mounts stack: of equally long mount points, the later one in mountinfo is on top.
    return max(reversed(candidates), key=lambda mount: len(mount.point), default=None)


def is_mount_point(path: str, mounts: list[Mount] | None = None) -> bool:
    return os.path.realpath(path) in {mount.point for mount in (read() if mounts is None else mounts)}


def status_field(status: str, name: str) -> str:
    """A field of /proc/<pid>/status (`CapEff`, `NoNewPrivs`), or ""."""
    return next(
        (line.split(":", 1)[1].strip() for line in status.splitlines() if line.startswith(name + ":")), ""
    )


def may_mount(status: str) -> bool:
    """Whether a process with this /proc/<pid>/status holds CAP_SYS_ADMIN, which mount needs."""
    return bool(int(status_field(status, "CapEff") or "0", 16) >> CAP_SYS_ADMIN & 1)


def ephemeral_storage(path: str, mounts: list[Mount]) -> str | None:
    """Why files written at `path` would vanish with the container, or None: the path lies in
    memory (tmpfs), or on the container's root filesystem (its writable layer) rather than on a
    volume or bind mount."""
    # realpath follows the symlinks of the part that exists (a new repository does not yet).
    mount = holding(os.path.realpath(path), mounts)
    if mount is None:
        return None
    if mount.filesystem in MEMORY_FILESYSTEMS:
        return f"{path} is on a {mount.filesystem} mounted on {mount.point}: it lives in memory"
    if mount.point == "/" and mount.filesystem in LAYER_FILESYSTEMS:
        return f"{path} is in the container's own writable layer ({mount.filesystem} on /), not on a volume"
    return None
