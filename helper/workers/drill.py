"""What a restore drill (restore-test) checks in the restored tree: a floor on the number of
files, canaries (a file's SHA-256 known in advance), and a spot check of random files against
their unchanged source under BACKUP_ROOT_DIR. Plain functions on paths: no restic here."""

import hashlib
import os
import random
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SHA256 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Canary:
    path: str  # as backed up: an absolute path such as /data/www/index.html
    sha256: str


def parse_canary(text: str, origin: str) -> Canary:
    """`PATH=SHA256`, split at the last "=" (a path may hold one); ValueError names `origin`."""
    path, separator, digest = text.strip().rpartition("=")
    if not separator or not path or not SHA256.fullmatch(digest):
        raise ValueError(f"{origin}: expected PATH=SHA256 (64 hex digits), got {text.strip()!r}")
    return Canary(path, digest.lower())


def parse_canary_file(text: str, origin: str) -> list[Canary]:
    """sha256sum's format (`HEX  PATH`, `HEX *PATH`), with # comments and blank lines."""
    canaries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        digest, _, path = line.strip().partition(" ")
        path = path.strip().removeprefix("*")
        if not SHA256.fullmatch(digest) or not path:
            raise ValueError(f"{origin} line {number}: expected 'SHA256  PATH', got {line.strip()!r}")
        canaries.append(Canary(path, digest.lower()))
    return canaries


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def restored_path(target: Path, original: str) -> Path:
    """Where restic put a file that was backed up as `original` (it keeps absolute paths)."""
    return target / original.lstrip("/")


def check_canaries(target: Path, canaries: Iterable[Canary]) -> list[dict]:
    """One result per canary: passed, missing or mismatch, with the digest found."""
    results = []
    for canary in canaries:
        path = restored_path(target, canary.path)
        found = file_digest(path) if path.is_file() else None
        result = "missing" if found is None else "passed" if found == canary.sha256 else "mismatch"
        results.append({"path": canary.path, "expected": canary.sha256, "found": found, "result": result})
    return results


def restored_files(target: Path) -> list[Path]:
    return [Path(directory, name) for directory, _, names in os.walk(target) for name in names]


def tree_totals(files: list[Path]) -> tuple[int, int]:
    """Regular files and their bytes, as the shell image counted them (find -type f, wc -c)."""
    regular = [path for path in files if path.is_file() and not path.is_symlink()]
    return len(regular), sum(path.stat().st_size for path in regular)


def unchanged_sources(target: Path, files: list[Path], source_root: str) -> list[tuple[Path, Path]]:
    """(restored, source) pairs whose source under `source_root` still has the restored file's
    size and modification time: those must have the same content."""
    if not source_root:
        return []
    root = Path(source_root)
    pairs = []
    for restored in files:
        source = Path("/") / restored.relative_to(target)
        if root not in source.parents or restored.is_symlink() or not restored.is_file():
            continue
        try:
            before, after = source.stat(), restored.stat()
        except OSError:
            continue
        if before.st_size == after.st_size and int(before.st_mtime) == int(after.st_mtime):
            pairs.append((restored, source))
    return pairs


def spot_check(pairs: list[tuple[Path, Path]], size: int, chooser: random.Random) -> tuple[int, list[str]]:
    """Compare `size` random pairs byte for byte; return how many were compared and the source
    paths whose restored copy differs."""
    chosen = chooser.sample(pairs, min(size, len(pairs)))
    mismatched = [str(source) for restored, source in chosen if file_digest(restored) != file_digest(source)]
    return len(chosen), mismatched


def clean_up(target: Path, autotmp: bool, keep: bool) -> str:
    """Remove a tree the drill made itself, unless kept; say what became of it."""
    if not target.exists():
        return "absent"
    if keep or not autotmp:
        return "kept"
    shutil.rmtree(target, ignore_errors=True)
    return "cleanup-failed" if target.exists() else "cleaned"
