"""``python -m jobframe`` / ``jobframe``: parse the command line, run one job, end the process.

After a run the process ends through :class:`~jobframe.process.exit.ProcessExit`: lingering
threads and descendants are reported and given ``--exit-grace`` seconds, every descendant is
ended, ``process.exit`` is logged last and ``os._exit`` ends the process with the job's exit code —
so no library can keep a finished job alive.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from jobframe import __version__
from jobframe.app import DEFAULT_APP, App, load_app
from jobframe.app.check import check_container
from jobframe.app.params import split_pairs
from jobframe.context import RunContext
from jobframe.deadline import parse_rfc3339
from jobframe.errors import ConfigurationError, JobframeError, UsageError
from jobframe.exit_codes import ExitCode
from jobframe.logs import LogFormat, configure_logging
from jobframe.process.descendants import become_subreaper
from jobframe.process.exit import ProcessExit
from jobframe.process.startup import install_startup_handlers, process_started_at
from jobframe.run import RunOptions, run_job
from jobframe.settings import SettingsSources, load_settings

__all__ = ["main"]


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 0")
    return value


def _instant(text: str) -> datetime:
    try:
        parsed = parse_rfc3339(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 timestamp: {exc}") from None
    if parsed is None:
        raise argparse.ArgumentTypeError(f"{text!r} is the zero time; omit --deadline instead")
    return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobframe",
        description="Run one batch job by name, with its dependencies built, configured and closed.",
        epilog="Exit codes: 0 ok, 1 failed, 2 usage, 75 retryable, 78 config, 124 deadline, "
        "130 SIGINT, 143 SIGTERM.",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--job-name", metavar="NAME", help="the job to run (see --list)")
    what.add_argument("--list", action="store_true", help="print every job with its description")
    what.add_argument(
        "--check", action="store_true", help="validate settings and every job's wiring, run nothing"
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="a job parameter; repeatable"
    )
    parser.add_argument(
        "--app",
        default=_env("JOBFRAME_APP", DEFAULT_APP),
        metavar="MODULE:ATTR",
        help=f"the app's main container (env JOBFRAME_APP, default {DEFAULT_APP})",
    )
    parser.add_argument(
        "--env",
        default=_env("JOBFRAME_ENV", "local"),
        metavar="NAME",
        help="settings profile: config/NAME.yaml (env JOBFRAME_ENV, default local)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        default=Path(_env("JOBFRAME_CONFIG_DIR", "config") or "config"),
        metavar="DIR",
        help="profiles directory (env JOBFRAME_CONFIG_DIR, default config)",
    )
    parser.add_argument(
        "--secrets-dir",
        type=Path,
        default=_path_env("JOBFRAME_SECRETS_DIR"),
        metavar="DIR",
        help="one file per secret key, e.g. braze__api_key (env JOBFRAME_SECRETS_DIR)",
    )
    parser.add_argument(
        "--env-file",
        type=Path,
        default=Path(_env("JOBFRAME_ENV_FILE", ".env") or ".env"),
        metavar="FILE",
        help="dotenv file, used if it exists (env JOBFRAME_ENV_FILE, default .env)",
    )
    parser.add_argument(
        "--log-format",
        choices=("json", "console"),
        default=_env("JOBFRAME_LOG_FORMAT"),
        help="default: json, or console when stdout is a terminal",
    )
    parser.add_argument(
        "--log-level",
        default=_env("JOBFRAME_LOG_LEVEL", "INFO"),
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        metavar="SECONDS",
        help="deadline of this attempt, from start (pass the template's activeDeadlineSeconds)",
    )
    parser.add_argument("--deadline", type=_instant, metavar="RFC3339", help="an absolute deadline")
    parser.add_argument(
        "--deadline-margin",
        type=_positive,
        default=10.0,
        metavar="SECONDS",
        help="cancel this long before the deadline, leaving time for teardown (default 10)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=_positive,
        default=5.0,
        metavar="SECONDS",
        help="bound on closing resources after the job (default 5)",
    )
    parser.add_argument(
        "--cancel-grace",
        type=_positive,
        default=2.0,
        metavar="SECONDS",
        help="a cancelled job that has not stopped after this long is abandoned (default 2)",
    )
    parser.add_argument(
        "--exit-grace",
        type=_positive,
        default=2.0,
        metavar="SECONDS",
        help="wait at most this long for lingering threads and children (default 2)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        metavar="PATH",
        help="write the job's result as JSON here on success (for Argo output parameters)",
    )
    parser.add_argument("--version", action="version", version=f"jobframe {__version__}")
    return parser


def _path_env(name: str) -> Path | None:
    value = _env(name)
    return Path(value) if value else None


def _fail(error: BaseException, code: int) -> int:
    print(f"jobframe: error: {error}", file=sys.stderr)
    return code


def _sources(args: argparse.Namespace) -> SettingsSources:
    return SettingsSources(
        env=args.env, config_dir=args.config_dir, dotenv=args.env_file, secrets_dir=args.secrets_dir
    )


def _list(app: App) -> int:
    width = max((len(n) for n in app.jobs), default=0)
    for name, entry in sorted(app.jobs.items()):
        params = f"  [params: {', '.join(entry.spec.params_fields)}]" if entry.spec.params_fields else ""
        print(f"{name:<{width}}  {entry.spec.description}{params}")
    return 0


def _check(app: App, args: argparse.Namespace) -> int:
    _argo_deadline()  # a run would refuse a malformed one (78): so does the check
    settings = load_settings(app.settings_cls, _sources(args)) if app.settings_cls else None
    container = app.container_cls()
    app.fill(container, settings, RunContext(job="--check", run_id="check"))
    problems = check_container(app, container)
    if problems:
        lines = [f"{job}: {p}" for job, found in problems.items() for p in found]
        return _fail(UsageError("wiring check failed:\n  " + "\n  ".join(lines)), ExitCode.CONFIG)
    count = f"{len(app.jobs)} job{'' if len(app.jobs) == 1 else 's'}"
    print(f"ok: settings valid ({args.env}), {count} wired: {', '.join(sorted(app.jobs))}")
    return 0


def _argo_deadline() -> datetime | None:
    raw = os.environ.get("ARGO_DEADLINE", "").strip()
    if not raw:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise ConfigurationError(f"ARGO_DEADLINE: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns for ``--list``/``--check``/errors, ends the process after a run."""
    install_startup_handlers()  # already done by ``python -m jobframe``; here for direct callers
    args = build_parser().parse_args(argv)
    fmt: LogFormat = args.log_format or ("console" if sys.stdout.isatty() else "json")
    redact = configure_logging(fmt, args.log_level)
    process = ProcessExit(exit_grace=args.exit_grace)
    process.install()
    try:
        app = load_app(args.app)
        if args.list:
            return _list(app)
        if args.check:
            return _check(app, args)
        if not args.job_name:
            raise UsageError("nothing to do: give --job-name NAME, --list or --check")
        params = split_pairs(args.param)
        options = RunOptions(
            timeout=args.timeout,
            timeout_origin=datetime.fromtimestamp(process_started_at(), UTC),
            deadline=args.deadline,
            argo_deadline=_argo_deadline(),
            deadline_margin=args.deadline_margin,
            shutdown_timeout=args.shutdown_timeout,
            cancel_grace=args.cancel_grace,
            output=args.output,
            progress_file=_path_env("ARGO_PROGRESS_FILE"),
            process=process,
        )
    except JobframeError as exc:
        return _fail(exc, exc.exit_code)
    become_subreaper()  # orphans of the job's children stay ours to find and end
    result = run_job(app, args.job_name, params, sources=_sources(args), options=options, redact=redact)
    if not result.started:
        assert result.error is not None
        return _fail(result.error, result.exit_code)
    process.finish(result.exit_code, result.finished_at)
