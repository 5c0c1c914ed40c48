"""The forget guard's verdict on a dry run's groups, whatever restic's own grouping was."""

from helper.workers.forget_guard import Limits, emptied_groups, preview_arguments, refusal

NO_LIMITS = Limits(0, 0)


def snapshot(host: str, path: str = "/data", number: int = 0) -> dict:
    return {"short_id": f"{host[:4]}{number:04d}", "hostname": host, "paths": [path], "time": f"t{number}"}


def group(keep: list[dict], remove: list[dict]) -> dict:
    return {"keep": keep, "remove": remove}


def test_a_policy_grouped_by_tag_that_leaves_one_host_nothing_is_refused():
    # restic grouped by tag: it kept the three newest of the group, all from host a.
    groups = [group([snapshot("a", number=n) for n in range(3)], [snapshot("b", number=9)])]
    assert emptied_groups(groups) == [("b", ("/data",))]
    assert "every snapshot of 1 group(s) (host b, paths /data)" in refusal(groups, NO_LIMITS)


def test_a_host_keeps_a_group_when_any_snapshot_of_its_paths_is_kept():
    groups = [
        group([snapshot("a", number=1)], [snapshot("a", number=2)]),
        group([snapshot("b", "/etc", 3)], [snapshot("b", "/data", 4)]),
    ]
    assert emptied_groups(groups) == [("b", ("/data",))]
    groups[1]["keep"].append(snapshot("b", "/data", 5))
    assert refusal(groups, NO_LIMITS) is None


def test_the_count_limit_bites_above_it_only():
    groups = [group([snapshot("a", number=0)], [snapshot("a", number=n) for n in range(1, 4)])]
    assert refusal(groups, Limits(3, 0)) is None
    assert "remove 3 snapshots, more than FORGET_MAX_REMOVE=2" in refusal(groups, Limits(2, 0))


def test_the_percent_limit_counts_the_snapshots_in_scope():
    groups = [group([snapshot("a", number=0)], [snapshot("a", number=n) for n in range(1, 4)])]
    assert refusal(groups, Limits(0, 75)) is None  # exactly 75 %
    assert "remove 3 of 4 snapshots (75%), more than FORGET_MAX_REMOVE_PERCENT=74%" in refusal(
        groups, Limits(0, 74)
    )


def test_a_policy_that_removes_nothing_passes_every_limit():
    assert refusal([group([snapshot("a")], [])], Limits(1, 1)) is None
    assert refusal([], Limits(1, 1)) is None


def test_the_dry_run_leaves_out_prune_only():
    policy = ("--keep-daily", "7", "--prune", "--max-unused", "5%")
    assert preview_arguments(policy) == ("--keep-daily", "7", "--max-unused", "5%")
