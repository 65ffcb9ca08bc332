"""Hermetic test settings: built from the repository's profiles and explicit values only.

A test must not pass on one laptop and fail on another because someone exported
``BRAZE__API_KEY`` or keeps a ``.env`` around. :func:`make_settings` therefore reads the YAML
profiles (``config/default.yaml`` then ``config/<profile>.yaml``, each if present) plus the values
given in the call, and never the environment, a dotenv file or a secrets directory.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from jobframe.errors import ConfigurationError
from jobframe.settings import Settings, bind_profiles
from jobframe.validation import format_errors

__all__ = ["DEFAULT_PROFILE", "make_settings", "nest", "replace_settings"]

S = TypeVar("S", bound=Settings)

DEFAULT_PROFILE = "test"
"""The profile tests load on top of ``config/default.yaml`` when ``config/test.yaml`` exists."""


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """``{"braze__api_key": "k", "http": {...}}`` → ``{"braze": {"api_key": "k"}, "http": {...}}``.

    The ``__`` form is the one users already know from environment variables, so a test can name
    a nested setting the same way it would be set in a deployment.
    """
    nested: dict[str, Any] = {}
    for key, value in values.items():
        *parents, leaf = key.split("__")
        node = nested
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"setting {key!r} conflicts with a value given for {part!r}")
            node = child
        if isinstance(value, Mapping) and isinstance(node.get(leaf), dict):
            node[leaf] = _deep_merge(node[leaf], nest(value))
        else:
            node[leaf] = nest(value) if isinstance(value, Mapping) else value
    return nested


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(cls: type[S], yaml_files: list[Path], values: Mapping[str, Any], where: str, hint: str) -> S:
    try:
        return bind_profiles(cls, yaml_files, environment=False)(**nest(values))
    except ValidationError as exc:
        raise ConfigurationError(
            f"invalid test settings for {cls.__qualname__} ({where}):\n{format_errors(exc)}{hint}"
        ) from None


def make_settings(
    cls: type[S],
    *,
    config_dir: Path | str = "config",
    profile: str | None = DEFAULT_PROFILE,
    **values: Any,
) -> S:
    """Build ``cls`` for a test from ``config_dir``'s profiles and ``values``; nothing else is read.

    Files, lowest precedence first: ``default.yaml`` and ``<profile>.yaml`` (each only if it
    exists; ``profile=None`` skips both and leaves the class defaults). ``values`` win, deep-merged,
    and may use the ``__`` form: ``make_settings(AppSettings, braze__api_key="k")``.
    """
    directory = Path(config_dir)
    files: list[Path] = []
    if profile is not None:
        files = [p for p in (directory / "default.yaml", directory / f"{profile}.yaml") if p.is_file()]
    where = ", ".join(str(f) for f in files) or "class defaults only"
    hint = (
        f"\ngive the missing values in {directory / (profile or DEFAULT_PROFILE)}.yaml, pass them here, "
        "or override the jobframe_settings fixture"
    )
    return _build(cls, files, values, where, hint)


def replace_settings(settings: S, **changes: Any) -> S:
    """A validated copy of ``settings`` with ``changes`` deep-merged in (``braze__batch__recipients=2``).

    Unlike ``model_copy(update=...)`` the result is validated again, so a test cannot build a
    settings object the real loader would reject; like :func:`make_settings`, the environment is
    not consulted.
    """
    # Python-mode dump keeps SecretStr values as SecretStr, so secrets survive the round trip.
    current = settings.model_dump()
    return _build(type(settings), [], _deep_merge(current, nest(changes)), "replace_settings", "")
