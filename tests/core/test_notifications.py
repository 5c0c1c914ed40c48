"""Mail (SMTP and sendmail) and webhook, delivered to real receivers on loopback."""

import json
import re
import time

import pytest

from tests.core.conftest import output
from tests.support.receivers import free_port, http_receiver, self_signed_certificate, smtp_receiver

SUBJECT_DETAILS = r"\d+s · [\d.]+ (B|KiB) new \(snap [0-9a-f]{8}\)"


def mail_settings(receiver, **extra) -> dict:
    return {"MAILX_RCPT": "ops@example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": receiver.port, **extra}


# --- mail ---------------------------------------------------------------------------------------


def test_mail_over_smtp_with_login_after_a_successful_backup(sandbox):
    with smtp_receiver(user="mailer", password="smtp-pass-123") as receiver:
        completed = sandbox.helper(
            "backup", **mail_settings(receiver, SMTP_USER="mailer", SMTP_PASSWORD="smtp-pass-123")
        )
        [mail] = receiver.wait_for(1)
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("backup")
    host = document["hostname"]
    assert re.fullmatch(rf"\[OK\] Backup {re.escape(host)} · {SUBJECT_DETAILS}", mail.subject), mail.subject
    assert mail.login == ("mailer", "smtp-pass-123")
    assert mail.recipients == ("ops@example.com",)
    assert mail.message["From"] == f"restic-helper@{host}"
    assert "Status:     ok (exit 0)" in mail.body
    assert document["snapshot_id"] in mail.body
    assert "✅ backup finished: ok (exit 0)" in mail.body  # the masked log tail
    assert "📧 mail sent to ops@example.com" in completed.stdout


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_mail_over_tls_logs_in_only_to_a_server_whose_certificate_checks_out(sandbox, tls):
    certificate = self_signed_certificate(sandbox.root)
    login = {"SMTP_USER": "mailer", "SMTP_PASSWORD": "smtp-pass-123", "SMTP_TLS": tls}
    with smtp_receiver("mailer", "smtp-pass-123", tls, certificate) as receiver:
        # Trusted through SSL_CERT_FILE, as a private CA would be.
        trusted = sandbox.helper("backup", **mail_settings(receiver, **login), SSL_CERT_FILE=certificate[0])
        [mail] = receiver.wait_for(1)
        # Not trusted: the mail is not sent, the password never leaves, and the run is unharmed.
        untrusted = sandbox.helper("backup", **mail_settings(receiver, **login))
        time.sleep(0.5)
        received = len(receiver.messages)
    assert trusted.returncode == 0, output(trusted)
    assert "📧 mail sent to ops@example.com" in trusted.stdout
    assert mail.login == ("mailer", "smtp-pass-123")
    assert "Status:     ok (exit 0)" in mail.body
    assert untrusted.returncode == 0, output(untrusted)
    assert "mail reporter failed" in untrusted.stdout and "CERTIFICATE_VERIFY_FAILED" in untrusted.stdout
    assert received == 1
    assert "Traceback" not in output(trusted) + output(untrusted)


def test_mail_subject_of_a_failure_names_the_exit_code(sandbox):
    with smtp_receiver() as receiver:
        completed = sandbox.helper("check", RESTIC_CHECK_ARGS="--no-such-flag", **mail_settings(receiver))
        [mail] = receiver.wait_for(1)
    assert completed.returncode == 1
    host = sandbox.last_json("check")["hostname"]
    assert mail.subject.startswith(f"[FAIL 1] Check {host} · ")
    assert "Status:     failed (exit 1)" in mail.body
    assert "unknown flag" in mail.body  # the log tail tells what went wrong


def test_mail_on_error_only_mails_runs_that_exit_non_zero(sandbox):
    with smtp_receiver() as receiver:
        settings = mail_settings(receiver, MAILX_ON_ERROR="ON")
        assert sandbox.helper("backup", **settings).returncode == 0
        sandbox.hook("pre-backup.sh", "exit 75\n")
        assert sandbox.helper("backup", **settings).returncode == 0  # skipped
        assert sandbox.helper("forget", **settings).returncode == 2  # no policy
        mails = receiver.wait_for(1)
        time.sleep(0.3)
    assert [mail.subject.split(" ")[0:2] for mail in receiver.messages] == [["[FAIL", "2]"]]
    assert mails[0].subject.startswith("[FAIL 2] Forget ")


def test_a_skipped_run_is_mailed_as_skip_when_every_run_is_mailed(sandbox):
    sandbox.hook("pre-backup.sh", "exit 75\n")
    with smtp_receiver() as receiver:
        assert sandbox.helper("backup", **mail_settings(receiver)).returncode == 0
        [mail] = receiver.wait_for(1)
    assert mail.subject.startswith("[SKIP] Backup ")


def test_mail_through_a_sendmail_program(sandbox):
    captured = sandbox.root / "sendmail.out"
    sendmail = sandbox.root / "sendmail"
    sendmail.write_text(f'#!/bin/sh\necho "args: $*" > {captured}\ncat >> {captured}\n')
    sendmail.chmod(0o755)
    completed = sandbox.helper("backup", MAILX_RCPT="ops@example.com", SENDMAIL_BIN=str(sendmail))
    assert completed.returncode == 0, output(completed)
    text = captured.read_text()
    assert text.startswith("args: -t -i\n")
    assert "To: ops@example.com" in text
    assert re.search(r"Subject: \[OK\] Backup ", text)


def test_mail_body_template_can_be_overridden(sandbox):
    templates = sandbox.root / "templates"
    templates.mkdir()
    (templates / "mail.txt.j2").write_text(
        "custom {{ result.job }} {{ result.status }} {{ document.exit_code }}\n"
    )
    with smtp_receiver() as receiver:
        sandbox.helper("backup", TEMPLATES_DIR=str(templates), **mail_settings(receiver))
        [mail] = receiver.wait_for(1)
    assert mail.body == "custom backup ok 0\n"


def test_a_broken_template_is_named_and_never_changes_the_exit_code(sandbox):
    templates = sandbox.root / "templates"
    templates.mkdir()
    (templates / "mail.txt.j2").write_text("fine\n{% if result.job %}never closed\n")
    with smtp_receiver() as receiver:
        completed = sandbox.helper("backup", TEMPLATES_DIR=str(templates), **mail_settings(receiver))
    assert completed.returncode == 0, output(completed)
    assert "mail reporter failed: TEMPLATES_DIR: mail.txt.j2 line 2:" in completed.stdout
    assert "Traceback" not in output(completed)


@pytest.mark.parametrize(
    "broken",
    [
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": "1"},  # nothing listens there
        {"SENDMAIL_BIN": "/bin/false"},
        {"SENDMAIL_BIN": "/nonexistent/sendmail"},
    ],
    ids=["smtp-refused", "sendmail-fails", "no-sendmail"],
)
def test_a_failing_mail_never_changes_the_exit_code(sandbox, broken):
    ok = sandbox.helper("backup", MAILX_RCPT="ops@example.com", **broken)
    assert ok.returncode == 0, output(ok)
    assert "mail reporter failed" in ok.stdout
    failed = sandbox.helper("backup", MAILX_RCPT="ops@example.com", RESTIC_PASSWORD="wrong-one", **broken)
    assert failed.returncode == 12
    assert "Traceback" not in output(ok) + output(failed)
    # The other reporters still ran.
    assert sandbox.last_json("backup")["exit_code"] == 12


# --- webhook ------------------------------------------------------------------------------------


def test_webhook_posts_the_run_document_with_the_auth_header(sandbox):
    with http_receiver() as receiver:
        completed = sandbox.helper(
            "backup", WEBHOOK_URL=receiver.url("/hook"), WEBHOOK_HEADER_AUTH="Bearer abc-token-123"
        )
        [request] = receiver.wait_for(1)
    assert completed.returncode == 0, output(completed)
    assert request.path == "/hook"
    assert request.headers["Authorization"] == "Bearer abc-token-123"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"].startswith("restic-helper/")
    assert json.loads(request.body) == sandbox.last_json("backup")
    assert "🌐 webhook delivered to http://127.0.0.1/..." in completed.stdout


def test_webhook_retries_server_errors_then_succeeds(sandbox):
    with http_receiver(statuses=[503]) as receiver:
        completed = sandbox.helper("backup", WEBHOOK_URL=receiver.url())
        requests = receiver.wait_for(2)
    assert completed.returncode == 0
    assert len(requests) == 2
    assert requests[0].body == requests[1].body
    assert "webhook delivered" in completed.stdout
    assert "webhook reporter failed" not in completed.stdout


def test_webhook_retries_are_bounded(sandbox):
    with http_receiver(statuses=[500, 500, 500]) as receiver:
        completed = sandbox.helper("backup", WEBHOOK_URL=receiver.url(), WEBHOOK_RETRIES="1")
        time.sleep(0.3)
        assert len(receiver.requests) == 2
    assert completed.returncode == 0
    assert "webhook reporter failed: http://127.0.0.1/...: HTTP 500 after 2 attempts" in completed.stdout


def test_webhook_client_errors_are_not_retried(sandbox):
    with http_receiver(statuses=[404]) as receiver:
        completed = sandbox.helper("backup", WEBHOOK_URL=receiver.url())
        time.sleep(0.3)
        assert len(receiver.requests) == 1
    assert completed.returncode == 0
    assert "answered HTTP 404" in completed.stdout


def test_webhook_body_template(sandbox):
    templates = sandbox.root / "templates"
    templates.mkdir()
    (templates / "webhook.json.j2").write_text(
        '{"text": {{ subject | tojson }}, "ok": {{ (result.status == "ok") | tojson }}}\n'
    )
    with http_receiver() as receiver:
        sandbox.helper("backup", WEBHOOK_URL=receiver.url(), TEMPLATES_DIR=str(templates))
        [request] = receiver.wait_for(1)
    body = json.loads(request.body)
    assert body["ok"] is True
    assert body["text"].startswith("[OK] Backup ")


def test_webhook_on_error_only_posts_failures(sandbox):
    with http_receiver() as receiver:
        assert sandbox.helper("backup", WEBHOOK_URL=receiver.url(), WEBHOOK_ON_ERROR="yes").returncode == 0
        failed = sandbox.helper(
            "prune", WEBHOOK_URL=receiver.url(), WEBHOOK_ON_ERROR="yes", RESTIC_PASSWORD="bad1"
        )
        [request] = receiver.wait_for(1)
        time.sleep(0.3)
        assert len(receiver.requests) == 1
    assert failed.returncode == 12
    assert json.loads(request.body)["job"] == "prune"


def test_webhook_timeout_is_applied_per_attempt(sandbox):
    with http_receiver(delay_seconds=5) as receiver:
        started = time.monotonic()
        completed = sandbox.helper(
            "backup", WEBHOOK_URL=receiver.url(), WEBHOOK_TIMEOUT="1", WEBHOOK_RETRIES="0"
        )
        elapsed = time.monotonic() - started
    assert completed.returncode == 0
    assert elapsed < 5
    assert "webhook reporter failed" in completed.stdout and "Timeout" in completed.stdout


def test_an_unreachable_webhook_never_changes_the_exit_code(sandbox):
    url = f"http://127.0.0.1:{free_port()}/hook"
    ok = sandbox.helper("backup", WEBHOOK_URL=url, WEBHOOK_RETRIES="1")
    assert ok.returncode == 0
    assert "webhook reporter failed: http://127.0.0.1/...: ConnectionError after 2 attempts" in ok.stdout
    failed = sandbox.helper("check", WEBHOOK_URL=url, WEBHOOK_RETRIES="0", RESTIC_CHECK_ARGS="--bogus")
    assert failed.returncode == 1
    assert "Traceback" not in output(ok) + output(failed)
