"""The "did you mean" hint every refusal of a misspelt name carries (a job's parameter, a
provider a marker names, a Selector's choice): one wording, one cutoff."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["did_you_mean"]


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest of ``choices``, or ``""`` when none is close.

    Only called once something is wrong, so ``difflib`` stays off every run's path."""
    import difflib  # noqa: PLC0415

    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
