"""A snapshot as a .tar.gz, written from `restic dump --archive tar` as it streams: members
filtered by restic-style include and exclude patterns, counted, and gzipped into a file. No
copy of the snapshot ever lands on disk."""

import fnmatch
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


def components(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def leading_match(pattern: list[str], parts: list[str]) -> bool:
    """Whether the pattern's components match the first components of `parts`: the path
    itself or one of its parent directories. "**" stands for any number of components."""
    if not pattern:
        return True
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(leading_match(rest, parts[skip:]) for skip in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], head) and leading_match(rest, parts[1:])


def matches(name: str, pattern: str) -> bool:
    """Whether a member (`data/www/a.html`, as tar names it) or one of its parent directories
    matches the pattern, as restic matches: component by component, so `*` and `?` never cross
    a "/" and `**` spans any depth; a pattern starting with "/" is anchored at the snapshot's
    root, any other may start at any depth."""
    wanted = components(pattern)
    return leading_match(wanted if pattern.startswith("/") else ["**", *wanted], components(name))


@dataclass(frozen=True)
class Filter:
    includes: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def keeps(self, name: str) -> bool:
        if self.includes and not any(matches(name, pattern) for pattern in self.includes):
            return False
        return not any(matches(name, pattern) for pattern in self.excludes)


@dataclass
class Written:
    """What went into the archive; `error` when restic's stream was no readable tar (restic
    failed before or while writing it: its exit code and message say why)."""

    files: int = 0
    bytes: int = 0
    members: int = 0
    error: str | None = None


def inside(directory: tarfile.TarInfo, member: tarfile.TarInfo) -> bool:
    return member.name.startswith(directory.name.rstrip("/") + "/")


def copy_members(source: tarfile.TarFile, target: tarfile.TarFile, chosen: Filter, written: Written) -> None:
    """Copy the members `chosen` keeps. The directories above a kept member are copied too
    (once, just before it), so an included subtree keeps its parents' owners, modes and times,
    as restic restore keeps them; restic dump sends a directory before what it holds."""
    pending: list[tarfile.TarInfo] = []  # directories left out so far, each inside the one before
    for member in source:
        while pending and not inside(pending[-1], member):
            pending.pop()
        if not chosen.keeps(member.name):
            if member.isdir():
                pending.append(member)
            continue
        for directory in pending:
            target.addfile(directory)
        pending.clear()
        target.addfile(member, source.extractfile(member) if member.isfile() else None)
        written.members += 1
        if member.isfile():
            written.files += 1
            written.bytes += member.size


def pack(stream: BinaryIO, output: Path, chosen: Filter) -> Written:
    """Read a tar stream and write the members `chosen` keeps to `output` as tar.gz; return the
    counts. The output is written afresh on every call (a retried restic starts over). An
    unreadable stream is returned as `error`, not raised, so that restic's own exit code (a
    lock conflict to retry, a missing pack) decides the run; a write error (disk full) is
    raised, which stops restic."""
    written = Written()
    with tarfile.open(output, mode="w:gz", format=tarfile.PAX_FORMAT) as target:
        try:
            with tarfile.open(fileobj=stream, mode="r|") as source:
                copy_members(source, target, chosen, written)
        except tarfile.TarError as error:
            written.error = str(error) or type(error).__name__
    return written


def put_in_place(temporary: Path, output: Path, replace: bool) -> None:
    """Give the finished archive its name. Without `replace`, a hard link refuses an output
    that appeared meanwhile (FileExistsError), where a rename would silently overwrite it."""
    if replace:
        os.replace(temporary, output)
        return
    try:
        os.link(temporary, output)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links (vfat, some network shares)
        if output.exists():
            raise FileExistsError(17, "File exists", str(output)) from None
        os.replace(temporary, output)


def count_files(path: Path) -> int:
    """The regular files in a finished archive, read back from disk."""
    with tarfile.open(path, mode="r:gz") as archive:
        return sum(member.isfile() for member in archive)
