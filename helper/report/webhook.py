"""POST the run document (or a jinja2 body from TEMPLATES_DIR/webhook.json.j2) with requests."""

import json
import logging

from helper.clock import SYSTEM
from helper.logs import RunLog
from helper.report.render import render
from helper.result import RunResult
from helper.settings import Settings

logger = logging.getLogger(__name__)

RETRY_PAUSE_SECONDS = 1.0


def request_body(result: RunResult, settings: Settings) -> tuple[str, str]:
    custom = render("webhook.json.j2", settings.templates_dir, result)
    if custom is not None:
        return settings.masker.mask(custom), "application/json"
    return json.dumps(result.document(), ensure_ascii=False), "application/json"


def report(result: RunResult, settings: Settings, run_log: RunLog) -> None:
    if not settings.webhook_url or (settings.webhook_on_error and not result.failed):
        return
    import requests

    body, content_type = request_body(result, settings)
    headers = {
        "Content-Type": content_type,
        "User-Agent": f"restic-helper/{settings.restic_backup_helper_release}",
    }
    if settings.webhook_header_auth:
        headers["Authorization"] = settings.webhook_header_auth
    shown_url = settings.masker.mask_url_path(settings.webhook_url)
    problem = ""
    for attempt in range(settings.webhook_retries + 1):
        if attempt:
            SYSTEM.sleep(RETRY_PAUSE_SECONDS * attempt)
        try:
            response = requests.post(
                settings.webhook_url,
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
