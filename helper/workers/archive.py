"""A snapshot as a .tar.gz, written from `restic dump --archive tar` as it streams: members
filtered by restic-style include and exclude patterns, counted, and gzipped into a file. No
copy of the snapshot ever lands on disk."""

import fnmatch
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO


def matches(name: str, pattern: str) -> bool:
    """Whether a member (`data/www/a.html`, as tar names it) or one of its parent directories
    matches the pattern, as restic matches: a pattern starting with "/" from the snapshot's
    root, any other against the end of the path; * and ? are shell globs."""
    path = "/" + name.strip("/")
    wanted = pattern.rstrip("/") if pattern.startswith("/") else "*/" + pattern.rstrip("/")
    parts = path.split("/")
    return any(fnmatch.fnmatchcase("/".join(parts[:end]), wanted) for end in range(2, len(parts) + 1))


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
    """What went into the archive."""

    files: int = 0
    bytes: int = 0
    members: int = 0


def pack(stream: BinaryIO, output: Path, chosen: Filter) -> Written:
    """Read a tar stream and write the members `chosen` keeps to `output` as tar.gz; return the
    counts. The output is written afresh on every call (a retried restic starts over)."""
    written = Written()
    with (
        tarfile.open(fileobj=stream, mode="r|") as source,
        tarfile.open(output, mode="w:gz", format=tarfile.PAX_FORMAT) as target,
    ):
        for member in source:
            if not chosen.keeps(member.name):
                continue
            target.addfile(member, source.extractfile(member) if member.isfile() else None)
            written.members += 1
            if member.isfile():
                written.files += 1
                written.bytes += member.size
    return written


def count_files(path: Path) -> int:
    """The regular files in a finished archive, read back from disk."""
    with tarfile.open(path, mode="r:gz") as archive:
        return sum(member.isfile() for member in archive)
