"""Which tar members snapshot-export keeps: restic-style include and exclude patterns."""

import pytest

from helper.workers.archive import Filter, matches


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
