"""/bin/forget-preview: the policy's verdict on each snapshot, with no lock and no change."""

import json
import time

import pytest

from tests.core.conftest import output, snapshots


def back_up_three_times(sandbox) -> None:
    for _ in range(3):
        assert sandbox.helper("backup").returncode == 0


def test_the_preview_shows_keep_and_remove_with_reasons_and_removes_nothing(sandbox):
    back_up_three_times(sandbox)
    sandbox.restic("backup", "--host", "otherhost", "--tag", "automated", str(sandbox.source))

    completed = sandbox.helper("forget-preview", "--policy", "--keep-last 2")

    assert completed.returncode == 0, output(completed)
    assert (
        output(completed).count("  keep    last snapshot") == 2 and output(completed).count("  remove") == 1
    )
    document = sandbox.last_json("forget-preview")
    assert (document["snapshots_kept"], document["snapshots_removed"]) == (2, 1)
    assert document["policy_args"] == ["--keep-last", "2"] and document["tag_filter"] == "automated"
    assert [len(group["remove"]) for group in document["groups"]] == [1]
    assert len(snapshots(sandbox)) == 4, "a preview removed a snapshot"
    repo_wide = sandbox.helper("forget-preview", "--policy", "--keep-last 2", "--repo-wide")
    assert repo_wide.returncode == 0 and len(sandbox.last_json("forget-preview")["groups"]) == 2
    # An owner's preview judges what its forget would: every host's snapshots.
    owner = sandbox.helper("forget-preview", "--policy", "--keep-last 2", FORGET_SCOPE="repository")
    assert owner.returncode == 0 and len(sandbox.last_json("forget-preview")["groups"]) == 2


def test_the_preview_takes_no_lock_while_another_host_holds_the_exclusive_one(sandbox, other_host_lock):
    back_up_three_times(sandbox)
    with other_host_lock(exclusive=True):
        started = time.monotonic()
        preview = sandbox.helper("forget-preview", RESTIC_FORGET_ARGS="--keep-last 1")
        elapsed = time.monotonic() - started
        # The shell image's preview, plain `restic forget --dry-run`, needs the exclusive lock.
        shell_image_way = sandbox.restic("forget", "--dry-run", "--keep-last", "1", check=False)

    assert preview.returncode == 0, output(preview)
    assert sandbox.last_json("forget-preview")["snapshots_removed"] == 2
    assert elapsed < 15
    assert shell_image_way.returncode != 0 and "locked" in shell_image_way.stderr


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        ((), "no retention policy: set RESTIC_FORGET_ARGS or pass --policy"),
        (("--policy", "--keep-last 1", "--host", ""), "--host and --tag must not be empty"),
        (("--policy", "--keep-last 'unbalanced"), "argument --policy: cannot split into words"),
    ],
)
def test_bad_input_names_what_is_missing_and_exits_2(sandbox, arguments, named):
    completed = sandbox.helper("forget-preview", *arguments)
    assert completed.returncode == 2, output(completed)
    assert named in output(completed) and "Traceback" not in output(completed)
    if arguments[:1] != ("--policy",) or "--host" in arguments:
        assert json.loads((sandbox.log_dir / "last-forget-preview.json").read_text())["exit_code"] == 2
