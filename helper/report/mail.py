"""Mail through SMTP (smtplib), or through a sendmail-compatible program such as msmtp."""

import logging
import os
import subprocess
from typing import TYPE_CHECKING

from helper.logs import RunLog
from helper.outcome import EXIT_OK
from helper.report.render import render, subject
from helper.result import RunResult
from helper.settings import Settings

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # email.message costs ~10 ms to import; only runs that mail need it
    from email.message import EmailMessage


def wanted(result: RunResult, settings: Settings) -> bool:
    # "On error" is the shell image's rule, a non-zero exit: a skipped run exits 0 and stays quiet.
    return bool(settings.mailx_rcpt) and not (settings.mailx_on_error and not result.failed)


def build_message(result: RunResult, settings: Settings) -> "EmailMessage":
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = settings.masker.mask(subject(result))
    message["From"] = settings.smtp_from or f"restic-helper@{result.hostname}"
    message["To"] = settings.mailx_rcpt
    body = render("mail.txt.j2", settings.templates_dir, result) or ""
    message.set_content(settings.masker.mask(body))
    return message


def send_smtp(message: "EmailMessage", settings: Settings) -> None:
    import smtplib
    import ssl

    # smtplib's own default checks no certificate; this one checks it against the system's CAs
    # (or SSL_CERT_FILE) and the host name, so the login never goes to an impostor.
    context = ssl.create_default_context() if settings.smtp_tls != "off" else None
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    if settings.smtp_tls == "tls":
        client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client:
        if settings.smtp_tls == "starttls":
            client.starttls(context=context)
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password)
        client.send_message(message)


def send_sendmail(message: "EmailMessage", settings: Settings) -> None:
    completed = subprocess.run(
        [settings.sendmail_bin, "-t", "-i"],
        input=message.as_bytes(),
        capture_output=True,
        timeout=settings.smtp_timeout,
        check=False,
    )
    if completed.returncode != EXIT_OK:
        raise RuntimeError(
            f"{settings.sendmail_bin} exited {completed.returncode}: "
            f"{completed.stderr.decode(errors='replace').strip()[:200]}"
        )


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not wanted(result, settings):
        return
    message = build_message(result, settings)
    if settings.smtp_host:
        send_smtp(message, settings)
    elif os.access(settings.sendmail_bin, os.X_OK):
        send_sendmail(message, settings)
    else:
        raise RuntimeError(
            f"MAILX_RCPT is set but SMTP_HOST is empty and SENDMAIL_BIN "
            f"{settings.sendmail_bin} is not executable"
        )
    logger.info(f"📧 mail sent to {settings.mailx_rcpt}")
