"""The one place that hides secrets. Every sink (log line, JSON, metrics, mail, webhook)
passes its text through a Masker built once from the settings.

Masked text is also made printable: a Linux path or variable may hold bytes that are no
UTF-8 (Python keeps them as surrogate escapes); sinks show them as `\\xff`."""

import re
from dataclasses import dataclass

MASK = "***"
# Shorter values would blank out ordinary words and digits all over the logs.
SHORTEST_MASKED_SECRET = 4
# Userinfo runs to the LAST "@" before the path, so a password holding "@" or ":" is covered.
URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s\"'<>]*)@")
SECRET_QUERY = re.compile(
    r"(?P<key>[?&;][^=&\s\"'<>]*(?:pass|secret|token|key|sig|auth|credential)[^=&\s\"'<>]*=)"
    r"(?P<value>[^&\s\"'<>#]+)",
    re.IGNORECASE,
)
# rclone's connection strings carry a backend's parameters: `:webdav,url=...,pass=XXX:path`,
# `remote,password='x y':path` (a value quoted when it holds "," or ":").
SECRET_PARAMETER = re.compile(
    r"(?P<key>,[^=,:\s\"'<>]*(?:pass|secret|token|key|sig|auth|credential)[^=,:\s\"'<>]*=)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|[^,:\s\"'<>]+)",
    re.IGNORECASE,
)


def printable(text: str) -> str:
    """Return `text` with surrogate escapes of undecodable bytes spelled as `\\xNN`."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _mask_userinfo(match: re.Match[str]) -> str:
    user, separator, _password = match["userinfo"].partition(":")
    if not separator:
        return match[0]
    return f"{match['scheme']}{user}:{MASK}@"


@dataclass(frozen=True)
class Masker:
    """Hides known secret values and credentials embedded in URLs."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_secrets(cls, values: tuple[str, ...] | list[str]) -> "Masker":
        kept = {value for value in values if len(value) >= SHORTEST_MASKED_SECRET}
        # Longest first, so a secret that contains another is hidden whole.
        return cls(tuple(sorted(kept, key=len, reverse=True)))

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = URL_USERINFO.sub(_mask_userinfo, text)
        text = SECRET_PARAMETER.sub(lambda match: match["key"] + MASK, text)
        return printable(SECRET_QUERY.sub(lambda match: match["key"] + MASK, text))

    def mask_url_path(self, url: str) -> str:
        """Return only a URL's scheme and host: webhook paths often are the secret (Slack)."""
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(url)
            scheme, host = parts.scheme, parts.hostname
        except ValueError:  # an unparsable URL may be a secret as a whole
            return MASK
        return self.mask(f"{scheme}://{host}/...") if scheme and host else MASK

    def mask_data(self, value: object) -> object:
        """Return a copy of a JSON-like value with every string masked."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {key: self.mask_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_data(item) for item in value]
        return value
