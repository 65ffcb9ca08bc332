"""The command line and its environment: one parser, and every ``JOBFRAME_*`` default checked like a flag.

An option that has an environment variable gets its value from the flag, else from the variable,
else from the built-in default — and the variable's value goes through the same converter as the
flag, so ``JOBFRAME_LOG_LEVEL=bogus`` is the same one-line usage error as ``--log-level bogus``,
naming the variable. Argparse's own errors become :class:`~jobframe.errors.UsageError` too: one
``jobframe: error:`` line, never a usage block.
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from jobframe import __version__
from jobframe.app.loading import DEFAULT_APP
from jobframe.deadline import parse_rfc3339
from jobframe.errors import UsageError
from jobframe.shard import Shard

__all__ = ["ENVIRONMENT", "EnvOption", "Parser", "parse_args", "path_from_env"]


def seconds(text: str) -> float:
    """A finite, non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def instant(text: str) -> datetime:
    try:
        parsed = parse_rfc3339(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 timestamp: {exc}") from None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{text!r} is the zero time; omit --deadline instead")
    return parsed


def path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return Path(text)


def output_path(text: str) -> Path:
    """``--output`` names a file: a trailing ``/`` (a directory) is refused here, the rest before the run."""
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(
            f"{text!r} names a directory; give a file path, e.g. {text}result.json"
        )
    return path(text)


def shard(text: str) -> Shard:
    """``--shard INDEX/COUNT``: one part of a shardable job's input."""
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _one_of(*choices: str) -> Callable[[str], str]:
    def convert(text: str) -> str:
        value = text.strip().lower()
        if value not in choices:
            raise argparse.ArgumentTypeError(f"{text!r} is not one of {', '.join(choices)}")
        return value

    return convert


log_level = _one_of("debug", "info", "warning", "error")
log_format = _one_of("json", "console")


def name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name")
    return text.strip()


def retry_number(text: str) -> int:
    """A retry number: 0 for a first attempt, then 1, 2, ... (Argo's ``{{retries}}``)."""
    try:
        value = int(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a retry number is 0 or more, not {value}")
    return value


@dataclass(frozen=True)
class EnvOption:
    """An option whose default comes from an environment variable, then from ``default``."""

    flag: str
    variable: str
    convert: Callable[[str], Any]
    default: Any
    metavar: str
    help: str
    shown_default: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


ENVIRONMENT = (
    EnvOption("--app", "JOBFRAME_APP", name, DEFAULT_APP, "MODULE:ATTR", "the app's main container"),
    EnvOption("--env", "JOBFRAME_ENV", name, "local", "NAME", "settings profile: CONFIG_DIR/NAME.yaml"),
    EnvOption("--config-dir", "JOBFRAME_CONFIG_DIR", path, Path("config"), "DIR", "profiles directory"),
    EnvOption(
        "--env-file", "JOBFRAME_ENV_FILE", path, Path(".env"), "FILE", "dotenv file, read if it exists"
    ),
    EnvOption(
        "--secrets-dir",
        "JOBFRAME_SECRETS_DIR",
        path,
        None,
        "DIR",
        "one file per secret setting, e.g. braze__api_key",
    ),
    EnvOption(
        "--log-format",
        "JOBFRAME_LOG_FORMAT",
        log_format,
        None,
        "{json,console}",
        "log lines",
        "json, or console on a terminal",
    ),
    EnvOption(
        "--log-level", "JOBFRAME_LOG_LEVEL", log_level, "info", "{debug,info,warning,error}", "least level"
    ),
    EnvOption(
        "--run-key",
        "JOBFRAME_RUN_KEY",
        name,
        None,
        "KEY",
        "record bulk calls in the run ledger under KEY: a retry with the same key resumes (docs/resume.md)",
    ),
    EnvOption(
        "--retry-number",
        "JOBFRAME_RETRY_NUMBER",
        retry_number,
        0,
        "N",
        "this attempt's retry number (Argo's {{retries}}; 0 on the first): a retry that finds no "
        "record of its --run-key refuses (78) instead of starting over",
    ),
)

SECONDS = (
    ("--deadline-margin", 10.0, "cancel this long before the deadline, leaving time for teardown"),
    ("--shutdown-timeout", 5.0, "bound on closing resources after the job"),
    ("--cancel-grace", 2.0, "a cancelled job that has not stopped after this long is abandoned"),
    ("--exit-grace", 2.0, "wait at most this long for lingering threads and children"),
)
"""Bounds in seconds that have a built-in default and no environment variable."""

EPILOG = """\
parameters:
  --param KEY=VALUE is checked against the job's parameter model before anything is built;
  jobframe --list shows each job's parameters with type, default and whether it is required.
  Repeating a key makes a list (--param users=a --param users=b), and so does a single value
  for a list parameter. A value starting with [ or { is JSON (users='["a","b"]') unless the
  parameter is a string; invalid JSON there is a usage error.

environment:
  JOBFRAME_APP, JOBFRAME_ENV, JOBFRAME_CONFIG_DIR, JOBFRAME_ENV_FILE, JOBFRAME_SECRETS_DIR,
  JOBFRAME_LOG_FORMAT, JOBFRAME_LOG_LEVEL, JOBFRAME_RUN_KEY,
  JOBFRAME_RETRY_NUMBER
                      defaults for the options above; the option wins, an empty value is unset
  ARGO_DEADLINE       RFC 3339 deadline set by Argo; the earliest of it, --deadline and
                      --timeout wins (malformed: exit 78)
  ARGO_PROGRESS_FILE  the job's progress (N/M) is written there for Argo
  SECTION__KEY        settings, e.g. BRAZE__API_KEY (see the README, "Settings")

exit codes:
  0 succeeded, 1 failed, 2 usage error, 75 retryable, 78 configuration error,
  124 deadline reached, 130 SIGINT, 143 SIGTERM

new app:
  jobframe new NAME   writes a working app: package, container, a job, profiles, a test, a
                      Dockerfile (jobframe new --help)"""


class Parser(argparse.ArgumentParser):
    """Argparse errors as one-line usage errors, not a usage block and ``sys.exit``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see {self.prog} --help")


def _env_help(option: EnvOption) -> str:
    default = option.shown_default or (str(option.default) if option.default is not None else "none")
    return f"{option.help} (env {option.variable}; default {default})"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jobframe",
        description="Run one batch job by name, with its dependencies built, configured and closed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--job-name", metavar="NAME", type=name, help="the job to run (exact name; see --list)")
    what.add_argument(
        "--list", action="store_true", help="print every job with its description and parameters"
    )
    what.add_argument(
        "--check", action="store_true", help="validate settings and every job's wiring, run nothing"
    )
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a job parameter; repeatable (see 'parameters' below)",
    )
    add = parser.add_argument
    for option in ENVIRONMENT:
        add(option.flag, metavar=option.metavar, type=option.convert, help=_env_help(option))
    add(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="deadline of this attempt, from the process's start (pass activeDeadlineSeconds)",
    )
    add("--deadline", type=instant, metavar="RFC3339", help="an absolute deadline")
    for flag, default, text in SECONDS:
        add(flag, type=seconds, default=default, metavar="SECONDS", help=f"{text} (default {default:g})")
    add(
        "--output",
        type=output_path,
        metavar="FILE",
        help="write the job's result as JSON here on success (checked before the job runs)",
    )
    add(
        "--fresh-run",
        action="store_true",
        help="forget what the ledger recorded under --run-key and start over",
    )
    add(
        "--new-run",
        action="store_true",
        help="start --run-key even though an unfinished earlier run key sent the same job, parameters "
        "and input (everyone it reached gets the messages again)",
    )
    add(
        "--resend-ambiguous",
        action="store_true",
        help="on a resume, repeat batches that may have been delivered, sends included (duplicates possible)",
    )
    add(
        "--shard",
        type=shard,
        metavar="INDEX/COUNT",
        help="process only this part of the input, e.g. 0/4 (shardable jobs; RunContext.shard)",
    )
    add("--version", action="version", version=f"jobframe {__version__}")
    return parser


def _from_environment(args: argparse.Namespace) -> None:
    """Fill every option not given on the command line from its variable, checked like the flag."""
    for option in ENVIRONMENT:
        if getattr(args, option.dest) is not None:
            continue
        raw = os.environ.get(option.variable, "")
        if not raw:
            setattr(args, option.dest, option.default)
            continue
        try:
            setattr(args, option.dest, option.convert(raw))
        except (argparse.ArgumentTypeError, ValueError) as exc:
            raise UsageError(f"environment variable {option.variable}: {exc}") from None


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; bad input raises :class:`UsageError`, ``--help``/``--version`` ``SystemExit(0)``."""
    args = build_parser().parse_args(argv)
    _from_environment(args)
    return args


def path_from_env(variable: str) -> Path | None:
    """A path-valued variable that has no option (``ARGO_PROGRESS_FILE``); empty means unset."""
    value = os.environ.get(variable, "")
    return Path(value) if value.strip() else None
