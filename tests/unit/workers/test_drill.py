"""The restore drill's checks on plain files: canary parsing, and which files the spot check may
compare."""

import os
import random

import pytest

from helper.workers import drill

HEX = "ab" * 32


def test_a_canary_splits_at_the_last_equals_sign():
    assert drill.parse_canary(f"/data/a=b.txt={HEX.upper()}", "--canary") == drill.Canary(
        "/data/a=b.txt", HEX
    )


@pytest.mark.parametrize("text", ["/data/x", f"={HEX}", "/data/x=abc", f"/data/x={HEX}0"])
def test_a_bad_canary_names_where_it_came_from(text):
    with pytest.raises(ValueError, match=r"^RESTORE_TEST_CANARY: expected PATH=SHA256"):
        drill.parse_canary(text, "RESTORE_TEST_CANARY")


def test_a_canary_file_reads_sha256sums_output_and_names_a_bad_line():
    text = f"# made by sha256sum\n\n{HEX}  /data/a b.txt\n{HEX} */data/binary\n"
    assert drill.parse_canary_file(text, "F") == [
        drill.Canary("/data/a b.txt", HEX),
        drill.Canary("/data/binary", HEX),
    ]
    with pytest.raises(ValueError, match=r"^F line 2: "):
        drill.parse_canary_file(f"{HEX}  /ok\nnot a line\n", "F")


def test_the_spot_check_compares_only_files_unchanged_under_the_source(tmp_path):
    source, target = tmp_path / "data", tmp_path / "restored"
    kept = {"same.txt": b"same", "touched.txt": b"old", "corrupt.txt": b"good"}
    for name, content in kept.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
        copy = target / str(source / name).lstrip("/")
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(content)
        os.utime(copy, ns=(0, (source / name).stat().st_mtime_ns))
    (source / "touched.txt").write_bytes(b"new")  # changed since the snapshot: not comparable
    os.utime(source / "touched.txt", (1, 1))
    corrupt = source / "corrupt.txt"
    mtime = corrupt.stat().st_mtime_ns
    corrupt.write_bytes(b"evil")  # same size and time, other bytes
    os.utime(corrupt, ns=(0, mtime))

    files = drill.restored_files(target)
    pairs = drill.unchanged_sources(target, files, str(source))
    assert sorted(source.name for _, source in pairs) == ["corrupt.txt", "same.txt"]
    assert drill.spot_check(pairs, 10, random.Random(1)) == (2, [str(corrupt)])
    assert drill.unchanged_sources(target, files, "") == []
