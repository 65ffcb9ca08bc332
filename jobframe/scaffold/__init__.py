"""``jobframe new NAME``: write a new app that runs, checks and passes its own tests as it is.

The app is the README's own example (``SendWelcome`` on the fake Braze): a package with its
container and one job, settings profiles (``local`` and ``test`` on the fake, ``production``),
a test using the pytest plugin, a ``pyproject.toml`` that points the plugin at the app, and a
Dockerfile built on jobframe's runtime image. The templates are files in ``template/`` with
``{{name}}`` where the app's name goes and ``{{version}}`` for jobframe's version.
"""

from __future__ import annotations

import argparse
import importlib.util
import keyword
import sys
from collections.abc import Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from jobframe import __version__
from jobframe._cli.args import Parser
from jobframe._cli.streams import write_stdout
from jobframe.errors import UsageError

__all__ = ["create", "main"]

_PLACEHOLDER = "{{name}}"
_RENAMED = {"dockerignore": ".dockerignore", "gitignore": ".gitignore", "__name__": _PLACEHOLDER}
_RESERVED = {"jobframe", "jobs", "tests", "config", "test"}


def _check_name(name: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or not name.islower():
        raise UsageError(
            f"new app {name!r}: the name is the app's Python package, so it must be a lowercase "
            "identifier, e.g. acme or welcome_jobs"
        )
    if name in _RESERVED or name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None:
        raise UsageError(f"new app {name!r}: a module of that name exists already; pick another name")


def _files(root: Traversable, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Traversable]]:
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            found += _files(entry, (*prefix, entry.name))
        elif entry.name.endswith(".tmpl"):
            found.append(((*prefix, entry.name.removesuffix(".tmpl")), entry))
    return found


def create(name: str, directory: Path) -> list[Path]:
    """Write the app ``name`` into ``directory`` (new or empty); returns the files written."""
    _check_name(name)
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise UsageError(f"new app {name!r}: {str(directory)!r} exists and is not an empty directory")
    written = []
    for parts, template in _files(resources.files(__name__) / "template"):
        relative = Path(*(_RENAMED.get(p, p).replace(_PLACEHOLDER, name) for p in parts))
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = template.read_text(encoding="utf-8").replace(_PLACEHOLDER, name)
        target.write_text(text.replace("{{version}}", __version__), encoding="utf-8")
        written.append(target)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="jobframe new",
        description="Write a new jobframe app: a package with its container and one job, settings "
        "profiles, a test and a Dockerfile. It runs offline (a fake Braze) and its tests pass as written.",
    )
    parser.add_argument("name", help="the app's package name, a lowercase identifier (e.g. acme)")
    parser.add_argument(
        "--dir", type=Path, metavar="DIR", help="where to write it (default: ./NAME; must be new or empty)"
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """``jobframe new NAME [--dir DIR]``; usage errors are one line and exit 2."""
    try:
        args = _parser().parse_args(argv)
        directory = args.dir or Path(args.name)
        files = create(args.name, directory)
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except (UsageError, OSError) as exc:
        print(f"jobframe: error: {exc}", file=sys.stderr)
        return 2
    app = f"{args.name}.container:MainContainer"
    write_stdout(
        f"created {directory}/ with {len(files)} files: the {args.name} package, config/, tests/, "
        f"pyproject.toml, Dockerfile\n\nnext:\n"
        f"  cd {directory}\n"
        f"  export JOBFRAME_APP={app}\n"
        f"  jobframe --check\n"
        f"  python -m pytest\n"
        f"  jobframe --job-name SendWelcome --param users=u1\n"
    )
    return 0
