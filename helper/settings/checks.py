"""Checks of values that parse as text but can still be wrong, and of values that only make
sense together. Each problem completes the sentence "<VARIABLE>: ..." like a parser's."""

import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

# Directories the helper writes to or reads from: a file in their place is a mistake.
DIRECTORY_SETTINGS = ("LOG_DIR", "LOCK_DIR", "METRICS_DIR", "HOOKS_DIR", "TEMPLATES_DIR")
# One mailbox as mail programs take it: `ops@example.com`, `root`, or `Ops <ops@example.com>`.
MAILBOX = re.compile(r"[^\s<>@,]+(?:@[^\s<>@,]+)?")
NAMED_MAILBOX = re.compile(r"[^<>\r\n]*<(?P<address>[^<>]*)>")


def mailbox_problem(text: str) -> str | None:
    """Given one address, return why it is none, or None."""
    if any(character in text for character in "\r\n\0"):
        return "holds a line break, which would let it add mail headers"
    stripped = text.strip()
    named = NAMED_MAILBOX.fullmatch(stripped)
    address = named["address"].strip() if named else stripped
    if not MAILBOX.fullmatch(address):
        return f"{stripped!r} is not a mail address"
    return None


def mail_problems(values: Mapping[str, object]) -> list[str]:
    problems = []
    recipients = str(values["mailx_rcpt"])
    if recipients:
        for part in recipients.split(","):
            problem = "an empty address between commas" if not part.strip() else mailbox_problem(part)
            if problem:
                problems.append(f"MAILX_RCPT: {problem}")
                break
    sender = str(values["smtp_from"])
    if sender and (problem := mailbox_problem(sender)):
        problems.append(f"SMTP_FROM: {problem}")
    return problems


def webhook_problems(values: Mapping[str, object]) -> list[str]:
    problems = []
    if any(character in str(values["webhook_header_auth"]) for character in "\r\n\0"):
        problems.append("WEBHOOK_HEADER_AUTH: holds a line break, which would let it add HTTP headers")
    url_problem = http_url_problem("WEBHOOK_URL", str(values["webhook_url"]))
    return [*problems, url_problem] if url_problem else problems


def http_url_problem(name: str, url: str) -> str | None:
    """Why a URL the helper posts to is none, or None. The URL is a secret: never repeated."""
    if not url:
        return None
    if any(character.isspace() for character in url):
        return f"{name}: holds spaces or line breaks"
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number
        usable = False
    return None if usable else f"{name}: expected an http:// or https:// URL with a host name"


def ping_problems(values: Mapping[str, object]) -> list[str]:
    """HEALTHCHECK_URL and each job's HEALTHCHECK_URL_<JOB>."""
    names = sorted(key for key in values if key.startswith("healthcheck_url"))
    return [problem for key in names if (problem := http_url_problem(key.upper(), str(values[key])))]


def directory_problems(values: Mapping[str, object]) -> list[str]:
    problems = []
    for name in DIRECTORY_SETTINGS:
        path = str(values[name.lower()])
        if path and os.path.exists(path) and not os.path.isdir(path):
            problems.append(f"{name}: {path!r} exists but is not a directory")
    return problems


def nfs_problems(values: Mapping[str, object]) -> list[str]:
    """NFS_TARGET is what `mount -t nfs` takes: `host:/export`."""
    target = str(values["nfs_target"])
    host, separator, export = target.partition(":")
    if target and not (
        host and separator and export.startswith("/") and not any(c.isspace() for c in target)
    ):
        return [f"NFS_TARGET: expected host:/export, got {target!r}"]
    return []


def check(values: Mapping[str, object], environment: Mapping[str, str]) -> list[str]:
    """Return every problem of values that parsed but cannot work."""
    problems = []
    if not values["restic_repository"]:
        problems.append("RESTIC_REPOSITORY: is empty (set RESTIC_REPOSITORY or RESTIC_REPOSITORY_FILE)")
    if not values["restic_password"] and not environment.get("RESTIC_PASSWORD_COMMAND"):
        problems.append(
            "RESTIC_PASSWORD: not set (set RESTIC_PASSWORD, RESTIC_PASSWORD_FILE or RESTIC_PASSWORD_COMMAND)"
        )
    problems += directory_problems(values)
    problems += mail_problems(values)
    problems += webhook_problems(values)
    problems += nfs_problems(values)
    problems += ping_problems(values)
    return problems
