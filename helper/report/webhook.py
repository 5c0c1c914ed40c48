"""POST the run document (or a jinja2 body from TEMPLATES_DIR/webhook.json.j2) with requests."""

import json

from helper import delivery
from helper.logs import RunLog
from helper.report.render import render
from helper.result import RunResult
from helper.settings import Settings


def request_body(result: RunResult, settings: Settings) -> tuple[str, str]:
    custom = render("webhook.json.j2", settings.templates_dir, result)
    if custom is not None:
        return settings.masker.mask(custom), "application/json"
    return json.dumps(result.document(), ensure_ascii=False), "application/json"


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not result.notify or not settings.webhook_url or (settings.webhook_on_error and not result.failed):
        return
    body, content_type = request_body(result, settings)
    delivery.post_webhook(body, content_type, settings)
