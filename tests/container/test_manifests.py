"""The shipped deployment files are valid YAML of the right kinds, with one maintenance owner,
known variables and grace periods that outlast STOP_GRACE_SECONDS. No Docker engine needed."""

import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from croniter import croniter

from helper.workers import settings_table
from tests.container.engine import ROOT, compose_command

KUBERNETES = ROOT / "examples" / "kubernetes"
SWARM_STACK = ROOT / "examples" / "swarm" / "stack.yml"
COMPOSE_FILES = (ROOT / "compose.example.yml", ROOT / "compose.multihost.yml")
MAINTENANCE = {"FORGET_CRON": "forget", "PRUNE_CRON": "prune", "CHECK_CRON": "check"}
WORKERS = {"backup", "forget", "prune", "check", "unlock"}
# Read by restic itself rather than through the settings table.
RESTIC_NATIVE = {"RESTIC_CACHE_DIR", "RESTIC_PASSWORD_COMMAND", "AWS_ACCESS_KEY_ID"}
# Every variable the helper reads, the jobs' *_CRON schedules included.
BY_NAME = {setting.name: setting for setting in settings_table()}
DEFAULT_STOP_GRACE = int(BY_NAME["STOP_GRACE_SECONDS"].default)


def documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def seconds(duration: str) -> int:
    """Given a compose duration such as 60s or 1m30s, return seconds."""
    total, number = 0, ""
    for character in duration:
        if character.isdigit():
            number += character
        else:
            total += int(number) * {"h": 3600, "m": 60, "s": 1}[character]
            number = ""
    return total + int(number or 0)


def next_fire_in(expression: str) -> float:
    """Seconds until the expression next fires; 6 fields put seconds first, as the scheduler reads them."""
    fields = expression.split()
    assert len(fields) in (5, 6), expression
    if len(fields) == 6:
        fields = [*fields[1:], fields[0]]
    assert croniter.is_valid(" ".join(fields)), expression
    now = datetime.now(UTC)
    return croniter(" ".join(fields), now).get_next(datetime).timestamp() - now.timestamp()


def check_variables(environment: dict[str, str], where: str) -> None:
    for name, value in environment.items():
        known = name in BY_NAME or name.removesuffix("_FILE") in BY_NAME or name in RESTIC_NATIVE
        assert known, f"{where}: {name} is not a restic-helper or restic variable"
        if name.endswith("_CRON") and value:
            next_fire_in(value)


def pod_spec(document: dict) -> dict:
    if document["kind"] == "CronJob":
        return document["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return document["spec"]["template"]["spec"]


def container_environment(container: dict) -> dict[str, str]:
    return {variable["name"]: variable.get("value", "") for variable in container.get("env", [])}


def test_kubernetes_manifests_are_cronjobs_and_a_statefulset_with_known_settings() -> None:
    files = sorted(KUBERNETES.glob("*.yaml"))
    assert files, "no Kubernetes manifests"
    every = [document for path in files for document in documents(path)]
    kinds = Counter(document["kind"] for document in every)
    assert set(kinds) == {"Secret", "ConfigMap", "CronJob", "StatefulSet"}, kinds
    defined = {(document["kind"], document["metadata"]["name"]) for document in every}
    hostnames = []
    for document in every:
        if document["kind"] in ("Secret", "ConfigMap"):
            check_variables(document.get("stringData") or document.get("data") or {}, document["kind"])
            continue
        spec = pod_spec(document)
        # A StatefulSet's pod is named, and hostnamed, <name>-<ordinal>.
        hostnames.append(spec.get("hostname") or f"{document['metadata']['name']}-0")
        assert spec["terminationGracePeriodSeconds"] > DEFAULT_STOP_GRACE
        for container in spec["containers"]:
            assert container["image"].startswith("restic-helper")
            check_variables(container_environment(container), document["metadata"]["name"])
            for source in container.get("envFrom", []):
                reference = source.get("secretRef") or source.get("configMapRef")
                kind = "Secret" if "secretRef" in source else "ConfigMap"
                assert (kind, reference["name"]) in defined, reference
    # Two pods with one hostname would take each other's locks for their own.
    assert len(hostnames) == len(set(hostnames)), hostnames


def test_kubernetes_manifests_pass_a_current_releases_schema_strictly() -> None:
    """Offline, against the OpenAPI schema of the newest release kubernetes-validate ships (the
    test extra pins it): a misspelt or misplaced field fails here, as `kubectl apply` would."""
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    checked = 0
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for document in documents(path):
            try:
                kubernetes_validate.validate(document, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                named = f"{document['kind']} {document['metadata']['name']}"
                pytest.fail(f"{path.name}: {named}: {error.message}")
            checked += 1
    assert checked >= 6


def test_kubernetes_cronjobs_never_run_two_pods_at_once_and_run_one_worker_each() -> None:
    for path in KUBERNETES.glob("*.yaml"):
        for document in documents(path):
            if document["kind"] != "CronJob":
                continue
            assert document["apiVersion"] == "batch/v1"
            assert document["spec"]["concurrencyPolicy"] == "Forbid"
            # Without it a Job replaces a pod that is still terminating: two pods, one hostname.
            assert document["spec"]["jobTemplate"]["spec"]["podReplacementPolicy"] == "Failed"
            next_fire_in(document["spec"]["schedule"])
            spec = pod_spec(document)
            assert spec["restartPolicy"] in ("Never", "OnFailure")
            (container,) = spec["containers"]
            assert container["args"][0] in WORKERS, container["args"]


def test_each_kubernetes_owner_option_owns_forget_prune_and_check_exactly_once() -> None:
    cronjobs = documents(KUBERNETES / "maintenance-cronjobs.yaml")
    workers = Counter(pod_spec(job)["containers"][0]["args"][0] for job in cronjobs)
    assert workers == Counter({"forget": 1, "prune": 1, "check": 1})

    # A StatefulSet: Kubernetes' one workload that never runs two pods of one identity.
    (owner,) = documents(KUBERNETES / "maintenance-statefulset.yaml")
    assert (owner["apiVersion"], owner["kind"]) == ("apps/v1", "StatefulSet")
    assert owner["spec"]["replicas"] == 1
    labels = owner["spec"]["template"]["metadata"]["labels"]
    assert owner["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (scheduler,) = pod_spec(owner)["containers"]
    assert "args" not in scheduler and "command" not in scheduler, "the scheduler runs with no arguments"
    environment = container_environment(scheduler)
    assert all(environment.get(name) for name in MAINTENANCE)
    assert environment["BACKUP_CRON"] == ""

    for job in documents(KUBERNETES / "backup-cronjob.yaml"):
        (container,) = pod_spec(job)["containers"]
        assert container["args"][0] == "backup"
        assert not MAINTENANCE.keys() & container_environment(container).keys()


def test_swarm_stack_runs_backups_globally_and_one_owner_replica() -> None:
    (stack,) = documents(SWARM_STACK)
    services = stack["services"]
    assert services["backup"]["deploy"]["mode"] == "global"
    assert services["backup"]["hostname"] == "{{.Node.Hostname}}"
    owner = services["maintenance"]
    # Swarm may run a new owner task beside one on a node cut off from the managers.
    assert "{{.Task.ID}}" in owner["hostname"]
    assert owner["deploy"]["mode"] == "replicated" and owner["deploy"]["replicas"] == 1
    assert owner["deploy"]["update_config"]["order"] == "stop-first"
    owners = [
        name
        for name, service in services.items()
        if MAINTENANCE.keys() & service.get("environment", {}).keys()
    ]
    assert owners == ["maintenance"]
    assert all(owner["environment"][name] for name in MAINTENANCE)
    assert services["restic-server"]["entrypoint"][:3] == ["rclone", "serve", "restic"]
    for name in ("backup", "maintenance"):
        check_variables(services[name]["environment"], name)
        assert seconds(services[name]["stop_grace_period"]) > DEFAULT_STOP_GRACE
        assert set(services[name]["secrets"]) <= set(stack["secrets"])


def test_compose_example_backs_up_within_a_minute_and_stops_within_its_grace_period() -> None:
    (compose,) = documents(COMPOSE_FILES[0])
    (service,) = compose["services"].values()
    environment = service["environment"]
    check_variables(environment, "compose.example.yml")
    assert next_fire_in(environment["BACKUP_CRON"]) <= 60
    assert environment["RESTIC_CHECK_REPOSITORY_STATUS"] == "ON"
    assert seconds(service["stop_grace_period"]) > int(environment["STOP_GRACE_SECONDS"])
    secret = compose["secrets"][service["secrets"][0]]["file"]
    assert "example" in (ROOT / secret).read_text().lower()
    mounts = dict(volume.split(":")[:2] for volume in service["volumes"])
    assert mounts["repository"] == "/mnt/restic" and "repository" in compose["volumes"]
    assert mounts["metrics"] == environment["METRICS_DIR"] and "metrics" in compose["volumes"]
    assert (ROOT / "examples" / "data").is_dir()


def test_compose_multihost_has_two_named_nodes_one_owner_and_a_rest_server() -> None:
    (compose,) = documents(COMPOSE_FILES[1])
    services = compose["services"]
    assert services["restic-server"]["entrypoint"][:3] == ["rclone", "serve", "restic"]
    helpers = {name: service for name, service in services.items() if name != "restic-server"}
    owners = [
        name for name, service in helpers.items() if any(service["environment"].get(n) for n in MAINTENANCE)
    ]
    assert owners == ["maintenance"]
    nodes = [name for name, service in helpers.items() if service["environment"].get("BACKUP_CRON")]
    assert len(nodes) == 2
    hostnames = [service["hostname"] for service in helpers.values()]
    assert len(set(hostnames)) == len(hostnames) == 3
    for name, service in helpers.items():
        check_variables(service["environment"], name)
        assert service["environment"]["RESTIC_REPOSITORY"].startswith("rest:http://restic-server:")
        assert seconds(service["stop_grace_period"]) > int(service["environment"]["STOP_GRACE_SECONDS"])
    lock_wait = helpers["maintenance"]["environment"]
    assert lock_wait.get("SCHEDULE_LOCK_WAIT") or "--retry-lock" in lock_wait["RESTIC_FORGET_ARGS"]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_every_compose_service_of_the_image_can_build_it(path: Path) -> None:
    # Without `build:`, compose pulls a missing image, and restic-helper is in no registry.
    (compose,) = documents(path)
    for name, service in compose["services"].items():
        assert service["image"] == "restic-helper:latest", name
        assert service.get("build") == ".", name


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_compose_files_pass_the_compose_cli_validation(path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("no compose CLI (neither `docker compose` nor docker-compose)")
    completed = subprocess.run(
        [*command, "--file", str(path), "config", "--quiet"], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr


def test_swarm_stack_passes_docker_stack_config() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI")
    completed = subprocess.run(
        ["docker", "stack", "config", "--compose-file", str(SWARM_STACK)], capture_output=True, text=True
    )
    if "unknown command" in completed.stderr or "is not a docker command" in completed.stderr:
        pytest.skip("this docker CLI has no `stack config`")
    assert completed.returncode == 0, completed.stderr
