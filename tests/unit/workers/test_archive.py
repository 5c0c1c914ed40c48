"""Which tar members snapshot-export keeps (restic-style include and exclude patterns), and how
it writes them."""

import io
import tarfile

import pytest

from helper.workers.archive import Filter, matches, pack, put_in_place


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("data/www/index.html", "/data/www", True),  # a directory covers what it holds
        ("data/www/index.html", "/data/w*", True),
        ("data/www/index.html", "/www", False),  # "/" anchors at the snapshot's root
        ("data/www/index.html", "www", True),  # anything else matches the end of a path
        ("data/www/index.html", "*.html", True),
        ("data/www/index.html", "*.txt", False),
        ("data/wwwroot/a", "/data/www", False),
    ],
)
def test_patterns_match_as_restic_matches_them(name, pattern, expected):
    assert matches(name, pattern) is expected


def test_includes_narrow_and_excludes_win():
    chosen = Filter(includes=("/data",), excludes=("*.tmp",))
    assert chosen.keeps("data/a.txt") and not chosen.keeps("data/a.tmp") and not chosen.keeps("etc/passwd")
    assert Filter().keeps("anything")


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("data/www/index.html", "/data/*.html", False),  # * stays within one component
        ("data/index.html", "/data/*.html", True),
        ("data/www/index.html", "/data/**/*.html", True),  # ** spans any depth
        ("data/index.html", "/data/**/*.html", True),  # ... including none
        ("data/www/index.html", "www/*.html", True),
        ("data/www/index.html", "/www/*.html", False),
        ("data/www/logs/a.log", "www/logs", True),
        ("data/www/logs/a.log", "w?w", True),
    ],
)
def test_wildcards_work_per_path_component_as_in_restic(name, pattern, expected):
    assert matches(name, pattern) is expected


def tar_stream(names: list[str]) -> io.BytesIO:
    """A tar stream as restic dump sends it: each directory before what it holds."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as packed:
        for name in names:
            member = tarfile.TarInfo(name.rstrip("/"))
            if name.endswith("/"):
                member.type, member.mode = tarfile.DIRTYPE, 0o750
                packed.addfile(member)
            else:
                member.size = len(name)
                packed.addfile(member, io.BytesIO(name.encode()))
    buffer.seek(0)
    return buffer


def test_an_included_subtree_keeps_its_parent_directories_once(tmp_path):
    stream = tar_stream(["data/", "data/www/", "data/www/a.html", "data/www/b.html", "etc/", "etc/passwd"])
    output = tmp_path / "out.tar.gz"

    written = pack(stream, output, Filter(includes=("*.html",)))

    with tarfile.open(output) as packed:
        members = [(member.name, member.isdir()) for member in packed]
    assert members == [
        ("data", True),
        ("data/www", True),
        ("data/www/a.html", False),
        ("data/www/b.html", False),
    ]
    assert (written.files, written.members, written.error) == (2, 2, None)


def test_a_stream_that_is_no_tar_is_reported_not_raised(tmp_path):
    # restic that fails before it writes (a lock conflict) sends nothing: its exit code decides
    assert pack(io.BytesIO(b""), tmp_path / "a.tar.gz", Filter()).error
    assert pack(io.BytesIO(b"x" * 700), tmp_path / "b.tar.gz", Filter()).error


def test_put_in_place_never_overwrites_without_replace(tmp_path):
    finished, output = tmp_path / ".out.partial", tmp_path / "out.tar.gz"
    finished.write_bytes(b"new")
    output.write_bytes(b"precious")
    with pytest.raises(FileExistsError):
        put_in_place(finished, output, replace=False)
    assert output.read_bytes() == b"precious"
    put_in_place(finished, output, replace=True)
    assert output.read_bytes() == b"new" and not finished.exists()
