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
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from jobframe import __version__
from jobframe._app.loading import DEFAULT_APP
from jobframe.deadline import parse_rfc3339
from jobframe.errors import UsageError
from jobframe.shard import Shard

__all__ = ["ENVIRONMENT", "EnvOption", "Parser", "parse_args", "path_from_env"]


MAX_SECONDS = 10 * 365 * 24 * 3600
"""Ten years: more than any batch job's budget, and far inside what a clock (``datetime``), a
``select`` timeout or ``threading.TIMEOUT_MAX`` can hold, so no value that passes overflows later."""


def seconds(text: str) -> float:
    """A finite, non-negative number of seconds, at most :data:`MAX_SECONDS`."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number of seconds")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} must be at most {MAX_SECONDS} (ten years)")
    return value


def positive_seconds(text: str) -> float:
    """A finite number of seconds > 0: a timeout of 0 could only ever be refused."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0 (leave the option out for no timeout)")
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


def gateway_url(text: str) -> str:
    """``--pushgateway``: an ``http(s)://[user:password@]host[:port][/path]`` URL (a path prefix is kept).

    An error shows the URL with its password masked: the value may come from a secret.
    """
    from jobframe.observe.report import public_url  # noqa: PLC0415 - only when the option is given

    shown = repr(public_url(text.strip()))
    try:
        parsed = urlsplit(text.strip())
        parsed.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown} is not a valid URL (host or port)") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise argparse.ArgumentTypeError(f"{shown} is not an http(s)://HOST[:PORT] URL")
    if parsed.query or parsed.fragment or text.strip().endswith(("?", "#")):
        raise argparse.ArgumentTypeError(f"{shown}: a Pushgateway URL has no query or fragment")
    path = parsed.path.rstrip("/")
    if path.endswith("/metrics") or "/metrics/job/" in f"{path}/":
        raise argparse.ArgumentTypeError(
            f"{shown}: give the gateway's base URL, without /metrics (e.g. http://pushgateway:9091): "
            "jobframe adds /metrics/job/<job name>"
        )
    return text.strip().rstrip("/")


def traceparent(text: str) -> str:
    """``--traceparent``: a W3C trace context ``traceparent`` to continue.

    Not judged here: one W3C does not accept is ignored by the tracing (a new trace begins), and
    a run that is not traced never looks at it (:func:`jobframe.observe.tracing.start_tracing`).
    """
    return text.strip()


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


_YES = frozenset({"1", "true", "yes", "on"})
_NO = frozenset({"0", "false", "no", "off"})


def yes_no(text: str) -> bool:
    """A switch's variable: ``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``."""
    value = text.strip().lower()
    if value in _YES or value in _NO:
        return value in _YES
    raise argparse.ArgumentTypeError(f"{text!r} is not a yes/no value (1, true, yes, on; 0, false, no, off)")


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
    switch: bool = False
    """A flag that takes no value (``--registered``); its variable is read by ``convert``."""

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


ENVIRONMENT = (
    EnvOption("--app", "JOBFRAME_APP", name, DEFAULT_APP, "MODULE:ATTR", "the app's main container"),
    EnvOption("--env", "JOBFRAME_ENV", name, "local", "NAME", "settings profile: CONFIG_DIR/NAME.yaml"),
    EnvOption("--config-dir", "JOBFRAME_CONFIG_DIR", path, Path("config"), "DIR", "profiles directory"),
    EnvOption(
        "--env-file",
        "JOBFRAME_ENV_FILE",
        path,
        Path(".env"),
        "FILE",
        "dotenv file; one given must exist, the default is read only if it does",
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
    EnvOption(
        "--registered",
        "JOBFRAME_REGISTERED",
        yes_no,
        False,
        "",
        "the workflow registered --run-key before any attempt of this step ran (the renderer's "
        "register-ledger step): an attempt that finds no record of it refuses (78), whatever its "
        "retry number, instead of starting over",
        "no",
        switch=True,
    ),
    EnvOption(
        "--pushgateway",
        "JOBFRAME_PUSHGATEWAY",
        gateway_url,
        None,
        "URL",
        "push the run's metrics to this Prometheus Pushgateway at its end (docs/observability.md)",
    ),
    EnvOption(
        "--traceparent",
        "TRACEPARENT",
        traceparent,
        None,
        "TRACEPARENT",
        "continue this W3C trace (with OTEL_* tracing on; docs/observability.md)",
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
  JOBFRAME_LOG_FORMAT, JOBFRAME_LOG_LEVEL, JOBFRAME_RUN_KEY, JOBFRAME_RETRY_NUMBER,
  JOBFRAME_REGISTERED, JOBFRAME_PUSHGATEWAY, TRACEPARENT
                      defaults for the options above; the option wins, an empty value is unset
  ARGO_DEADLINE       RFC 3339 deadline set by Argo; the earliest of it, --deadline and
                      --timeout wins (malformed: exit 78)
  ARGO_PROGRESS_FILE  the job's progress (N/M) is written there for Argo
  OTEL_*              OpenTelemetry: an exporter named there traces the run (jobframe[otel])
  NO_COLOR            console logs without colour
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
        raise UsageError(f"{message}{_positional_hint(message)}; see {self.prog} --help")


def _positional_hint(message: str) -> str:
    """``jobframe SomeJob``: the job is named with ``--job-name``; ``--registered=yes``: a switch."""
    if "ignored explicit argument" in message:
        return " (the option is a switch and takes no value)"
    prefix = "unrecognized arguments: "
    if not message.startswith(prefix):
        return ""
    first = message.removeprefix(prefix).split(" ", 1)[0]
    if not first or first.startswith("-") or "=" in first:
        return ""
    return f" (to run a job: --job-name {first})"


class _OneJob(argparse.Action):
    """``--job-name A --job-name B`` names two jobs: refused, rather than running the last one. The
    same name again is a no-op (a rendered step's empty optional parameter repeats it)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        before = getattr(namespace, self.dest, None)
        if before is not None and before != values:
            parser.error(f"argument --job-name: given twice, {before!r} and {values!r}: name one job")
        setattr(namespace, self.dest, values)


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
    what.add_argument(
        "--job-name",
        metavar="NAME",
        type=name,
        action=_OneJob,
        help="the job to run (exact name; see --list)",
    )
    what.add_argument(
        "--list", action="store_true", help="print every job with its description and parameters"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="validate settings and every job's wiring, run nothing; with --job-name: that job's "
        "wiring, --param and --shard",
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
        if option.switch:
            add(option.flag, action="store_const", const=True, help=_env_help(option))
        else:
            add(option.flag, metavar=option.metavar, type=option.convert, help=_env_help(option))
    add(
        "--timeout",
        type=positive_seconds,
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


_ARGO_ARG_FILE = re.compile(r"@(/[^\n]*/argo_arg_[0-9]+\.txt)")


def argo_arg_files(argv: Sequence[str]) -> list[str]:
    """``argv`` with Argo's offloaded arguments read back: the emissary passes an argument over
    128 KiB as ``@/tmp/argo_arg_N.txt``, the file holding the argument's text as it was
    (``cmd/argoexec/commands/emissary.go``). Only that form (an absolute path to
    ``argo_arg_N.txt``) is read, never another ``@`` value."""
    out = []
    for arg in argv:
        match = _ARGO_ARG_FILE.fullmatch(arg)
        if match is None:
            out.append(arg)
            continue
        try:
            out.append(Path(match.group(1)).read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"argument {arg}: cannot read Argo's file of a long argument: {exc}") from None
    return out


def _take_params(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``--param KEY=VALUE`` pairs taken out of ``argv`` before argparse sees them.

    argparse looks for the next option by scanning every option's position, which is quadratic:
    10,000 ``--param`` took 14 s. Taking them out first is linear; anything unusual (a missing
    value, an abbreviation, what follows ``--``) is left to argparse and its errors.
    """
    rest: list[str] = []
    params: list[str] = []
    tokens = list(argv)
    i = 0
    while i < len(tokens):
        word = tokens[i]
        if word == "--":
            rest += tokens[i:]
            break
        if word == "--param" and i + 1 < len(tokens) and not tokens[i + 1].startswith("--"):
            params.append(tokens[i + 1])
            i += 2
            continue
        if word.startswith("--param="):
            params.append(word.removeprefix("--param="))
        else:
            rest.append(word)
        i += 1
    return rest, params


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv``; bad input raises :class:`UsageError`, ``--help``/``--version`` ``SystemExit(0)``."""
    rest, params = _take_params(argo_arg_files(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(rest)
    if args.check and args.list:
        parser.error("argument --list: not allowed with argument --check")
    args.param = params + args.param
    # Options given by flag or variable, not defaulted: an explicit --env-file must exist.
    args.explicit = {
        o.dest for o in ENVIRONMENT if getattr(args, o.dest) is not None or os.environ.get(o.variable)
    }
    _from_environment(args)
    return args


def path_from_env(variable: str) -> Path | None:
    """A path-valued variable that has no option (``ARGO_PROGRESS_FILE``); empty means unset."""
    value = os.environ.get(variable, "")
    return Path(value) if value.strip() else None
