"""The one place that hides secrets. Every sink (log line, JSON, metrics, mail, webhook)
passes its text through a Masker built once from the settings."""

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
        return SECRET_QUERY.sub(lambda match: match["key"] + MASK, text)

    def mask_data(self, value: object) -> object:
        """Return a copy of a JSON-like value with every string masked."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {key: self.mask_data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_data(item) for item in value]
        return value
