"""/bin/notify-test against real receivers on loopback: a real SMTP server and a real HTTP
server get exactly one test message each, failures exit 1, and nothing is sent about the
test's own run."""

import json
import time

from tests.core.conftest import output
from tests.support.receivers import free_port, http_receiver, smtp_receiver

MAIL_ONLY_ON_ERROR_OFF = {"MAILX_ON_ERROR": "OFF", "WEBHOOK_ON_ERROR": "OFF"}


def targets(smtp, http) -> dict:
    return {
        "MAILX_RCPT": "ops@example.com",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "WEBHOOK_URL": http.url("/hook?token=webhook-secret-1"),
        **MAIL_ONLY_ON_ERROR_OFF,
    }


def test_both_targets_get_one_test_message_each_and_nothing_about_the_run(sandbox):
    with smtp_receiver() as smtp, http_receiver() as http:
        completed = sandbox.helper("notify-test", "--subject", "hello from the test", **targets(smtp, http))
        time.sleep(1)  # room for a second, unwanted message to arrive
        mails, posts = smtp.wait_for(1), http.wait_for(1)
    assert completed.returncode == 0, output(completed)
    assert [mail.subject for mail in mails] == ["hello from the test"]
    assert "No backup ran." in mails[0].body
    assert len(posts) == 1 and json.loads(posts[0].body)["test"] is True
    document = sandbox.last_json("notify-test")
    assert (document["target_mode"], document["mail_result"], document["webhook_result"]) == (
        "auto",
        "sent",
        "sent",
    )
    assert "webhook-secret-1" not in json.dumps(document) + output(completed)


def test_a_refused_delivery_exits_1_and_says_which(sandbox):
    closed = free_port()
    with http_receiver() as http:
        environment = {
            **targets(type("Closed", (), {"port": closed})(), http),
            "SMTP_TIMEOUT": "5",
        }
        completed = sandbox.helper("notify-test", "--all", **environment)
    assert completed.returncode == 1, output(completed)
    document = sandbox.last_json("notify-test")
    assert document["webhook_result"] == "sent"
    assert document["mail_result"].startswith("failed: ") and "refused" in document["mail_result"].lower()
    assert document["status"] == "failed" and document["error"].startswith("mail failed")


def test_a_dry_run_sends_nothing(sandbox):
    with smtp_receiver() as smtp, http_receiver() as http:
        completed = sandbox.helper("notify-test", "--all", "--dry-run", **targets(smtp, http))
        time.sleep(0.5)
        assert smtp.messages == [] and http.requests == []
    assert completed.returncode == 0, output(completed)
    document = sandbox.last_json("notify-test")
    assert (document["dry_run"], document["mail_result"], document["webhook_result"]) == (
        True,
        "dry-run",
        "dry-run",
    )


def test_a_target_that_is_not_configured_is_named_and_exits_2(sandbox):
    nothing = sandbox.helper("notify-test")
    assert nothing.returncode == 2 and "nothing to test: set MAILX_RCPT" in output(nothing)
    with http_receiver() as http:
        webhook_only = sandbox.helper("notify-test", "--all", WEBHOOK_URL=http.url())
        assert http.requests == [], "sent before refusing"
    assert webhook_only.returncode == 2 and "not configured: set MAILX_RCPT" in output(webhook_only)
