"""The forget guard: what a retention policy would remove, judged before anything is removed.

restic keeps at least one snapshot per group of its own `--group-by`, but a policy grouped
otherwise (`--group-by tags`, `--group-by ''`) can still empty one host's paths while another
host's snapshots fill the kept slots; and a typo in a `--keep-*` flag removes far more than
meant. The guard reads the policy's dry run, regrouped by host and paths whatever restic's
grouping was, and refuses a forget that would empty such a group or exceed the limits.
"""

from collections import defaultdict
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """FORGET_MAX_REMOVE (0: none) and FORGET_MAX_REMOVE_PERCENT (0: none)."""

    max_remove: int
    max_remove_percent: int


def preview_arguments(policy: tuple[str, ...]) -> tuple[str, ...]:
    """The policy as its dry run takes it: without `--prune`, whose own dry run would read the
    whole index for a verdict that only needs the snapshot list."""
    return tuple(word for word in policy if word != "--prune")


def snapshots(groups: list[dict], verdict: str) -> list[dict]:
    """Every snapshot the dry run marks `verdict` ("keep" or "remove"), across restic's groups."""
    return [snapshot for group in groups for snapshot in group.get(verdict) or []]


def host_and_paths(snapshot: dict) -> tuple[str, tuple[str, ...]]:
    return snapshot.get("hostname") or "", tuple(sorted(snapshot.get("paths") or []))


def emptied_groups(groups: list[dict]) -> list[tuple[str, tuple[str, ...]]]:
    """The (host, paths) groups the policy would leave without a single snapshot."""
    kept: dict[tuple, int] = defaultdict(int)
    for snapshot in snapshots(groups, "keep"):
        kept[host_and_paths(snapshot)] += 1
    removed = {host_and_paths(snapshot) for snapshot in snapshots(groups, "remove")}
    return sorted(group for group in removed if not kept[group])


def refusal(groups: list[dict], limits: Limits) -> str | None:
    """Why the forget must not run, or None when it may."""
    removed = len(snapshots(groups, "remove"))
    total = removed + len(snapshots(groups, "keep"))
    if emptied := emptied_groups(groups):
        named = "; ".join(f"host {host or '-'}, paths {', '.join(paths) or '-'}" for host, paths in emptied)
        return f"it would remove every snapshot of {len(emptied)} group(s) ({named})"
    if limits.max_remove and removed > limits.max_remove:
        return f"it would remove {removed} snapshots, more than FORGET_MAX_REMOVE={limits.max_remove}"
    if limits.max_remove_percent and total and removed * 100 > limits.max_remove_percent * total:
        return (
            f"it would remove {removed} of {total} snapshots ({removed / total:.0%}), more than "
            f"FORGET_MAX_REMOVE_PERCENT={limits.max_remove_percent}%"
        )
    return None


def described(groups: list[dict]) -> list[dict]:
    """What would have gone, for the run's record: id, host, paths and time of each snapshot."""
    return [
        {
            "id": snapshot.get("short_id") or str(snapshot.get("id", ""))[:8],
            "host": snapshot.get("hostname"),
            "paths": snapshot.get("paths") or [],
            "time": snapshot.get("time"),
        }
        for snapshot in snapshots(groups, "remove")
    ]
