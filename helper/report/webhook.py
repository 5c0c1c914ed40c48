"""POST the run to WEBHOOK_URL: the run document (WEBHOOK_FORMAT=json), a chat or push
service's own message (slack, discord, teams, ntfy, gotify, matrix; jinja2 templates shipped in
helper/templates/webhook/), or TEMPLATES_DIR/webhook.json.j2, which wins over both."""

import json
import uuid
from urllib.parse import urlsplit, urlunsplit

from helper import delivery
from helper.logs import RunLog
from helper.report.render import render
from helper.result import RunResult
from helper.settings import Settings


def target(settings: Settings) -> tuple[str, str, dict]:
    """Where and how the format posts: (url, method, template context). ntfy's JSON publishing
    goes to the server's root with the topic in the body; Matrix sends an event with PUT and a
    transaction id of its own."""
    url, style = settings.webhook_url, settings.webhook_format
    if style == "ntfy":
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path="/")), "POST", {"topic": parts.path.strip("/").split("/")[-1]}
    if style == "matrix":
        parts = urlsplit(url)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + uuid.uuid4().hex)), "PUT", {}
    return url, "POST", {}


def request_body(result: RunResult, settings: Settings, context: dict) -> str:
    custom = render("webhook.json.j2", settings.templates_dir, result)
    if custom is None and settings.webhook_format != "json":
        custom = render(
            f"webhook/{settings.webhook_format}.json.j2", settings.templates_dir, result, **context
        )
    if custom is not None:
        return settings.masker.mask(custom)
    return json.dumps(result.document(), ensure_ascii=False)


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not result.notify or not settings.webhook_url or (settings.webhook_on_error and not result.failed):
        return
    url, method, context = target(settings)
    delivery.post_webhook(request_body(result, settings, context), "application/json", settings, url, method)
