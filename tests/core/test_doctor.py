"""/bin/doctor: the support bundle against real repositories, and the promise that makes it
pasteable into a public issue: no secret reaches any of its outputs."""

import json

from helper.workers import settings_table
from tests.core.conftest import output


def doctor_json(sandbox, **overrides) -> tuple[int, dict]:
    completed = sandbox.helper("doctor", "--json", **overrides)
    return completed.returncode, json.loads(completed.stdout)


def test_a_healthy_setup_has_no_errors_and_every_section(sandbox):
    code, document = doctor_json(sandbox, BACKUP_CRON="0 3 * * *")
    assert code == 0, document["checks"]
    assert (document["schema"], document["command"], document["errors"]) == (
        "restic-backup-helper.doctor/1",
        "doctor",
        0,
    )
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
    assert document["repository_probe"] == {
        "status": "ok",
        "repository": sandbox.env["RESTIC_REPOSITORY"],
        "restic_exit_code": 0,
    }
    assert document["runtime"]["restic"].startswith("restic 0.")
    assert set(document["environment"]) >= {"RESTIC_REPOSITORY", "BACKUP_CRON", "STATUS_STALE_FACTOR"}
    assert sandbox.last_json("doctor")["repository_probe_status"] == "ok"


def test_a_missing_repository_and_a_wrong_password_fail_and_nothing_is_created(sandbox):
    missing = sandbox.root / "no-repository"
    code, document = doctor_json(sandbox, RESTIC_REPOSITORY=str(missing))
    assert code == 1 and document["repository_probe"]["status"] == "missing"
    assert not missing.exists(), "doctor initialised a repository"
    code, document = doctor_json(sandbox, RESTIC_PASSWORD="not-the-password")
    assert code == 1 and document["repository_probe"]["restic_exit_code"] == 12


def test_a_broken_configuration_is_reported_not_refused(sandbox):
    sandbox.hook("pre-backup.sh", "exit 0\n").chmod(0o644)
    completed = sandbox.helper("doctor", BACKUP_CRON="61 * * * *")
    assert completed.returncode == 1, output(completed)
    assert "[FAIL] configuration: BACKUP_CRON: not a valid cron expression" in completed.stdout
    assert "pre-backup.sh is not executable" in completed.stdout
    assert "[FAIL] doctor found 1 error(s)" in completed.stdout


def secret_environment(sandbox) -> dict[str, str]:
    """A distinct secret in every secret variable, in a _FILE twin, a URL and a webhook token."""
    secrets = {
        row.name: f"s3cr3t-{row.name.lower().replace('_', '-')}-value"
        for row in settings_table()
        if row.secret
    }
    secrets["RESTIC_PASSWORD"] = sandbox.env["RESTIC_PASSWORD"]
    password_file = sandbox.root / "smtp-password"
    password_file.write_text("s3cr3t-from-a-file-twin\n")
    del secrets["SMTP_PASSWORD"]
    secrets["SMTP_PASSWORD_FILE"] = str(password_file)
    secrets["WEBHOOK_URL"] = "https://hooks.example.com/services/T0/B1?token=s3cr3t-webhook-token"
    secrets["WEBHOOK_HEADER_AUTH"] = "Bearer s3cr3t-bearer-token"
    secrets["REPLICATE_REPOSITORY"] = "rest:http://user:s3cr3t-url-password@127.0.0.1:9/"
    return secrets


def test_no_secret_reaches_the_bundle_in_any_of_its_outputs(sandbox):
    environment = secret_environment(sandbox)
    leaked = [value for value in environment.values() if "s3cr3t" in value]
    leaked = [value.split("s3cr3t", 1)[1] for value in leaked]
    leaked += [sandbox.env["RESTIC_PASSWORD"], "-from-a-file-twin"]
    text = sandbox.helper("doctor", **environment)
    as_json = sandbox.helper("doctor", "--json", **environment)
    outputs = {
        "text": output(text),
        "json": output(as_json),
        "doctor-last.log": (sandbox.log_dir / "doctor-last.log").read_text(),
        "last-doctor.json": (sandbox.log_dir / "last-doctor.json").read_text(),
    }
    assert "== Effective environment ==" in outputs["text"]
    assert json.loads(as_json.stdout)["environment"]["SMTP_PASSWORD"] == "set (secret, not shown)"
    for where, content in outputs.items():
        for secret in leaked:
            assert secret not in content, f"{where} shows {secret!r}"
