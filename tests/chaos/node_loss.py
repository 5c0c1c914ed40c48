"""Node loss on a multi-node swarm: `examples/swarm/stack.yml` runs on the nodes of
swarm_nodes.Cluster, the maintenance owner's node is cut off from the managers (it still
reaches the repository), and Swarm starts a second owner on another node while the first runs
on. The new owner's `/bin/unlock` then judges the old owner's lock while its restic is alive.

The invariant is the campaign's first: no live lock is removed. With the example's owner
hostname (one per task) it holds. With one hostname shared by every owner task, as the example
had before, the new owner looks for the old owner's PID in its own /proc, does not find it (or
finds another program under it), and removes a live lock: `bench/swarm_node_loss.py --shared-hostname`
shows it.

The owner's lock here is a shared one, of a backup slowed to hold it for minutes (standing in
for a long prune): the verdict on a lock does not depend on its kind."""

import json
import subprocess
import time

import yaml

from tests.chaos.swarm_nodes import SECRET, Cluster
from tests.container.engine import ROOT, wait_until

STACK = "loss"
OWNER = f"{STACK}_maintenance"
SHARED_HOSTNAME = "restic-maintenance"
# A backup that holds its lock until the scenario ends.
HOLDS_ITS_LOCK = "--stdin-filename held.txt --stdin-from-command -- sh -c 'sleep 900; echo held'"


def override(cluster: Cluster, shared_hostname: bool) -> dict:
    """The test's pace and plumbing over the example: the repository beside the swarm,
    second-resolution schedules, health checks every 2 s."""
    common = {
        "RESTIC_REPOSITORY": cluster.repository,
        "RESTIC_CHECK_REPOSITORY_STATUS": "OFF",
        "SCHEDULE_LOCK_WAIT": "",
        "STOP_GRACE_SECONDS": "10",
    }
    task = {
        "image": cluster.helper_image,
        "stop_grace_period": "15s",
        "healthcheck": {"interval": "2s", "start_period": "30s"},
    }
    holds = {"BACKUP_ROOT_DIR": "", "BACKUP_CRON": "*/5 * * * * *", "RESTIC_JOB_ARGS": HOLDS_ITS_LOCK}
    owner = {
        **task,
        "environment": {**common, **holds, "FORGET_CRON": "", "PRUNE_CRON": "", "CHECK_CRON": ""},
        "deploy": {
            "endpoint_mode": "dnsrr",
            # Never on the manager, which stays in touch with every node.
            "placement": {"constraints": ["node.role == worker"]},
            "restart_policy": {"condition": "any", "delay": "1s"},
        },
    }
    if shared_hostname:
        owner["hostname"] = SHARED_HOSTNAME
    backup = {**task, "environment": {**common, "BACKUP_CRON": "*/10 * * * * *"}}
    return {
        "version": "3.8",
        "services": {
            # The repository lives beside the swarm, on the storage network.
            "restic-server": {"image": cluster.helper_image, "deploy": {"replicas": 0}},
            "backup": {**backup, "deploy": {"endpoint_mode": "dnsrr"}},
            "maintenance": owner,
        },
        "secrets": {SECRET: {"external": True}},
    }


def deploy(cluster: Cluster, shared_hostname: bool) -> None:
    files = {
        "/stack.yml": (ROOT / "examples" / "swarm" / "stack.yml").read_text(),
        "/override.yml": yaml.safe_dump(override(cluster, shared_hostname)),
    }
    for path, text in files.items():
        subprocess.run(["docker", "exec", "-i", cluster.manager, "sh", "-c", f"cat > {path}"], input=text,
                       text=True, check=True, capture_output=True, timeout=60)  # fmt: skip
    cluster.on(cluster.manager, "stack", "deploy", "--resolve-image", "never", "-c", "/stack.yml",
               "-c", "/override.yml", STACK, timeout=180)  # fmt: skip


def locks(cluster: Cluster) -> dict[str, dict]:
    """id -> the lock's JSON, as restic wrote it."""
    found = {}
    for lock_id in cluster.restic("list", "locks", "--no-lock").stdout.split():
        shown = cluster.restic("cat", "lock", lock_id, "--no-lock")
        if shown.returncode == 0:
            found[lock_id] = json.loads(shown.stdout)
    return found


def owner_lock(cluster: Cluster) -> tuple[str, dict] | None:
    """The id and content of a lock an owner task holds, or None."""
    owned = ((i, lock) for i, lock in locks(cluster).items() if lock["hostname"].startswith(SHARED_HOSTNAME))
    return next(owned, None)


def ids_held_by(cluster: Cluster, holder: dict) -> set[str]:
    """The ids of the locks of the holder (its hostname and PID) in the repository."""
    key = (holder["hostname"], holder["pid"])
    return {lock_id for lock_id, lock in locks(cluster).items() if (lock["hostname"], lock["pid"]) == key}


def owner_node(cluster: Cluster, avoid: str | None = None) -> str | None:
    """The node where the managers have an owner task running, other than `avoid`."""
    for node, state in cluster.running_tasks(OWNER).items():
        if node != avoid and state.startswith("Running"):
            return node
    return None


def restic_alive(cluster: Cluster, node: str, container: str, pid: int) -> bool:
    """Whether the PID in the lock is a restic still running in that task's container."""
    listed = cluster.on(node, "exec", container, "pgrep", "-x", "restic", check=False).stdout.split()
    return str(pid) in listed


def unlock(cluster: Cluster, node: str, container: str) -> list[dict]:
    """Run `/bin/unlock --json` in that container: every lock it listed, with its verdict and
    whether it removed it."""
    shown = cluster.on(node, "exec", container, "/bin/unlock", "--json", check=False, timeout=180)
    return json.loads(shown.stdout or "null") or []


def snapshot_hosts(cluster: Cluster) -> set[str]:
    listed = cluster.restic("snapshots", "--no-lock", "--json")
    return {snapshot["hostname"] for snapshot in json.loads(listed.stdout or "[]")}


def lose_the_owner(cluster: Cluster, lost: str, holder: dict, figures: dict) -> list[str]:
    """Cut the owner's node off; once Swarm runs a second owner, let it unlock. Return the
    violations: the old owner's lock removed while its restic runs."""
    old_container = cluster.task_container(lost, OWNER)
    # Before the cut no other task has the old owner's hostname: these ids are its own.
    old_ids = ids_held_by(cluster, holder)
    if not (old_container and old_ids and restic_alive(cluster, lost, old_container, holder["pid"])):
        raise AssertionError(f"the owner's restic on {lost} was not holding its lock at the cut")
    cut = time.monotonic()
    cluster.cut_off(lost)
    successor = wait_until(lambda: owner_node(cluster, avoid=lost), 180, "a second owner", interval=2)
    figures["seconds to a second owner"] = round(time.monotonic() - cut)
    new = wait_until(lambda: cluster.task_container(successor, OWNER), 60, "the second owner's container")
    listed = unlock(cluster, successor, new)
    judged = [f"{entry['verdict']}: {entry['reason']}" for entry in listed if entry["id"] in old_ids]
    figures["the old owner's lock, to the new owner"] = judged[0] if judged else "not listed"
    removed = {entry["id"] for entry in listed if entry.get("removed")} & old_ids
    alive = restic_alive(cluster, lost, old_container, holder["pid"])
    figures["old owner's restic alive after the unlock"] = alive
    figures["live locks removed"] = len(removed) if alive else 0
    if not alive:
        return []
    who = f"{holder['hostname']} pid {holder['pid']}"
    return [f"the second owner removed lock {i[:8]} of {who}, whose restic runs on {lost}" for i in removed]


def bring_back(cluster: Cluster, lost: str, holder: dict, figures: dict) -> list[str]:
    """Reconnect the node; Swarm stops its old owner, whose restic removes its own lock."""
    cluster.reconnect(lost)
    back = time.monotonic()
    wait_until(lambda: cluster.task_container(lost, OWNER) is None, 180, f"{lost} to stop its old owner")
    figures["seconds for the old owner to stop once back"] = round(time.monotonic() - back)
    deadline = time.monotonic() + 60
    while ids_held_by(cluster, holder) and time.monotonic() < deadline:
        time.sleep(2)
    if ids_held_by(cluster, holder):
        return [f"a lock of the stopped old owner {holder['hostname']} pid {holder['pid']} is still there"]
    return []


def run(cluster: Cluster, shared_hostname: bool, say=print) -> tuple[dict, list[str]]:
    """Deploy, lose the owner's node, let the new owner unlock; return figures and violations."""
    figures: dict = {}
    deploy(cluster, shared_hostname)
    every_node = set(cluster.nodes)
    wait_until(lambda: every_node <= snapshot_hosts(cluster), 240, "a backup from every node", interval=2)
    figures["nodes backed up, each under its own name"] = len(every_node)
    lost = wait_until(lambda: owner_node(cluster), 120, "an owner task running", interval=2)
    lock_id, holder = wait_until(lambda: owner_lock(cluster), 120, "the owner holding a lock", interval=2)
    say(f"owner {holder['hostname']} on {lost} holds {lock_id[:8]} (pid {holder['pid']}); cutting {lost} off")
    try:
        violations = lose_the_owner(cluster, lost, holder, figures)
    except BaseException:
        cluster.reconnect(lost)
        raise
    violations += bring_back(cluster, lost, holder, figures)
    # The second owner's backup holds its lock to the end: check reads without one.
    checked = cluster.restic("--no-lock", "check", timeout=300)
    figures["restic check"] = "clean" if checked.returncode == 0 else "FAILED"
    if checked.returncode != 0:
        violations.append(f"restic check exited {checked.returncode}: {checked.stderr[-1500:]}")
    return figures, violations
