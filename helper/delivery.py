"""Delivery of a notification: mail through SMTP (smtplib) or a sendmail-compatible program
such as msmtp, and an HTTP POST to WEBHOOK_URL with retries. The report's mail and webhook and
/bin/notify-test send through these, so a test notification travels the real way."""

import logging
import os
import subprocess
from typing import TYPE_CHECKING

from helper.clock import SYSTEM
from helper.outcome import EXIT_OK
from helper.settings import Settings

logger = logging.getLogger(__name__)

if TYPE_CHECKING:  # email.message costs ~10 ms to import; only runs that mail need it
    from email.message import EmailMessage

RETRY_PAUSE_SECONDS = 1.0


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


def send_mail(message: "EmailMessage", settings: Settings) -> None:
    """Send through SMTP_HOST, else SENDMAIL_BIN; raise with the reason when it fails."""
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


def post_webhook(
    body: str, content_type: str, settings: Settings, url: str = "", method: str = "POST"
) -> None:
    """POST (or `method`) to `url`, by default WEBHOOK_URL, retrying connection errors and 5xx;
    raise with the reason (the URL masked: it is a secret) when it fails."""
    import requests

    headers = {
        "Content-Type": content_type,
        "User-Agent": f"restic-helper/{settings.restic_backup_helper_release}",
    }
    if settings.webhook_header_auth:
        headers["Authorization"] = settings.webhook_header_auth
    url = url or settings.webhook_url
    shown_url = settings.masker.mask_url_path(url)
    problem = ""
    for attempt in range(settings.webhook_retries + 1):
        if attempt:
            SYSTEM.sleep(RETRY_PAUSE_SECONDS * attempt)
        try:
            response = requests.request(
                method,
                url,
                data=body.encode(),
                headers=headers,
                timeout=settings.webhook_timeout,
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            problem = type(error).__name__
            continue
        if response.status_code < 500:
            break
        problem = f"HTTP {response.status_code}"
    else:
        raise RuntimeError(f"{shown_url}: {problem} after {settings.webhook_retries + 1} attempts")
    if response.status_code >= 300:
        raise RuntimeError(f"{shown_url} answered HTTP {response.status_code}")
    logger.info(f"🌐 webhook delivered to {shown_url}")


def ping(url: str, body: str, settings: Settings) -> str | None:
    """One monitoring ping (POST with the body when there is one, else GET), retried like the
    webhook and bounded by HEALTHCHECK_TIMEOUT per attempt. Return None when it arrived, else
    why not, with the URL masked: the caller only warns, a ping never changes a run."""
    import requests

    shown = settings.masker.mask_url_path(url)
    problem = ""
    for attempt in range(settings.healthcheck_retries + 1):
        if attempt:
            SYSTEM.sleep(RETRY_PAUSE_SECONDS * attempt)
        try:
            if body:
                response = requests.post(url, data=body.encode(), timeout=settings.healthcheck_timeout)
            else:
                response = requests.get(url, timeout=settings.healthcheck_timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            problem = type(error).__name__
            continue
        except requests.RequestException as error:  # a URL requests refuses: no retry helps
            return f"{shown}: {type(error).__name__}"
        if response.status_code < 500:
            return None if response.status_code < 300 else f"{shown} answered HTTP {response.status_code}"
        problem = f"HTTP {response.status_code}"
    return f"{shown}: {problem} after {settings.healthcheck_retries + 1} attempts"
