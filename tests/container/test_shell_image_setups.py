"""The shell image's documented setups, run against this image with their `command:` lines
unchanged: its CI smoke stack on one host, driven step by step with `docker exec` as its smoke
script did, each command's JSON parsed as a user's script would parse it.

Where the assertions differ from the shell image's own smoke script, it is for a documented
difference: JSON values are typed (`dry_run` is `true`, not `"ON"`)."""

import json
import shlex
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.container.engine import ROOT, SESSION, Resources, docker, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SETUPS = ROOT / "tests" / "container" / "shell_image"
SERVICE = "restic-smoke"


def exec_in(container: str, *command: str, environment: dict[str, str] | None = None):
    flags = [flag for key, value in (environment or {}).items() for flag in ("-e", f"{key}={value}")]
    return docker("exec", *flags, container, *command, check=False, timeout=300)


def succeeds(container: str, *command: str, **environment: str) -> str:
    completed = exec_in(container, *command, environment=environment)
    assert completed.returncode == 0, f"{shlex.join(command)}: exit {completed.returncode}\n" + (
        completed.stdout + completed.stderr
    )
    return completed.stdout


def last_json(container: str, job: str) -> dict:
    return json.loads(succeeds(container, "cat", f"/var/log/last-{job}.json"))


@pytest.fixture(scope="module")
def smoke(image, tmp_path_factory):
    """The smoke stack, built with its own release argument; yields the project and container."""
    tag = f"restic-helper:ci-smoke-{SESSION}"
    override = tmp_path_factory.mktemp("compose") / "override.yml"
    override.write_text(yaml.safe_dump({"services": {SERVICE: {"image": tag}}}))
    resources = Resources(image=image)
    project = resources.compose(SETUPS / "single-host.yml", override)
    try:
        project("up", "--detach", "--build", timeout=900)
        container = project.container(SERVICE)
        wait_until(
            lambda: exec_in(container, "test", "-f", "/data/repo/config").returncode == 0,
            120,
            "the start-up probe to create /data/repo",
        )
        succeeds(container, "mkdir", "-p", "/data/backup_src", "/data/sync_a", "/data/sync_b")
        succeeds(
            container, "sh", "-c", "echo smoke-ci > /data/backup_src/smoke.txt; echo a > /data/sync_a/a.txt"
        )
        yield project, container
    finally:
        resources.cleanup()
        docker("rmi", tag, check=False)


def test_the_release_build_argument_and_plain_restic(smoke) -> None:
    _, container = smoke
    succeeds(container, "sh", "-c", 'test "$RESTIC_BACKUP_HELPER_RELEASE" = ci-smoke')
    assert "restic 0." in succeeds(container, "restic", "version")


def test_config_check_speaks_the_shell_images_schema(smoke) -> None:
    project, _ = smoke
    assert project("run", "--rm", "--no-deps", SERVICE, "config-check").returncode == 0
    document = json.loads(project("run", "--rm", "--no-deps", SERVICE, "config-check", "--json").stdout)
    assert document["schema"] == "restic-backup-helper.config-check/1"
    assert (document["command"], document["exit_code"], document["errors"]) == ("config-check", 0, 0)
    keys = {check["key"] for check in document["checks"]}
    assert {"RESTIC_REPOSITORY", "RESTIC_PASSWORD", "RESTIC_TAG"} <= keys


def test_repository_file_wins_over_an_emptied_repository(smoke) -> None:
    project, container = smoke
    succeeds(
        container, "sh", "-c", "printf '# where the smoke repository is\\n/data/repo\\n' > /data/repo.url"
    )
    completed = project(
        "run", "--rm", "--no-deps", "-e", "RESTIC_REPOSITORY=", "-e", "RESTIC_REPOSITORY_FILE=/data/repo.url",
        SERVICE, "config-check", "--json",
    )  # fmt: skip
    document = json.loads(completed.stdout)
    repository = [check for check in document["checks"] if check["key"] == "RESTIC_REPOSITORY"]
    assert document["exit_code"] == 0 and repository and repository[0]["status"] == "ok", document
    assert "/data/repo" in repository[0]["message"]
    assert not [check for check in document["checks"] if check["key"] == "RESTIC_REPOSITORY_FILE"]


def test_a_backup_cycle_with_hooks_and_its_inline_forget(smoke) -> None:
    project, container = smoke
    assert "backup" in project("run", "--rm", "--no-deps", SERVICE, "cron-list").stdout
    succeeds(container, "/bin/backup")
    backup = last_json(container, "backup")
    assert backup["status"] == "ok" and backup["restic_tag"] == "ci-smoke"
    assert backup["forget_exit_code"] == 0, "RESTIC_FORGET_ARGS makes the backup forget inline"
    assert "post-backup hook ran (exit code 0)" in succeeds(container, "cat", "/var/log/backup-last.log")
    snapshots = json.loads(succeeds(container, "restic", "snapshots", "--json", "--no-lock"))
    assert [snapshot["tags"] for snapshot in snapshots] == [["ci-smoke"]]
    succeeds(container, "/bin/check")
    assert "BACKUP_CRON" in succeeds(container, "/bin/cron-list")


def test_status_and_health_summary_after_a_backup(smoke) -> None:
    _, container = smoke
    succeeds(container, "/bin/backup")
    assert "== Jobs ==" in succeeds(container, "/bin/status")
    document = json.loads(succeeds(container, "/bin/health-summary", "--json"))
    assert (document["schema"], document["command"], document["exit_code"]) == (
        "restic-backup-helper.status/1",
        "status",
        0,
    )
    assert document["verdict"] in ("OK", "WARN"), document["findings"]
    assert {row["job"]: row["status"] for row in document["jobs"]}["backup"] == "ok"
    assert document["scheduler"]["healthy"] is True, document["scheduler"]
    assert len(document["recent_json"]) >= 14


def test_doctor_sources_report_and_notify_test(smoke) -> None:
    _, container = smoke
    document = json.loads(succeeds(container, "/bin/doctor", "--json"))
    assert (document["schema"], document["command"]) == ("restic-backup-helper.doctor/1", "doctor")
    assert (document["exit_code"], document["errors"]) == (0, 0), document["checks"]
    for section in (
        "runtime",
        "environment",
        "repository_probe",
        "replicate",
        "hooks",
        "recent_json",
        "checks",
    ):
        assert section in document, section
    assert document["repository_probe"]["status"] == "ok"
    assert document["environment"]["RESTIC_PASSWORD"] == "set (secret, not shown)"

    succeeds(container, "/bin/sources-report")
    report = last_json(container, "sources-report")
    assert (report["job"], report["exit_code"]) == ("sources-report", 0)
    assert report["sources_count"] >= 1 and report["total_files"] >= 1

    environment = {"MAILX_RCPT": "ops@smoke.invalid", "WEBHOOK_URL": "https://webhook.smoke.invalid/test"}
    succeeds(container, "/bin/notify-test", "--all", "--dry-run", **environment)
    notified = last_json(container, "notify-test")
    assert (notified["exit_code"], notified["dry_run"]) == (0, True)
    assert (notified["mail_result"], notified["webhook_result"]) == ("dry-run", "dry-run")


def test_the_operators_commands_dry_and_real(smoke) -> None:
    _, container = smoke
    succeeds(container, "/bin/backup")
    succeeds(container, "/bin/forget-preview")
    assert last_json(container, "forget-preview")["exit_code"] == 0

    succeeds(container, "/bin/init-repo", "--dry-run", "--yes")
    init = last_json(container, "init-repo")
    assert (init["exit_code"], init["dry_run"], init["repo_existed"]) == (0, True, True)

    succeeds(
        container,
        "sh",
        "-c",
        "mkdir -p /tmp/restore-smoke && /bin/restore --dry-run --yes --target /tmp/restore-smoke",
    )
    assert last_json(container, "restore")["dry_run"] is True
    succeeds(container, "/bin/snapshot-export", "--dry-run")
    assert last_json(container, "snapshot-export")["dry_run"] is True

    digest = succeeds(container, "sha256sum", "/data/backup_src/smoke.txt").split()[0]
    succeeds(container, "/bin/restore-test", "--canary", f"/data/backup_src/smoke.txt={digest}")
    drill = last_json(container, "restore-test")
    assert (drill["verification"], drill["canary_passed"], drill["canary_failed"]) == ("passed", 1, 0)
    assert drill["files_restored"] >= 1 and drill["bytes_restored"] > 0 and drill["min_files_met"] is True
    assert drill["cleanup_status"] == "cleaned"
    succeeds(container, "/bin/restore-test", "--dry-run")
    assert last_json(container, "restore-test")["verification"] == "skipped"


def test_replicate_bisyncs_the_pair_of_the_job_file(smoke) -> None:
    _, container = smoke
    succeeds(container, "/bin/replicate")
    succeeds(container, "test", "-f", "/data/sync_b/a.txt")
    document = last_json(container, "replicate")
    assert (document["replicate_jobs_processed"], document["replicate_jobs_failed"]) == (1, 0)
    succeeds(container, "sh", "-c", "echo b > /data/sync_b/b.txt")
    succeeds(container, "/bin/bisync")
    succeeds(container, "test", "-f", "/data/sync_a/b.txt")


def test_cron_log_is_rotated_into_an_archive(smoke) -> None:
    _, container = smoke
    succeeds(container, "sh", "-c", "printf x >> /var/log/cron.log")
    succeeds(container, "/bin/rotate_log")
    succeeds(container, "sh", "-c", "ls /var/log/cron_log_*.tar.gz")


NODES = {"restic-documents": "documents", "restic-media": "media", "restic-vmstore": "vmstore"}
OWNER = "restic-documents"


@pytest.fixture(scope="module")
def nodes(image, tmp_path_factory):
    """The three backup jobs and their REST server, each node's data seeded; yields the project
    and each service's container."""
    override = tmp_path_factory.mktemp("compose") / "override.yml"
    services = {service: {"image": image} for service in (*NODES, "restic-server")}
    override.write_text(yaml.safe_dump({"services": services}))
    resources = Resources(image=image)
    project = resources.compose(SETUPS / "backup-nodes.yml", override)
    try:
        # The example assumes an existing repository. Three probes that find none create it at
        # once, and on a server that lets one init overwrite another's config (rclone serve
        # restic does) the repository is left damaged (seen here): create it once, first.
        project("up", "--detach", "--no-build", "restic-server", timeout=300)
        project("run", "--rm", "--no-deps", OWNER, "init-repo", "--yes", timeout=300)
        project("up", "--detach", "--no-build", timeout=300)
        containers = {service: project.container(service) for service in NODES}
        for tag in NODES.values():
            volume = project.volume(f"{tag}-data")
            seed = f"mkdir -p /seed/{tag} && echo {tag} > /seed/{tag}/file.txt && echo x > /seed/skip.tmp"
            assert (
                resources.run("-v", f"{volume}:/seed", "--entrypoint", "sh", image, "-c", seed).returncode
                == 0
            )
        for container in containers.values():
            wait_until(
                lambda c=container: "scheduler ready" in docker("logs", c, check=False).stdout, 120, "ready"
            )
        yield project, containers
    finally:
        resources.cleanup()


def in_parallel(containers: list[str], *command: str) -> list:
    with ThreadPoolExecutor(len(containers)) as pool:
        return list(pool.map(lambda container: exec_in(container, *command), containers))


def test_three_backup_jobs_share_one_repository_and_one_owner_maintains_it(nodes) -> None:
    _, containers = nodes
    backups = in_parallel(list(containers.values()), "/bin/backup")
    assert [completed.returncode for completed in backups] == [0, 0, 0], [c.stdout for c in backups]
    for service, tag in NODES.items():
        document = last_json(containers[service], "backup")
        assert (document["status"], document["hostname"], document["restic_tag"]) == ("ok", tag, tag)
        # FORGET_CRON is set: the exclusive forget lock is taken in its own window, not inline.
        assert document["forget_exit_code"] is None
    forgets = in_parallel(list(containers.values()), "/bin/forget")
    assert [completed.returncode for completed in forgets] == [0, 0, 0], [c.stdout for c in forgets]
    assert {last_json(container, "forget")["status"] for container in containers.values()} <= {
        "ok",
        "skipped",
    }
    owner = containers[OWNER]
    succeeds(owner, "/bin/prune", "--lock-wait", "5m")
    succeeds(owner, "/bin/check", "--lock-wait", "5m")

    snapshots = json.loads(succeeds(owner, "restic", "snapshots", "--json", "--no-lock"))
    assert sorted((snapshot["hostname"], *snapshot["tags"]) for snapshot in snapshots) == sorted(
        (tag, tag) for tag in NODES.values()
    )
    listing = succeeds(owner, "restic", "ls", "--no-lock", "latest", "--host", "documents")
    assert "file.txt" in listing and "skip.tmp" not in listing, "the exclude file was not applied"
    assert "restic_backup_last_success" in succeeds(
        owner, "cat", "/var/log/textfile_collector/restic_backup.prom"
    )
    assert succeeds(owner, "ls", "/.cache/restic").strip(), "the cache volume on /.cache/restic stays unused"
