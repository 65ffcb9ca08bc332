"""Render pydantic validation errors as short lines that never echo the offending value."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

__all__ = ["describe_errors", "format_errors"]


def format_errors(
    exc: ValidationError, prefix: str = "", hint: Callable[[ErrorDetails], str] | None = None
) -> str:
    """One line per invalid field, ``field.path: reason``; the input is left out because it may be secret.

    ``hint`` may add to a line what to do about it (where the value came from, where to set it).
    """
    lines = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        loc = ".".join(str(part) for part in err["loc"]) or "(root)"
        extra = hint(err) if hint is not None else ""
        lines.append(f"  {prefix}{loc}: {err['msg']}{extra}")
    return "\n".join(lines)


def describe_errors(
    header: str, exc: ValidationError, hint: Callable[[ErrorDetails], str] | None = None
) -> str:
    """``header: field: reason`` on one line for one error; the header and one line per field for more."""
    lines = format_errors(exc, hint=hint)
    if exc.error_count() == 1:
        return f"{header}: {lines.strip()}"
    return f"{header}:\n{lines}"
