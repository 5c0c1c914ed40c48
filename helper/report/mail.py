"""The run's mail: its subject and body (jinja2), sent by helper.delivery when MAILX_RCPT asks."""

from typing import TYPE_CHECKING

from helper import delivery
from helper.logs import RunLog
from helper.report.render import render, subject
from helper.result import RunResult
from helper.settings import Settings

if TYPE_CHECKING:  # email.message costs ~10 ms to import; only runs that mail need it
    from email.message import EmailMessage


def wanted(result: RunResult, settings: Settings) -> bool:
    # "On error" is the shell image's rule, a non-zero exit: a skipped run exits 0 and stays quiet.
    if not result.notify or not settings.mailx_rcpt:
        return False
    return not (settings.mailx_on_error and not result.failed)


def build_message(result: RunResult, settings: Settings) -> "EmailMessage":
    from email.message import EmailMessage

    message = EmailMessage()
    message["Subject"] = settings.masker.mask(subject(result))
    message["From"] = settings.smtp_from or f"restic-helper@{result.hostname}"
    message["To"] = settings.mailx_rcpt
    body = render("mail.txt.j2", settings.templates_dir, result) or ""
    message.set_content(settings.masker.mask(body))
    return message


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if wanted(result, settings):
        delivery.send_mail(build_message(result, settings), settings)
