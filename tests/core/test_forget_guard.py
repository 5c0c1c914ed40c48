"""The forget guard and FORGET_SCOPE on real repositories: a forget that would empty a host's
group or remove too much is refused with nothing removed, and one host's policy never touches
another host's snapshots unless the scope is the whole repository."""

import subprocess

from tests.core.conftest import output, snapshots


def backup_as(sandbox, host: str, count: int, tag: str = "automated", year: int = 2020) -> None:
    """`count` snapshots of the sandbox's source from `host`, on successive days of `year`."""
    for day in range(1, count + 1):
        subprocess.run(
            [sandbox.env["RESTIC_BIN"], "backup", "--host", host, "--tag", tag, "--time",
             f"{year}-01-{day:02d} 00:00:00", str(sandbox.source)],
            env=sandbox.env, check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def hosts(sandbox) -> list[str]:
    return sorted(snapshot["hostname"] for snapshot in snapshots(sandbox))


def test_a_forget_that_would_empty_a_hosts_group_is_refused_and_removes_nothing(sandbox):
    backup_as(sandbox, "node-a", 3, year=2021)
    backup_as(sandbox, "node-b", 1)
    before = hosts(sandbox)
    # Grouped by tag, the three newest (all node-a's) fill the kept slots: node-b loses its only one.
    policy = {"RESTIC_FORGET_ARGS": "--group-by tags --keep-last 3", "FORGET_SCOPE": "repository"}
    refused = sandbox.helper("forget", **policy)
    text = output(refused)
    assert refused.returncode == 1, text
    assert (
        "forget refused, nothing removed: it would remove every snapshot of 1 group(s) (host node-b" in text
    )
    document = sandbox.last_json("forget")
    assert (document["status"], document["snapshots_removed"], document["restic_exit_code"]) == (
        "failed",
        0,
        None,
    )
    assert [(gone["host"], gone["time"][:10]) for gone in document["would_remove"]] == [
        ("node-b", "2020-01-01")
    ]
    assert hosts(sandbox) == before
    forced = sandbox.helper("forget", "--force", **policy)
    assert forced.returncode == 0, output(forced)
    assert hosts(sandbox) == ["node-a"] * 3


def test_more_than_the_limit_is_refused_and_the_limit_can_be_lifted(sandbox):
    backup_as(sandbox, "node-a", 4)
    policy = {"HOSTNAME": "node-a", "RESTIC_FORGET_ARGS": "--keep-last 1"}
    refused = sandbox.helper("forget", FORGET_MAX_REMOVE="2", **policy)
    assert refused.returncode == 1, output(refused)
    assert "it would remove 3 snapshots, more than FORGET_MAX_REMOVE=2" in output(refused)
    assert len(snapshots(sandbox)) == 4
    # 3 of 4 is 75 %, not more than the default FORGET_MAX_REMOVE_PERCENT.
    applied = sandbox.helper("forget", **policy)
    assert applied.returncode == 0, output(applied)
    assert sandbox.last_json("forget")["snapshots_removed"] == 3
    assert len(snapshots(sandbox)) == 1


def test_a_host_scoped_forget_leaves_other_hosts_and_tags_alone(sandbox):
    backup_as(sandbox, "node-a", 3)
    backup_as(sandbox, "node-a", 3, tag="manual", year=2019)
    backup_as(sandbox, "node-b", 3)
    completed = sandbox.helper("forget", HOSTNAME="node-a", RESTIC_FORGET_ARGS="--keep-last 1")
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("forget")
    assert (document["forget_scope"], document["snapshots_kept"], document["snapshots_removed"]) == (
        "host",
        1,
        2,
    )
    left = sorted((s["hostname"], s["tags"][0]) for s in snapshots(sandbox))
    assert left == [("node-a", "automated")] + [("node-a", "manual")] * 3 + [("node-b", "automated")] * 3


def test_an_owner_left_at_host_scope_is_warned_that_it_forgets_nothing(sandbox):
    backup_as(sandbox, "node-a", 3)
    owner_settings = {
        "HOSTNAME": "maintenance",
        "RESTIC_FORGET_ARGS": "--keep-last 1",
        "BACKUP_CRON": "",
        "FORGET_CRON": "15 * * * *",
    }
    completed = sandbox.helper("forget", **owner_settings)
    assert completed.returncode == 3, output(completed)
    assert (
        "forget found no snapshot of host maintenance: FORGET_SCOPE: this host runs forget but no backup"
        in (output(completed))
    )
    assert len(snapshots(sandbox)) == 3
    # A node that backs up is not warned while it has no snapshot yet (a first forget).
    node = sandbox.helper("forget", **{**owner_settings, "BACKUP_CRON": "0 * * * *"})
    assert node.returncode == 0, output(node)
    owner = sandbox.helper("forget", **owner_settings, FORGET_SCOPE="repository")
    assert owner.returncode == 0, output(owner)
    assert len(snapshots(sandbox)) == 1


def test_an_inline_forget_the_guard_refuses_leaves_the_backup_ok_and_everything_kept(sandbox):
    backup_as(sandbox, "node-a", 3)
    completed = sandbox.helper(
        "backup", HOSTNAME="node-a", RESTIC_FORGET_ARGS="--keep-last 1", FORGET_MAX_REMOVE="1"
    )
    text = output(completed)
    assert completed.returncode == 0, text
    assert "inline forget failed (exit 1): forget refused, nothing removed" in text
    assert sandbox.last_json("backup")["forget_exit_code"] == 1
    assert len(snapshots(sandbox)) == 4
