"""Import an app's main container from a ``MODULE:ATTR`` reference, with one-line errors."""

from __future__ import annotations

import importlib
import sys
import sysconfig
import traceback
from pathlib import Path
from typing import Any

from dependency_injector import containers

from jobframe._app.discovery import App
from jobframe.errors import ConfigurationError, JobframeError, UsageError
from jobframe.summary import shown

__all__ = ["DEFAULT_APP", "load_app", "where"]

DEFAULT_APP = "jobs:MainContainer"


def where(exc: BaseException) -> str:
    """``Type: message (file:line)``: where an import (or a build) failed, without a traceback.

    The line is the deepest one in the app's own code, not inside the standard library, an
    installed package, jobframe or compiled code (dependency-injector's ``providers.pyx``), since that is
    the line a user can fix. A misspelt provider of a nested module names the module's providers.
    An error that cannot be printed (its ``str`` raises) is still named, with its place.
    """
    if isinstance(exc, SyntaxError):
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}:{exc.lineno})"
    own = str(Path(__file__).resolve().parent.parent) + "/"  # jobframe itself, installed editable or not
    library = (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"], "<frozen", own)
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if not f.filename.startswith(library) and Path(f.filename).is_file()
    ]
    place = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {shown(exc, str)}{_module_providers(exc)}{place}"


def _module_providers(exc: BaseException) -> str:
    """``module.clinet``: what the module does provide, so the fix is in the message."""
    try:
        container = getattr(exc, "obj", None) if isinstance(exc, AttributeError) else None
    except Exception:  # noqa: BLE001 - an error of the app's own whose ``obj`` raises names no module
        return ""
    names = getattr(container, "providers", None)
    if not isinstance(container, containers.Container) or not isinstance(names, dict):
        return ""
    return f"; the module provides: {', '.join(sorted(names)) or 'nothing'}"


def load_app(ref: str, *, search_path: Path | None = None) -> App:
    """Import ``MODULE:ATTR`` and discover it; import failures are usage errors naming the module."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--app {ref!r}: expected MODULE:ATTR, e.g. {DEFAULT_APP}")
    cwd = str(search_path or Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)  # like `python -m`, so an app package in the working directory imports
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            default = " (the default app)" if ref == DEFAULT_APP else ""
            raise UsageError(
                f"--app {ref!r}{default}: no module named {exc.name!r} importable from {cwd}: "
                "run from the directory that holds your app's package, or set PYTHONPATH; "
                "name your app with --app MODULE:ATTR or JOBFRAME_APP"
            ) from None
        raise UsageError(f"--app {ref!r}: importing {module_name!r} failed: {where(exc)}") from None
    except JobframeError:
        raise  # the app said what is wrong (e.g. a ConfigurationError): keep its exit code
    except Exception as exc:  # noqa: BLE001 - the app's own import error, reported in one line
        message = f"--app {ref!r}: importing {module_name!r} failed: {where(exc)}"
        if _module_providers(exc):  # a module's provider misspelt: broken wiring
            raise ConfigurationError(message) from None
        raise UsageError(message) from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise UsageError(f"--app {ref!r}: module {module_name!r} has no attribute {attr!r}") from None
    return App.from_container(target)
