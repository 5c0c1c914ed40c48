"""/bin/notify-test: send a test mail and webhook through the real delivery (SMTP or sendmail,
HTTP with its retries), regardless of MAILX_ON_ERROR and WEBHOOK_ON_ERROR, and report each
result. Exit 1 when any delivery failed, 2 when a requested target is not configured.

Its own run sends no notification about itself (NOTIFIES): the test message is the one.
"""

import argparse
import json
import logging

from helper import delivery
from helper.clock import SYSTEM
from helper.outcome import EXIT_FAILED, Outcome, Status, outcome_for
from helper.settings import Settings
from helper.workers.context import RunContext, WorkerReport, config_error

logger = logging.getLogger(__name__)

NAME = "notify-test"
SUMMARY = "Send a test mail and/or webhook through the real notifiers and report each result."
TAKES_RUN_LOCK = False
AUTO_UNLOCK = False
CRON_VARIABLE = None
NOTIFIES = False
FIELDS = (
    *("target_mode", "dry_run", "mail_requested", "webhook_requested", "mail_configured"),
    *("webhook_configured", "mail_result", "webhook_result", "webhook_url", "subject", "message"),
)
GAUGES = ()
HOW_TO_CONFIGURE = {
    "mail": "MAILX_RCPT (with SMTP_HOST, or a sendmail at SENDMAIL_BIN)",
    "webhook": "WEBHOOK_URL",
}


def requirements(settings: Settings) -> list[str]:
    """The targets are checked against the options when it runs."""
    return []


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mail", action="store_true", help="test the mail (MAILX_RCPT)")
    parser.add_argument("--webhook", action="store_true", help="test the webhook (WEBHOOK_URL)")
    parser.add_argument("--all", action="store_true", help="test both; both must be configured")
    parser.add_argument("--dry-run", action="store_true", help="say what would be sent, send nothing")
    parser.add_argument("--subject", help="the test's subject")
    parser.add_argument("--message", help="the test's text")


def targets(options: argparse.Namespace, configured: dict[str, bool]) -> tuple[str, list[str]]:
    """The mode (auto, all, selected) and the targets to send to: by default every configured one."""
    if options.all:
        return "all", ["mail", "webhook"]
    chosen = [target for target in ("mail", "webhook") if getattr(options, target)]
    if chosen:
        return "selected", chosen
    return "auto", [target for target, present in configured.items() if present]


def send(target: str, settings: Settings, subject: str, text: str) -> str:
    """Deliver one test notification; return "sent" or "failed: <why>"."""
    try:
        if target == "webhook":
            body = {
                "job": NAME,
                "test": True,
                "hostname": settings.hostname,
                "subject": subject,
                "message": text,
            }
            body["sent_at"] = SYSTEM.now().astimezone().isoformat(timespec="seconds")
            delivery.post_webhook(json.dumps(body, ensure_ascii=False), "application/json", settings)
        else:
            delivery.send_mail(mail_message(settings, subject, text), settings)
    except Exception as error:  # noqa: BLE001 - any failure to deliver is this command's answer
        reason = settings.masker.mask(str(error) or type(error).__name__)
        logger.error(f"❌ {target}: {reason}")
        return f"failed: {reason}"
    logger.info(f"✅ {target}: sent")
    return "sent"


def mail_message(settings: Settings, subject: str, text: str):
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from or f"restic-helper@{settings.hostname}"
    message["To"] = settings.mailx_rcpt
    message.set_content(text)
    return message


def run(context: RunContext) -> WorkerReport:
    options, settings = context.options, context.settings
    configured = {"mail": bool(settings.mailx_rcpt), "webhook": bool(settings.webhook_url)}
    mode, chosen = targets(options, configured)
    subject = options.subject or f"[TEST] restic-helper on {settings.hostname}: notification test"
    text = options.message or "A test of the notification plumbing (/bin/notify-test). No backup ran."
    extras = {"target_mode": mode, "dry_run": options.dry_run, "subject": subject, "message": text}
    extras.update({f"{target}_requested": target in chosen for target in configured})
    extras.update({f"{target}_configured": present for target, present in configured.items()})
    extras["webhook_url"] = (
        settings.masker.mask_url_path(settings.webhook_url) if settings.webhook_url else None
    )
    unset = [HOW_TO_CONFIGURE[target] for target in chosen if not configured[target]]
    if not chosen:
        return config_error(f"nothing to test: set {' or '.join(HOW_TO_CONFIGURE.values())}", extras)
    if unset:
        return config_error(f"not configured: set {' and '.join(unset)}", extras)
    # The webhook first, as the shell image did: it answers faster than a mail server.
    for target in sorted(chosen, key=["webhook", "mail"].index):
        extras[f"{target}_result"] = "dry-run" if options.dry_run else send(target, settings, subject, text)
    failed = [target for target in chosen if extras[f"{target}_result"].startswith("failed")]
    if failed:
        message = "; ".join(f"{target} {extras[f'{target}_result']}" for target in failed)
        return WorkerReport(Outcome(Status.FAILED, EXIT_FAILED, message), extras, message)
    return WorkerReport(outcome_for(Status.OK), extras)
