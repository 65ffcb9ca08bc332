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
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from jobframe import __version__
from jobframe._app.deployment import is_quantity
from jobframe._app.loading import DEFAULT_APP
from jobframe.errors import JobframeError, UsageError

__all__ = ["main"]

EXTRA = "pip install 'jobframe[argo]'"


def _ledger_volume(text: str) -> str | None:
    if text.strip().lower() == "none":
        return None
    if not is_quantity(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Kubernetes quantity (e.g. 1Gi) or 'none'")
    return text


_IMAGE = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?"  # registry[:port]/
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"  # path
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?"  # :tag, @digest
)
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


def _image(text: str) -> str:
    """An image reference the kubelet can pull (``registry.example/acme-jobs:1.4``)."""
    if not _IMAGE.fullmatch(text) or len(text) > 4096:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an image reference (e.g. registry.example/acme-jobs:1.4)"
        )
    return text


def _k8s_name(text: str) -> str:
    if not _NAME.fullmatch(text) or len(text) > 253:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Kubernetes name (lower case letters, digits, '-', '.')"
        )
    return text


def _prefix(text: str) -> str:
    if text and not re.fullmatch(r"[a-z0-9][-a-z0-9]*", text):
        raise argparse.ArgumentTypeError(f"{text!r}: a name prefix is lower case letters, digits and '-'")
    return text


def _app_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        default=os.environ.get("JOBFRAME_APP") or DEFAULT_APP,
        metavar="MODULE:ATTR",
        help=f"the app's main container (env JOBFRAME_APP, default {DEFAULT_APP})",
    )


class _Parser(argparse.ArgumentParser):
    """Bad options are one line (the usage is a ``--help`` away), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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
        "--image", type=_image, default=f"jobframe:{__version__}", help="the job image (default %(default)s)"
    )
    render.add_argument(
        "--profile", default="production", help="settings profile passed as --env (%(default)s)"
    )
    render.add_argument(
        "--config-dir",
        type=Path,
        metavar="DIR",
        help="the app's profiles, as the image has them: --profile must be one (default: config, "
        "checked when it exists)",
    )
    render.add_argument(
        "--secret",
        type=_k8s_name,
        default="jobframe",
        help="Kubernetes Secret with the secret settings (%(default)s)",
    )
    render.add_argument(
        "--secrets-as",
        choices=("env", "dir"),
        default="env",
        help="secret keys as environment variables, or the Secret mounted as --secrets-dir (%(default)s)",
    )
    render.add_argument("--namespace", type=_k8s_name, help="metadata.namespace of every manifest")
    render.add_argument("--service-account", type=_k8s_name, help="the workflows' serviceAccountName")
    render.add_argument("--prefix", type=_prefix, default="", help="prepended to every manifest name")
    render.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="render configuration: pod shape for every job or one, clean-up, pod start (docs/argo.md)",
    )
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


def _check_profile(profile: str, config_dir: Path | None) -> None:
    """A profile the image lacks makes every pod exit 78 at start: refuse it here, where the app's
    profiles are (``config/`` is what the Dockerfile copies). Rendered away from them, it trusts."""
    where = config_dir if config_dir is not None else Path("config")
    try:
        if not where.is_dir():
            if config_dir is None:
                return
            raise UsageError(f"--config-dir {where}: does not exist or is not a directory")
        if profile == "default" or (where / f"{profile}.yaml").is_file():
            return
        known = sorted(p.stem for p in where.glob("*.yaml") if p.stem != "default")
    except OSError as exc:
        raise UsageError(f"--config-dir {where}: cannot read: {exc.strerror or exc}") from None
    raise UsageError(
        f"--profile {profile!r}: no {where / (profile + '.yaml')}, so every pod would exit 78 "
        f"(known: {', '.join(known) or 'none'})"
    )


def _render(args: argparse.Namespace) -> int:
    from jobframe._app.loading import load_app  # noqa: PLC0415 - keeps `combine` light

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
    if args.config is not None:
        from jobframe.argo.config import apply_config, load_config  # noqa: PLC0415

        options = apply_config(options, load_config(args.config), args.config, set(app.jobs))
    if not args.profile.strip():
        raise UsageError("--profile: give the settings profile (e.g. production)")
    _check_profile(args.profile, args.config_dir)
    try:
        a_file = args.out is not None and args.out.exists() and not args.out.is_dir()
    except OSError as exc:  # a name too long to look up, a directory not searchable
        raise UsageError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    if a_file:
        raise UsageError(f"--out {args.out}: is a file; give a directory (one manifest per job goes there)")
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
            config = f" --config {args.config}" if args.config else ""
            print(f"run: jobframe-argo render --app {args.app}{config} --out {args.out}", file=sys.stderr)
        return 1 if stale else 0
    try:
        written = write_directory(args.out, files)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
    for path in written:
        print(path)
    return 0


def _lint(args: argparse.Namespace) -> int:
    from jobframe._app.loading import load_app  # noqa: PLC0415
    from jobframe.argo.lint import lint_files, without_workflows  # noqa: PLC0415
    from jobframe.argo.schema import KINDS  # noqa: PLC0415

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
        empty = without_workflows(args.files)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    files = f"{len(args.files)} file{'s' * (len(args.files) != 1)}"
    if len(empty) == len(args.files):
        kinds = ", ".join(sorted(KINDS))
        print(
            f"jobframe-argo: error: no Argo workflow ({kinds}) in {', '.join(map(str, empty))}: "
            "nothing was checked",
            file=sys.stderr,
        )
        return 1
    for file in empty:
        print(f"{file}: note: no Argo workflow in this file: skipped")
    for finding in findings:
        print(finding)
    count = sum(not f.note for f in findings)
    notes = len(findings) - count
    tail = f" ({notes} note{'s' * (notes != 1)}: what lint cannot tell)" if notes else ""
    print(f"{count} problem{'' if count == 1 else 's'} in {files}{tail}")
    return 1 if count else 0


def _combine(args: argparse.Namespace) -> int:
    from jobframe.argo.combine import CombineError, merge, parse_results  # noqa: PLC0415
    from jobframe.files import unwritable_reason, write_json_atomic  # noqa: PLC0415

    if args.shards < 1:
        raise UsageError(f"--shards must be >= 1, got {args.shards}")
    reason = None if args.output is None else unwritable_reason(args.output)
    if reason is not None:
        raise UsageError(f"--output {str(args.output)!r}: {reason}")
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
