"""A step's jobframe arguments, read by jobframe's own parser: what the process will be told.

``render`` and ``lint`` must agree with the process about ``--timeout``, the deadline margin, the
teardown budget and the rest — including defaults and ``--opt=value`` spellings — so they parse
the arguments with :func:`jobframe._cli.args.build_parser` itself rather than a copy of it.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from jobframe._cli.args import build_parser
from jobframe.deadline import Budget
from jobframe.shard import Shard

__all__ = ["Flags", "FlagsError", "parse_flags", "value_options"]


class FlagsError(ValueError):
    """The arguments are not a valid jobframe command line (the process would exit 2)."""


def _refuse(message: str) -> NoReturn:
    raise FlagsError(message)


def _exit(status: int = 0, message: str | None = None) -> NoReturn:
    raise FlagsError(message or f"--help/--version end the process ({status}) before any job runs")


def _parser() -> argparse.ArgumentParser:
    parser = build_parser()
    parser.error = _refuse  # type: ignore[method-assign]  # raised here, not printed with exit 2
    parser.exit = _exit  # type: ignore[method-assign]
    return parser


@dataclass(frozen=True)
class Flags:
    """What a jobframe command line asks for (defaults filled in as the process would)."""

    job_name: str | None
    params: tuple[str, ...]
    timeout: float | None
    budget: Budget
    exit_grace: float
    output: Path | None
    shard: Shard | None
    env: str
    secrets_dir: Path | None
    run_key: str | None = None
    fresh_run: bool = False
    resend_ambiguous: bool = False
    registered: bool = False
    """``--registered``: the run key must already be in the ledger (a register step recorded it)."""
    extra: tuple[str, ...] = field(default=())
    """Anything jobframe does not know (it would refuse it)."""


def parse_flags(args: Sequence[str]) -> Flags:
    """Parse ``args`` (the container's arguments after the entrypoint); :class:`FlagsError` if invalid."""
    # Argo substitutes {{retries}} per attempt (--retry-number); read the first attempt's
    namespace, extra = _parser().parse_known_args(["0" if a == "{{retries}}" else a for a in args])
    try:
        budget = Budget(
            deadline_margin=namespace.deadline_margin,
            shutdown_timeout=namespace.shutdown_timeout,
            cancel_grace=namespace.cancel_grace,
        )
    except ValueError as exc:
        raise FlagsError(str(exc)) from None
    return Flags(
        job_name=namespace.job_name,
        params=tuple(namespace.param),
        timeout=namespace.timeout,
        budget=budget,
        exit_grace=namespace.exit_grace,
        output=namespace.output,
        shard=namespace.shard,
        env=namespace.env or "local",  # JOBFRAME_ENV, when the step sets it, is read by the process
        secrets_dir=namespace.secrets_dir,
        run_key=namespace.run_key,
        fresh_run=namespace.fresh_run,
        resend_ambiguous=namespace.resend_ambiguous,
        registered=bool(namespace.registered),
        extra=tuple(extra),
    )


def value_options() -> frozenset[str]:
    """Options of jobframe's command line that take a value (``--timeout``, ``--param``, ...)."""
    return frozenset(
        option
        for action in _parser()._actions
        if action.nargs != 0 and action.option_strings
        for option in action.option_strings
    )
