"""Keep the API key out of logs and exceptions.

The key only ever lives in the ``httpx`` client's default headers. Everything that is logged or
stored in an exception passes through :class:`Redactor` first, including Braze's own error
messages (an echoing proxy could otherwise put the key into a log line).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["MASK", "Redactor"]

MASK = "***"
_SENSITIVE = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


class Redactor:
    """Masks one secret wherever it appears in text, JSON values and headers."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret or None

    def __repr__(self) -> str:
        return "Redactor(***)"

    def text(self, value: str) -> str:
        """``value`` with the secret replaced by ``***``."""
        return value.replace(self._secret, MASK) if self._secret else value

    def json(self, value: Any) -> Any:
        """A JSON value with the secret masked in every string inside it."""
        if not self._secret:
            return value
        dumped = json.dumps(value)
        return json.loads(dumped.replace(self._secret, MASK)) if self._secret in dumped else value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """Headers for a log line: credentials masked (the scheme, e.g. ``Bearer``, is kept)."""
        out: dict[str, str] = {}
        for name, value in headers.items():
            if name.lower() in _SENSITIVE:
                scheme, _, rest = value.partition(" ")
                out[name] = f"{scheme} {MASK}" if rest else MASK
            else:
                out[name] = self.text(value)
        return out
