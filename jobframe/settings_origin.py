"""Where a settings value came from, named in one line: a variable, a ``.env`` line, a profile key.

:func:`jobframe.settings.load_settings` reports every bad value with its source and never with
the value. The readers here look at names and positions only: which variable or ``.env`` key
holds a value that does not decode as JSON, which profile file sets a key, which ``.env`` line does not parse.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from dotenv.parser import parse_stream
from pydantic_settings import BaseSettings, EnvSettingsSource
from pydantic_settings.exceptions import SettingsError

from jobframe.errors import ConfigurationError

__all__ = ["check_dotenv", "dotenv_keys", "profile_origin", "unparsable_json_sources"]

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_FIELD = re.compile(r'field "(?P<field>[^"]+)" from source "(?P<source>[^"]+)"')


def check_dotenv(path: Path | None, *, required: bool) -> Path | None:
    """The ``.env`` file to read, or ``None``; an explicit one that is missing, a directory, or
    has a line python-dotenv cannot parse is a :class:`ConfigurationError` naming file and line."""
    if path is None:
        return None
    if not path.is_file():
        if not required:
            return None
        what = (
            "is a directory"
            if path.is_dir()
            else "is not a regular file"
            if path.exists()
            else "does not exist"
        )
        raise ConfigurationError(
            f"env file {str(path)!r} (--env-file / JOBFRAME_ENV_FILE) {what}: give a dotenv file, "
            "or leave the option out (the default .env is read only if it exists)"
        )
    try:
        with path.open(encoding="utf-8", errors="replace") as stream:
            bindings = list(parse_stream(stream))
    except OSError as exc:
        raise ConfigurationError(f"env file {str(path)!r} cannot be read: {exc.strerror or exc}") from None
    for binding in bindings:
        if binding.error or (binding.key is not None and not _KEY.match(binding.key)):
            raise ConfigurationError(
                f"{str(path)!r} line {_first_line(binding.original.string, binding.original.line)}: "
                "not KEY=VALUE (an unterminated quote, or a key that is not a name); "
                "fix or remove the line"
            )
    return path


def _first_line(text: str, line: int) -> int:
    """python-dotenv counts a binding from the blank lines before it; name the line with text."""
    return line + len(text) - len(text.lstrip("\n"))


def dotenv_keys(path: Path) -> list[str]:
    """The key names of a dotenv file; values are never read out."""
    with path.open(encoding="utf-8", errors="replace") as stream:
        return [b.key for b in parse_stream(stream) if b.key]


def profile_origin(files: list[Path], path: list[str]) -> str | None:
    """``config/typed.yaml key braze.max_concurrency``: the last profile that sets ``path``."""
    for file in reversed(files):
        try:
            data: Any = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError):
            continue
        for part in path:
            if not isinstance(data, dict) or part not in data:
                break
            data = data[part]
        else:
            return f"{file} key {'.'.join(path)}"
    return None


def unparsable_json_sources(message: str, dotenv: Path | None, cls: type[BaseSettings]) -> str | None:
    """For pydantic-settings' ``error parsing value for field "http" from source "EnvSettingsSource"``:
    the variables (or ``.env`` keys) of that field whose value ``cls`` cannot decode as JSON."""
    match = _FIELD.search(message)
    if match is None:
        return None
    field, source = match["field"].lower(), match["source"]
    if source.startswith("DotEnv") and dotenv is not None:
        found = [f"{str(dotenv)!r} key {k}" for k in _undecodable(cls, _dotenv_items(dotenv), field)]
    else:
        found = [f"environment variable {k}" for k in _undecodable(cls, os.environ.items(), field)]
    if not found:
        return None
    return (
        f"{', '.join(found)}: not valid JSON (a section, list or dict setting given as one value is "
        f"read as JSON; or set its keys one by one, {field.upper()}__<KEY>)"
    )


def _dotenv_items(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", errors="replace") as stream:
        for binding in parse_stream(stream):
            if binding.key and binding.value is not None:
                yield binding.key, binding.value


def _undecodable(cls: type[BaseSettings], items: Any, field: str) -> list[str]:
    """Each key of ``field`` tried alone through pydantic-settings' own decoding: a section, list or
    dict setting's value is JSON whatever it starts with; a text setting's is text, never named."""
    bad = []
    for key, value in items:
        name = key.lower()
        if name != field and not name.startswith(f"{field}__"):
            continue
        source = EnvSettingsSource(cls)
        source.env_vars = {name: value}
        try:
            source()
        except SettingsError:
            bad.append(key)
    return sorted(bad)
