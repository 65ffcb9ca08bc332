"""``python -m jobframe`` / ``jobframe``: parse the command line, run one job, end the process.

Bad input (options, ``JOBFRAME_*`` variables, the app, the job name, params, ``--output``,
settings) is found before anything is built and reported as one ``jobframe: error:`` line with
exit 2 or 78. After a run the process ends through :class:`~jobframe._process.exit.ProcessExit`:
lingering threads and descendants are reported and given ``--exit-grace`` seconds, every
descendant is ended, ``process.exit`` is logged last and ``os._exit`` ends the process with the
job's exit code — so no library can keep a finished job alive.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from jobframe._app import App, load_app
from jobframe._app.check import NO_JOBS, check_container, check_job, wiring_error
from jobframe._app.params import split_pairs
from jobframe._cli.args import parse_args, path_from_env
from jobframe._cli.listing import render_jobs
from jobframe._cli.streams import repair_std_streams, write_stdout
from jobframe._process.collector import resume_collector
from jobframe._process.descendants import become_subreaper
from jobframe._process.exit import ProcessExit
from jobframe._process.startup import install_startup_handlers, process_started_at
from jobframe._run import RunOptions, run_job
from jobframe._run.outcome import exit_code
from jobframe._run.prepare import chosen
from jobframe.console import HumanConsole, use_colors
from jobframe.context import RunContext
from jobframe.deadline import parse_rfc3339
from jobframe.errors import ConfigurationError, JobframeError, UsageError
from jobframe.logs import LogFormat, Redact, configure_logging
from jobframe.observe.report import Reporting, report_run, start_reporting
from jobframe.settings import SettingsSources, load_settings
from jobframe.shard import Shard

__all__ = ["main"]


def _fail(error: BaseException) -> int:
    """One line on stderr, and the exit code ``error`` stands for (usage 2, configuration 78...)."""
    print(f"jobframe: error: {error}", file=sys.stderr)
    return int(exit_code(error))


def _sources(args: argparse.Namespace) -> SettingsSources:
    return SettingsSources(
        env=args.env,
        config_dir=args.config_dir,
        dotenv=args.env_file,
        secrets_dir=args.secrets_dir,
        dotenv_required="env_file" in args.explicit,
    )


def _check(app: App, args: argparse.Namespace) -> int:
    """``--check``: every job; with ``--job-name``, the one job a run would build, its params and shard."""
    if args.param and not args.job_name:
        raise UsageError("--check --param: parameters belong to one job: give --job-name NAME too")
    _argo_deadline()  # a run would refuse a malformed one (78): so does the check
    entry = None
    if args.job_name:  # refused first, as a run refuses them: a usage error (2) before the settings
        entry, _ = chosen(app, args.job_name, split_pairs(args.param), args.shard or Shard())
    settings = load_settings(app.settings_cls, _sources(args)) if app.settings_cls else None
    container = app.create()
    app.fill(container, settings, RunContext(job="--check", run_id="check"))
    if entry is not None:
        name = entry.spec.name
        found = check_job(app, container, name)
        if found:
            return _fail(wiring_error({name: found}))
        write_stdout(f"ok: settings valid ({args.env}), job {name} wired, its parameters valid\n")
        return 0
    problems = check_container(app, container)
    if problems:
        return _fail(wiring_error(problems))
    for names in app.case_clashes():
        print(
            f"jobframe: warning: jobs {' and '.join(names)} differ only in case: rename one "
            "(each runs by its exact --job-name only; Kubernetes names are lower-case, so "
            "jobframe-argo render may refuse them)",
            file=sys.stderr,
        )
    if not app.jobs:
        print(
            f"jobframe: warning: {app.container_cls.__qualname__} exposes no jobs: {NO_JOBS}",
            file=sys.stderr,
        )
        write_stdout(f"ok: settings valid ({args.env}), no jobs wired\n")
        return 0
    count = f"{len(app.jobs)} job{'' if len(app.jobs) == 1 else 's'}"
    write_stdout(f"ok: settings valid ({args.env}), {count} wired: {', '.join(sorted(app.jobs))}\n")
    return 0


def _argo_deadline() -> datetime | None:
    raw = os.environ.get("ARGO_DEADLINE", "").strip()
    if not raw:
        return None
    try:
        return parse_rfc3339(raw)
    except ValueError as exc:
        raise ConfigurationError(f"ARGO_DEADLINE: {exc}") from None


def _reporting(args: argparse.Namespace, redact: Redact) -> Reporting:
    try:
        return start_reporting(
            args.job_name,
            pushgateway=args.pushgateway,
            traceparent=args.traceparent,
            shard=None if args.shard is None or args.shard.is_whole else str(args.shard),
            redact=redact,
        )
    except ImportError as exc:
        raise UsageError(str(exc)) from None


def _refuse(app: App, job_name: str, reporting: Reporting, error: BaseException, process: ProcessExit) -> int:
    """A run refused before it started is a run too (a 78, a bad ``--param``): said first, then
    pushed — unless the job is not the app's, whose group would be one for a job that does not
    exist. As after a run: within the exit grace, and a signal meanwhile ends the process with the
    refusal's code."""
    code = _fail(error)
    if job_name in app.jobs:
        process.record_outcome(code)
        report_run(reporting, code, grace=process.exit_grace)
    return code


def _log_format(args: argparse.Namespace) -> LogFormat:
    if args.log_format is not None:
        return args.log_format  # type: ignore[no-any-return]
    return "console" if sys.stdout.isatty() else "json"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns for ``--list``/``--check``/errors, ends the process after a run."""
    install_startup_handlers()  # already done by ``python -m jobframe``; here for direct callers
    repair_std_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["new"]:
        from jobframe.scaffold import main as scaffold  # noqa: PLC0415 - only for `jobframe new`

        return scaffold(argv[1:])
    try:
        args = parse_args(argv)
    except UsageError as exc:
        return _fail(exc)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    fmt = _log_format(args)
    console = HumanConsole(colors=use_colors(sys.stdout)) if fmt == "console" else None
    redact = configure_logging(fmt, args.log_level, console=console)
    process = ProcessExit(exit_grace=args.exit_grace, scrub=redact.scrub)
    process.install()
    reporting: Reporting | None = None
    try:
        app = load_app(args.app)
        if args.list:
            if args.param:  # refused rather than ignored, as with --check
                raise UsageError("--list --param: parameters belong to one job's run: give --job-name NAME")
            write_stdout(render_jobs(app))
            return 0
        if args.check:
            return _check(app, args)
        if not args.job_name:
            raise UsageError("nothing to do: give --job-name NAME, --list or --check; see jobframe --help")
        reporting = _reporting(args, redact)  # from here on, a refusal of a job the app has is reported
        if (args.fresh_run or args.resend_ambiguous or args.new_run or args.registered) and not args.run_key:
            raise UsageError(
                "--fresh-run, --new-run, --resend-ambiguous and --registered act on a run ledger: "
                "give --run-key KEY"
            )
        params = split_pairs(args.param)
        if console is not None:
            console.counts = reporting.observer.counts
        process.before_exit = functools.partial(report_run, reporting)
        options = RunOptions(
            timeout=args.timeout,
            timeout_origin=datetime.fromtimestamp(process_started_at(), UTC),
            deadline=args.deadline,
            argo_deadline=_argo_deadline(),
            deadline_margin=args.deadline_margin,
            shutdown_timeout=args.shutdown_timeout,
            cancel_grace=args.cancel_grace,
            output=args.output,
            shard=args.shard,
            run_key=args.run_key,
            fresh_run=args.fresh_run,
            resend_ambiguous=args.resend_ambiguous,
            retry_number=args.retry_number,
            new_run=args.new_run,
            registered=args.registered,
            progress_file=path_from_env("ARGO_PROGRESS_FILE"),
            observer=reporting.observer,
            process=process,
        )
    except JobframeError as exc:
        if reporting is None:
            return _fail(exc)
        return _refuse(app, args.job_name, reporting, exc, process)
    resume_collector()  # modules loaded: the job's objects are collected as always
    become_subreaper()  # orphans of the job's children stay ours to find and end
    result = run_job(app, args.job_name, params, sources=_sources(args), options=options, redact=redact)
    if not result.started:
        assert result.error is not None
        return _refuse(app, args.job_name, reporting, result.error, process)
    process.finish(result.exit_code, result.finished_at)
