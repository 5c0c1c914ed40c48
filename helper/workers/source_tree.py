"""One backup source as sources-report sees it: its type, whether it can be read, and its
regular files and their bytes, counted by walking the tree with os.scandir. The walk never
follows a symlink (restic backs up the link, not its target) and counts what it cannot read
instead of stopping."""

import logging
import os
import stat

logger = logging.getLogger(__name__)


def kind(path: str) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "missing"
    except OSError:
        return "other"
    if stat.S_ISLNK(mode):
        return "symlink"
    return "directory" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def walk(top: str, depth_limit: int | None) -> tuple[int, int, int]:
    """Regular files and their bytes below `top`, at most `depth_limit` levels down (1: its
    own entries), and how many directories could not be read."""
    files = size = unreadable = 0
    pending = [(top, 1)]
    while pending:
        directory, level = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if depth_limit is None or level < depth_limit:
                            pending.append((entry.path, level + 1))
                    elif entry.is_file(follow_symlinks=False):
                        files += 1
                        size += entry.stat(follow_symlinks=False).st_size
        except OSError:
            unreadable += 1
    return files, size, unreadable


def inventory(path: str, count: bool, depth_limit: int | None) -> dict:
    """The report on one source. errors: 1 when it is missing or unreadable, plus each
    directory below it that could not be read."""
    found = kind(path)
    readable = found != "missing" and os.access(path, os.R_OK | (os.X_OK if found == "directory" else 0))
    entry = {
        "path": path,
        "type": found,
        "readable": readable,
        "files": None,
        "bytes": None,
        "unreadable_dirs": 0,
    }
    if not readable:
        logger.warning(f"⚠️ source {path}: {'does not exist' if found == 'missing' else 'cannot be read'}")
        return {**entry, "errors": 1}
    if count and found == "directory":
        files, size, unreadable = walk(path, depth_limit)
        entry.update(files=files, bytes=size, unreadable_dirs=unreadable)
        if unreadable:
            logger.warning(f"⚠️ source {path}: {unreadable} director(ies) below it cannot be read")
    elif count and found == "file":
        entry.update(files=1, bytes=os.lstat(path).st_size)
    logger.info(
        f"📁 {path}: {found}"
        + (f", {entry['files']} file(s), {entry['bytes']} bytes" if entry["files"] is not None else "")
    )
    return {**entry, "errors": entry["unreadable_dirs"]}
