"""Render pydantic validation errors as short lines that never echo the offending value."""

from __future__ import annotations

from pydantic import ValidationError

__all__ = ["format_errors"]


def format_errors(exc: ValidationError, prefix: str = "") -> str:
    """One line per invalid field, ``field.path: reason``; the input is left out because it may be secret."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(part) for part in err["loc"]) or "(root)"
        lines.append(f"  {prefix}{loc}: {err['msg']}")
    return "\n".join(lines)
