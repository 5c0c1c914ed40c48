"""compose.multihost.yml under load: two backup nodes and one maintenance owner share a REST
repository for a few minutes of second-resolution schedules."""

import collections
import json
import re
import time

import pytest
import yaml

from tests.container.engine import ROOT, logs

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SOAK_SECONDS = 60
NODES = ("node-a", "node-b")
FINISHED = re.compile(r"\b(backup|forget|prune|check) finished: (\w+) \(exit (\d+)\)")
# A run that meets another host's lock and waits for it says so once.
LOCK_WAIT = "⏳ repository locked by"
# Every run's JSON document, posted by the webhook reporter, one compact document a line.
RECEIVER = """
import http.server
class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("/runs/runs.jsonl", "ab") as runs:
            runs.write(body + b"\\n")
        self.send_response(204)
        self.end_headers()
http.server.ThreadingHTTPServer(("", 8080), Receiver).serve_forever()
"""


def override(image: str) -> str:
    """The image and the pace change: second-resolution crons, short lock retries, and backups
    that hold their lock for seconds (a tar of /data, slowed), so the hosts meet each other's locks."""
    node = {
        "WEBHOOK_URL": "http://run-receiver:8080/",
        "RESTIC_LOCK_RETRY_AFTER": "2s",
        "BACKUP_ROOT_DIR": "",
        "RESTIC_JOB_ARGS": "--stdin-filename data.tar --stdin-from-command -- "
        "sh -c 'sleep 3; exec tar -cf - -C /data .'",
    }
    owner = {
        "WEBHOOK_URL": "http://run-receiver:8080/",
        "RESTIC_LOCK_RETRY_AFTER": "2s",
        "FORGET_CRON": "*/15 * * * * *",
        "PRUNE_CRON": "5/20 * * * * *",
        "CHECK_CRON": "12/20 * * * * *",
        "RESTIC_FORGET_ARGS": "--keep-last 3",
        "FORGET_SCOPE": "repository",
        "RESTIC_CHECK_ARGS": "",
    }
    services = {
        "restic-server": {"image": image},
        "maintenance": {"image": image, "environment": owner},
        "node-a": {"image": image, "environment": {**node, "BACKUP_CRON": "*/10 * * * * *"}},
        "node-b": {"image": image, "environment": {**node, "BACKUP_CRON": "*/7 * * * * *"}},
        "run-receiver": {
            "image": image,
            "entrypoint": ["python3", "-c", RECEIVER],
            "healthcheck": {"disable": True},
            "volumes": ["runs:/runs"],
        },
    }
    return yaml.safe_dump({"services": services, "volumes": {"runs": {}}})


def run_documents(resources, project) -> list[dict]:
    text = resources.read(project.volume("runs"), "runs.jsonl") or ""
    return [json.loads(line) for line in text.splitlines()]


def outcomes(text: str) -> dict[str, collections.Counter]:
    """Given a container's log, return job -> Counter of the statuses its runs finished with."""
    counted: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for job, status, _ in FINISHED.findall(text):
        counted[job][status] += 1
    return counted


def test_multihost_stack_soaks_with_no_failed_backup_no_forced_unlock_and_a_clean_check(
    resources, tmp_path
) -> None:
    (tmp_path / "override.yml").write_text(override(resources.image))
    project = resources.compose(ROOT / "compose.multihost.yml", tmp_path / "override.yml")
    project("up", "--detach", "--no-build", timeout=240)
    time.sleep(SOAK_SECONDS)
    containers = {service: project.container(service) for service in ("maintenance", *NODES)}
    project("stop", "--timeout", "60", "maintenance", *NODES, timeout=240)

    texts = {service: logs(container) for service, container in containers.items()}
    for node in NODES:
        backups = outcomes(texts[node])["backup"]
        assert backups["ok"] >= 4, (node, backups, texts[node][-3000:])
        assert set(backups) <= {"ok", "interrupted"}, (node, backups)
    owner = outcomes(texts["maintenance"])
    # Every forget ran, or gave way to another host's lock: restic's exit 11 in the run's JSON,
    # a skip (exit 0) without a lock wait, `locked` (exit 11) once SCHEDULE_LOCK_WAIT ran out.
    forgets = [document for document in run_documents(resources, project) if document["job"] == "forget"]
    assert len(forgets) == sum(owner["forget"].values()), (forgets, owner)
    assert {document["hostname"] for document in forgets} == {"maintenance"}
    forget_statuses = collections.Counter(document["status"] for document in forgets)
    gave_way = {"skipped": 0, "locked": 11}
    assert forget_statuses["ok"] >= 1, forgets
    assert set(forget_statuses) <= {"ok", "interrupted", *gave_way}, forgets
    for document in forgets:
        if document["status"] in gave_way:
            expected = (11, gave_way[document["status"]])
            assert (document["restic_exit_code"], document["exit_code"]) == expected, document
    assert owner["prune"]["ok"] >= 1 and set(owner["prune"]) <= {"ok", "interrupted"}, owner
    assert owner["check"]["ok"] >= 1 and set(owner["check"]) <= {"ok", "interrupted"}, owner
    # LOCK_FORCE_INACTIVE is off: whatever the contention, no lock was removed.
    assert not any("removed stale lock" in text for text in texts.values())
    # The hosts did meet each other's locks: the soak proves waiting, not just luck.
    assert sum(text.count(LOCK_WAIT) for text in texts.values()) >= 1

    def restic(*arguments: str):
        return project(
            "run", "--rm", "--no-deps", "--entrypoint", "restic", "maintenance", *arguments, check=False
        )

    check = restic("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "no errors were found" in check.stdout
    assert restic("--no-lock", "list", "locks").stdout.split() == []
    snapshots = json.loads(restic("snapshots", "--json").stdout)
    assert {snapshot["hostname"] for snapshot in snapshots} == set(NODES)
