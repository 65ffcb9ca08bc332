"""``python -m jobframe.argo`` / ``jobframe-argo``: render, lint and combine.

``render`` writes the app's manifests (Hera, the ``argo`` extra); ``lint`` checks manifests,
rendered or hand-written (jsonschema, the same extra); ``combine`` is the fan-out's last step and
runs inside the job image, so it needs neither. Exit codes: 0 ok, 1 findings / stale files /
incomplete shard results, 2 usage (bad options, unreadable files, an app that does not import).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jobframe import __version__
from jobframe.app.deployment import is_quantity
from jobframe.app.loading import DEFAULT_APP
from jobframe.errors import JobframeError, UsageError

__all__ = ["main"]

EXTRA = "pip install 'jobframe[argo]'"


def _ledger_volume(text: str) -> str | None:
    if text.strip().lower() == "none":
        return None
    if not is_quantity(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Kubernetes quantity (e.g. 1Gi) or 'none'")
    return text


def _app_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        default=os.environ.get("JOBFRAME_APP") or DEFAULT_APP,
        metavar="MODULE:ATTR",
        help=f"the app's main container (env JOBFRAME_APP, default {DEFAULT_APP})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jobframe-argo",
        description="Render Argo manifests from an app's jobs, lint manifests, combine shard results.",
    )
    parser.add_argument("--version", action="version", version=f"jobframe {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{render,lint,combine}")

    render = commands.add_parser("render", help="write the app's Argo manifests")
    _app_option(render)
    render.add_argument(
        "--job", action="append", default=[], metavar="NAME", help="only this job (repeatable)"
    )
    render.add_argument(
        "--image", default=f"jobframe:{__version__}", help="the job image (default %(default)s)"
    )
    render.add_argument(
        "--profile", default="production", help="settings profile passed as --env (%(default)s)"
    )
    render.add_argument(
        "--secret", default="jobframe", help="Kubernetes Secret with the secret settings (%(default)s)"
    )
    render.add_argument(
        "--secrets-as",
        choices=("env", "dir"),
        default="env",
        help="secret keys as environment variables, or the Secret mounted as --secrets-dir (%(default)s)",
    )
    render.add_argument("--namespace", help="metadata.namespace of every manifest")
    render.add_argument("--service-account", help="the workflows' serviceAccountName")
    render.add_argument("--prefix", default="", help="prepended to every manifest name")
    render.add_argument(
        "--ledger-volume",
        type=_ledger_volume,
        default="1Gi",
        metavar="SIZE|none",
        help="size of the workflow-scoped volume for resumable jobs' SQLite ledgers; 'none' when the "
        "profile keeps ledgers in PostgreSQL (%(default)s)",
    )
    render.add_argument("--ledger-storage-class", metavar="NAME", help="the ledger volume's storage class")
    render.add_argument("--out", type=Path, metavar="DIR", help="one file per job here (default: stdout)")
    render.add_argument("--check", action="store_true", help="with --out: exit 1 if DIR is not up to date")

    lint = commands.add_parser("lint", help="check manifests against the app's jobs")
    _app_option(lint)
    lint.add_argument("files", nargs="+", type=Path, metavar="FILE")
    lint.add_argument("--no-schema", action="store_true", help="skip Argo's JSON schema")

    combine = commands.add_parser("combine", help="merge the shards' results (the fan-out's last step)")
    combine.add_argument("--shards", type=int, required=True, metavar="N")
    combine.add_argument(
        "--results", required=True, metavar="JSON", help="Argo's array of the shards' results"
    )
    combine.add_argument("--output", type=Path, metavar="PATH", help="write the combined result here")
    return parser


def _render(args: argparse.Namespace) -> int:
    from jobframe.app.loading import load_app  # noqa: PLC0415 - keeps `combine` light

    try:
        from jobframe.argo.files import check_directory, render_app, write_directory  # noqa: PLC0415
    except ImportError as exc:
        raise UsageError(f"render needs Hera and jsonschema ({exc.name} is missing): {EXTRA}") from None
    from jobframe.argo.plan import RenderOptions  # noqa: PLC0415

    app = load_app(args.app)
    options = RenderOptions(
        app=args.app,
        image=args.image,
        profile=args.profile,
        secret=args.secret,
        secrets_as=args.secrets_as,
        namespace=args.namespace,
        service_account=args.service_account,
        prefix=args.prefix,
        ledger_volume=args.ledger_volume,
        ledger_storage_class=args.ledger_storage_class,
    )
    files = render_app(app, options, jobs=args.job or None)
    if args.out is None:
        if args.check:
            raise UsageError("--check compares with a directory: give --out DIR")
        sys.stdout.write("---\n".join(files.values()))
        return 0
    if args.check:
        stale = check_directory(args.out, files)
        for line in stale:
            print(f"{args.out}: {line}", file=sys.stderr)
        if stale:
            print(f"run: jobframe-argo render --app {args.app} --out {args.out}", file=sys.stderr)
        return 1 if stale else 0
    for path in write_directory(args.out, files):
        print(path)
    return 0


def _lint(args: argparse.Namespace) -> int:
    from jobframe.app.loading import load_app  # noqa: PLC0415
    from jobframe.argo.lint import lint_files  # noqa: PLC0415

    if not args.no_schema:
        try:
            import jsonschema  # noqa: F401, PLC0415
        except ImportError:
            raise UsageError(
                f"lint validates Argo's JSON schema with jsonschema: {EXTRA} (or --no-schema)"
            ) from None
    app = load_app(args.app)
    try:
        findings = lint_files(app, args.files, schema=not args.no_schema)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for finding in findings:
        print(finding)
    count = len(findings)
    print(
        f"{count} problem{'' if count == 1 else 's'} in {len(args.files)} file{'s' * (len(args.files) != 1)}"
    )
    return 1 if findings else 0


def _combine(args: argparse.Namespace) -> int:
    from jobframe.argo.combine import CombineError, merge, parse_results  # noqa: PLC0415
    from jobframe.files import write_json_atomic  # noqa: PLC0415

    if args.shards < 1:
        raise UsageError(f"--shards must be >= 1, got {args.shards}")
    try:
        results = parse_results(args.results, args.shards)
    except CombineError as exc:
        print(json.dumps({"event": "combine.failed", "shards": args.shards, "error": str(exc)}), flush=True)
        print(f"jobframe-argo: error: {exc}", file=sys.stderr)
        return 1
    combined = merge(results)
    if args.output is not None:
        write_json_atomic(args.output, combined)
    print(json.dumps({"event": "combine.finished", "shards": args.shards, "result": combined}), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = {"render": _render, "lint": _lint, "combine": _combine}[args.command]
    try:
        return handler(args)
    except JobframeError as exc:
        print(f"jobframe-argo: error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
