"""/bin/restore end to end: real restic, real repositories (local and REST), real files, a real
terminal and real signals."""

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.conftest import helper_process, output, read_metrics, wait_until
from tests.support.servers import rest_server


def backup(sandbox, **overrides) -> str:
    completed = sandbox.helper("backup", **overrides)
    assert completed.returncode == 0, output(completed)
    return sandbox.last_json("backup")["snapshot_id"]


def files_under(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def restored_tree(sandbox, target: Path) -> dict[str, bytes]:
    """The restored files, relative to the source (restic restores absolute paths)."""
    return files_under(target / str(sandbox.source).lstrip("/"))


def test_restore_brings_the_tree_back_with_its_audit_trail(sandbox, tmp_path):
    snapshot = backup(sandbox)
    sandbox.hook("post-restore.sh", f'echo "$1 $HELPER_STATUS" > {tmp_path}/post\n')
    target = tmp_path / "restored"

    completed = sandbox.helper("restore", "--target", str(target), "--yes")

    assert completed.returncode == 0, output(completed)
    assert restored_tree(sandbox, target) == files_under(sandbox.source)
    document = sandbox.last_json("restore")
    assert document["snapshot"] == snapshot and document["status"] == "ok"
    assert document["files_restored"] == document["total_files"] > 2
    assert document["bytes_restored"] == document["total_bytes"] >= 4096 + 6
    assert document["dry_run"] is False and document["tag_filter"] == "automated"
    assert (tmp_path / "post").read_text() == "0 ok\n"
    metrics = read_metrics(sandbox.metrics_dir / "restic_restore.prom")
    assert metrics["restic_restore_last_files_restored"] == document["files_restored"]
    assert "♻️ restoring" in (sandbox.log_dir / "restore-last.log").read_text()


def test_a_chosen_snapshot_with_filters_and_owner(sandbox, tmp_path):
    first = backup(sandbox)
    (sandbox.source / "docs" / "a.txt").write_text("changed\n")
    backup(sandbox)
    target = tmp_path / "restored"

    completed = sandbox.helper(
        "restore",
        "--id",
        first[:8],
        "--target",
        str(target),
        "--include",
        "/**/a.txt",
        "--owner",
        "1234:4321",
        "--yes",
    )

    assert completed.returncode == 0, output(completed)
    assert restored_tree(sandbox, target) == {"docs/a.txt": b"alpha\n"}
    restored = target / str(sandbox.source).lstrip("/") / "docs" / "a.txt"
    assert (restored.stat().st_uid, restored.stat().st_gid) == (1234, 4321)
    document = sandbox.last_json("restore")
    assert (document["snapshot"], document["owner"]) == (first[:8], "1234:4321")
    # restic's counts: one file selected; the directories on the way to it count as restored too
    assert document["total_files"] == 1 and document["files_restored"] >= 1


def test_dry_run_and_an_include_that_matches_nothing_write_nothing(sandbox, tmp_path):
    backup(sandbox)
    target = tmp_path / "restored"

    dry = sandbox.helper("restore", "--target", str(target), "--dry-run")
    assert dry.returncode == 0, output(dry)
    assert sandbox.last_json("restore")["files_restored"] > 2 and not target.exists()

    nothing = sandbox.helper("restore", "--target", str(target), "--include", "/no/such/file", "--yes")
    assert nothing.returncode == 3, output(nothing)
    document = sandbox.last_json("restore")
    assert document["include_zero_match"] is True and document["files_restored"] == 0
    assert "--include matched no file" in output(nothing)


def refused_targets(sandbox, tmp_path) -> dict[str, tuple[str, list[str]]]:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine\n")
    return {
        "root": ("/", ["root directory"]),
        "inside the source": (str(sandbox.source / "docs"), ["BACKUP_ROOT_DIR"]),
        "above the source": (str(sandbox.source.parent), ["BACKUP_ROOT_DIR"]),
        "the repository": (str(Path(sandbox.env["RESTIC_REPOSITORY"]) / "data"), ["RESTIC_REPOSITORY"]),
        "not empty": (str(full), ["not empty", "--force"]),
    }


def test_each_dangerous_target_is_refused_before_restic_runs(sandbox, tmp_path):
    backup(sandbox)
    cases = refused_targets(sandbox, tmp_path)
    before = files_under(tmp_path)
    for case, (target, words) in cases.items():
        force = ["--force"] if case != "not empty" else []
        completed = sandbox.helper("restore", "--target", target, "--yes", *force)
        assert completed.returncode == 2, (case, output(completed))
        assert all(word in output(completed) for word in ("--target", *words)), (case, output(completed))
        assert "Traceback" not in output(completed)
        assert sandbox.last_json("restore")["files_restored"] is None, case
    written = {name for name, content in files_under(tmp_path).items() if before.get(name) != content}
    assert {name.split("/")[0] for name in written} <= {"log", "metrics"}, "a refused restore wrote something"


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (("--target", "{t}"), "without a terminal, a restore needs --yes"),
        (("--list", "--dry-run"), "--list only lists"),
        (("--id", "0123abcd", "--target", "{t}", "--yes"), "--id 0123abcd: no snapshot has this id"),
        (("--owner", "root", "--target", "{t}"), "argument --owner: expected numeric UID:GID"),
        (("--since", "2026-01-01", "--target", "{t}"), "--all and --since go with --list"),
    ],
)
def test_bad_input_names_the_flag_exits_2_and_writes_nothing(sandbox, tmp_path, arguments, words):
    backup(sandbox)
    target = tmp_path / "restored"
    completed = sandbox.helper("restore", *(word.format(t=target) for word in arguments))
    assert completed.returncode == 2, output(completed)
    assert words in output(completed) and "Traceback" not in output(completed)
    assert not target.exists()


def test_list_shows_the_matching_snapshots_newest_first(sandbox):
    older = backup(sandbox)
    newer = backup(sandbox)
    backup(sandbox, RESTIC_TAG="other")

    completed = sandbox.helper("restore", "--list")

    assert completed.returncode == 0, output(completed)
    lines = [line for line in completed.stdout.splitlines() if line.lstrip()[:1].isdigit()]
    assert [line.split()[1] for line in lines] == [newer[:8], older[:8]]
    assert sandbox.helper("restore", "--list", "--tag", "").stdout.count("other") == 1


def test_sigterm_stops_a_rest_restore_and_says_what_came_back(sandbox, tmp_path):
    (sandbox.source / "big.bin").write_bytes(os.urandom(16 * 1024 * 1024))
    backup(sandbox)
    repository = Path(sandbox.env["RESTIC_REPOSITORY"])
    # The same repository, read through a REST server at 1 MB/s: the restore takes 16 s.
    with rest_server(repository.parent, "--bwlimit", "1M") as server:
        target = tmp_path / "restored"
        process = helper_process(
            sandbox,
            "restore",
            "--target",
            str(target),
            "--yes",
            RESTIC_REPOSITORY=server.repository(repository.name),
        )
        # restic may write nothing until it has fetched a whole pack, so wait for restic to start
        # and then for a few of its progress messages (about one a second), well within 16 s.
        log = sandbox.log_dir / "restore-last.log"
        wait_until(lambda: log.exists() and "$ restic restore" in log.read_text(), message="restic restore")
        time.sleep(3)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)

    assert process.returncode == 130, stdout + stderr
    document = sandbox.last_json("restore")
    assert document["status"] == "interrupted" and document["total_bytes"] > 16 * 1024 * 1024
    assert 0 <= document["bytes_restored"] < document["total_bytes"]
    assert sandbox.lock_ids() == [], "restic left its lock behind"


def run_on_a_terminal(sandbox, arguments: list[str], answers: list[tuple[str, str]]) -> tuple[int, str]:
    """Run the helper with a real pseudo-terminal as stdin and stdout; answer each prompt that
    ends with the first element of a pair with the second. Return the exit code and the screen."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "helper", *arguments],
        env=sandbox.env,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    screen, pending = "", list(answers)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.2)
        try:
            chunk = os.read(leader, 4096).decode(errors="replace") if ready else ""
        except OSError:  # the terminal closed: the helper is done
            break
        screen += chunk
        if pending and screen.rstrip().endswith(pending[0][0]):
            os.write(leader, (pending.pop(0)[1] + "\n").encode())
    os.close(leader)
    return process.wait(timeout=30), screen


def test_an_operator_picks_a_snapshot_and_confirms_at_the_terminal(sandbox, tmp_path):
    older = backup(sandbox)
    (sandbox.source / "docs" / "a.txt").write_text("newer\n")
    backup(sandbox)
    target = tmp_path / "restored"

    code, screen = run_on_a_terminal(
        sandbox, ["restore", "--target", str(target)], [("q to cancel]:", "2"), ("[y/N]", "y")]
    )

    assert code == 0, screen
    assert restored_tree(sandbox, target)["docs/a.txt"] == b"alpha\n"
    assert sandbox.last_json("restore")["snapshot"] == older


def test_an_operator_who_cancels_leaves_an_audit_and_no_files(sandbox, tmp_path):
    backup(sandbox)
    target = tmp_path / "restored"

    code, screen = run_on_a_terminal(sandbox, ["restore", "--target", str(target)], [("q to cancel]:", "q")])

    assert code == 130, screen
    assert sandbox.last_json("restore")["cancelled"] is True and not target.exists()
