"""Application settings: YAML profiles, ``.env``, environment and a secrets directory, in that order.

Precedence, lowest to highest (a later source overrides an earlier one, key by key, nested keys
merged): ``config/default.yaml`` → ``config/<env>.yaml`` → ``.env`` → environment variables
(nested with ``__``, e.g. ``BRAZE__API_KEY``) → the secrets directory (one file per key, named
like the variable, e.g. ``braze__api_key``, as Kubernetes mounts a Secret). Secrets win last
because a mounted Secret is what an operator set on purpose for this deployment.

Which keys are read — the one rule, for every source: a variable, ``.env`` key or secret file is
read when its name, up to the first ``__``, is a top-level setting (case-insensitive); any other
name (``PATH``, ``COMPOSE_PROJECT_NAME``) is not a setting and is ignored. Everything that is read
must name a real setting: ``HTTP__FOO``, ``BRAZE__APIKEY`` or a profile's ``braze: {apikey: ..}``
is an error (exit 78) naming the key and where it came from, so a typo fails loudly instead of
leaving a setting at its default. That holds inside sections too — a section model (``db: DbSettings``,
``DbSettings | None``, at any depth) refuses ``db: {hots: ..}`` or ``DB__HOTS`` unless it sets
``extra`` itself (``extra="ignore"`` to take keys meant for something else): ``settings_keys``.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ModelWrapValidatorHandler, SecretStr, ValidationError, model_validator
from pydantic_core import ErrorDetails, InitErrorDetails
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    YamlConfigSettingsSource,
)

from jobframe.errors import ConfigurationError
from jobframe.settings_keys import field_keys, unknown_keys
from jobframe.settings_origin import check_dotenv, dotenv_keys, profile_origin, unparsable_json_sources
from jobframe.validation import describe_errors

__all__ = ["Settings", "SettingsSources", "bind_profiles", "load_settings", "secret_values"]

S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class SettingsSources:
    """Where settings come from for one run; the CLI fills it from flags and ``JOBFRAME_*`` variables."""

    env: str = "local"
    config_dir: Path = Path("config")
    dotenv: Path | None = Path(".env")
    secrets_dir: Path | None = None
    dotenv_required: bool = False
    """An ``--env-file`` named explicitly must exist; the implicit ``.env`` is read only if it does."""

    def profile_files(self) -> list[Path]:
        return [self.config_dir / "default.yaml", self.config_dir / f"{self.env}.yaml"]


class Settings(BaseSettings):
    """Base class for an app's settings: subclass it and add typed fields (nested models welcome).

    Sources, precedence and which keys are read: see this module's docstring.
    """

    model_config = SettingsConfigDict(
        extra="forbid",
        env_nested_delimiter="__",
        case_sensitive=False,
        secrets_nested_delimiter="__",
        secrets_dir_missing="error",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _refuse_unknown_section_keys(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        """A key no section reads is an error, as one at the top level is (``settings_keys``)."""
        if isinstance(data, dict):
            unknown = unknown_keys(cls, data)
            if unknown:
                errors = [InitErrorDetails(type="extra_forbidden", loc=loc, input=None) for loc in unknown]
                raise ValidationError.from_exception_data(cls.__name__, errors)
        return handler(data)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_files = settings_cls.model_config.get("yaml_file") or []
        yaml = _Profiles(settings_cls, yaml_file=yaml_files, deep_merge=True)
        if not settings_cls.model_config.get(_ENVIRONMENT, True):
            return (init_settings, yaml)
        secrets = NestedSecretsSettingsSource(file_secret_settings)
        dotenv = _SettingsKeysOnly(settings_cls, dotenv_settings)
        return (init_settings, secrets, env_settings, dotenv, yaml)


_ENVIRONMENT = "jobframe_environment"


MAX_PROFILE_BYTES = 1024 * 1024
"""A profile larger than this is refused unread: real ones are a few kilobytes."""


class _ProfileLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a key given twice in one mapping: the first value would be
    lost without a word. A key after ``<<:`` that overrides a merged one is YAML's override, kept."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if (key.tag, key.value) in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found duplicate key {key.value!r}",
                        key.start_mark,
                    )
                seen.add((key.tag, key.value))
        return super().construct_mapping(node, deep=deep)


class _Profiles(YamlConfigSettingsSource):
    """YAML profiles whose top level must be a mapping of settings (a list is a mistake to name).

    An empty file (or one with comments only) is an empty mapping: a profile with nothing to set.
    """

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        with Path(file_path).open(encoding="utf-8") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_PROFILE_BYTES:  # parsing it would take minutes before a line of output
                raise ConfigurationError(
                    f"{file_path}: {size / 1024 / 1024:.1f} MB; a settings profile holds settings, "
                    f"at most {MAX_PROFILE_BYTES // 1024 // 1024} MB"
                )
            try:
                data = yaml.load(stream, Loader=_ProfileLoader)  # noqa: S506 - a SafeLoader
            except yaml.YAMLError:
                raise  # names file, line and column, never quotes the value
            except Exception as exc:  # noqa: BLE001 - `!!int x`: the converter's message echoes x
                raise ConfigurationError(
                    f"{file_path}: a tagged value (!!int, !!float, !!timestamp...) does not convert "
                    f"({type(exc).__name__}); the value is not shown, it may be a secret"
                ) from None
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{file_path}: the top level must be a mapping of settings, not a {type(data).__name__}"
            )
        return data


class _SettingsKeysOnly(PydanticBaseSettingsSource):
    """A ``.env`` read by the same rule as the environment (module docstring): a key that names no
    top-level setting is skipped, as pydantic-settings would otherwise reject it as an extra input.
    """

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._inner = inner
        self._known = {name.lower() for name in field_keys(settings_cls)}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ delegates to the wrapped source

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._inner().items() if k.lower() in self._known}


def bind_profiles(cls: type[S], yaml_files: list[Path], *, environment: bool = True) -> type[S]:
    """A subclass of ``cls`` that reads exactly ``yaml_files`` (in order, deep-merged).

    With ``environment=False`` it reads nothing else — no environment variables, ``.env`` or
    secrets directory — which is what hermetic test settings need. The subclass keeps the name,
    so reprs and errors read as ``cls``; instances still pass ``isinstance(x, cls)``.
    """
    config: dict[str, Any] = {**cls.model_config, "yaml_file": yaml_files, _ENVIRONMENT: environment}
    if not environment:  # unused source options would only draw pydantic-settings warnings
        config.update({k: None for k in config if k.startswith("secrets_")})
    bound: type[S] = type(
        cls.__name__,
        (cls,),
        {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "model_config": config},
    )
    return bound


def _check_sources(sources: SettingsSources) -> None:
    config_dir, env = sources.config_dir, sources.env
    if not config_dir.is_dir():
        what = "is not a directory" if config_dir.exists() else "does not exist"
        raise ConfigurationError(
            f"config directory {str(config_dir)!r} {what}: settings profiles are read from it "
            f"(create {config_dir / 'local.yaml'}, or pass --config-dir / JOBFRAME_CONFIG_DIR)"
        )
    for profile in sources.profile_files():
        if profile.is_dir():
            raise ConfigurationError(
                f"profile {str(profile)!r} is a directory: a profile is a YAML file of settings"
            )
    if env != "default" and not (config_dir / f"{env}.yaml").is_file():
        known = sorted(p.stem for p in config_dir.glob("*.yaml") if p.stem != "default")
        raise ConfigurationError(
            f"no profile {env!r} in {str(config_dir)!r}: create {config_dir / f'{env}.yaml'} "
            f"(an empty file will do) or pick another with --env / JOBFRAME_ENV; "
            f"profiles: {', '.join(known) or 'none'}"
        )
    if sources.secrets_dir is not None:
        reason = _unreadable_dir(sources.secrets_dir)
        if reason:
            raise ConfigurationError(f"secrets directory {str(sources.secrets_dir)!r} {reason}")


def _unreadable_dir(directory: Path) -> str | None:
    if not directory.exists():
        return "does not exist"
    if not directory.is_dir():
        return "is not a directory"
    try:
        with os.scandir(directory) as entries:
            for _ in entries:
                break
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def load_settings(cls: type[S], sources: SettingsSources) -> S:
    """Load ``cls`` from ``sources``; any problem becomes one :class:`ConfigurationError` (exit 78)."""
    try:
        _check_sources(sources)
        bound = bind_profiles(cls, [p for p in sources.profile_files() if p.is_file()])
        dotenv = check_dotenv(sources.dotenv, required=sources.dotenv_required)
    except OSError as exc:  # a name too long to look up, a directory not searchable, a read error
        raise ConfigurationError(f"cannot load settings ({_describe(sources)}): {_os_reason(exc)}") from None
    try:
        return bound(_env_file=dotenv, _secrets_dir=sources.secrets_dir)
    except ValidationError as exc:
        hint = _Hints(cls, sources, dotenv)
        raise ConfigurationError(
            describe_errors(f"invalid settings ({_describe(sources)})", exc, hint)
        ) from None
    except ConfigurationError:
        raise
    except SettingsError as exc:
        named = unparsable_json_sources(str(exc), dotenv, bound)
        if named is None:
            raise ConfigurationError(
                f"cannot load settings ({_describe(sources)}): {_safe_reason(exc)}"
            ) from None
        raise ConfigurationError(f"invalid settings ({_describe(sources)}): {named}") from None
    except Exception as exc:  # noqa: BLE001 - YAML syntax, unreadable files: one message, exit 78
        raise ConfigurationError(
            f"cannot load settings ({_describe(sources)}): {_safe_reason(exc)}"
        ) from None


def _os_reason(exc: OSError) -> str:
    return f"{exc.filename!r}: {exc.strerror}" if exc.filename and exc.strerror else str(exc)


class _Hints:
    """What to add to a settings error: where the bad key came from, or where to set a missing one."""

    def __init__(self, cls: type[BaseModel], sources: SettingsSources, dotenv: Path | None) -> None:
        self._cls = cls
        self._sources = sources
        self._dotenv = dotenv

    def __call__(self, error: ErrorDetails) -> str:
        parts = [str(p) for p in error["loc"] if isinstance(p, str)]
        if not parts:
            return ""
        name = "__".join(parts)
        origin = self._origin(name)
        if origin:
            return f" (from {origin})"
        profile = profile_origin([p for p in self._sources.profile_files() if p.is_file()], parts)
        if profile and error["type"] == "extra_forbidden":
            return f" (no such setting; from {profile})"
        if profile:
            return f" (from {profile})"
        annotation = _annotation(self._cls, parts)
        if annotation is SecretStr:
            return f" (a secret: set {name.upper()} in the environment or a file {name} in the secrets dir)"
        if error["type"] == "missing":
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                where = f"a section {parts[-1]}: in {self._profile()}, or {name.upper()}__<KEY> variables"
                return f" (set {where})"
            return f" (set it in {self._profile()} or as {name.upper()} in the environment)"
        if error["type"] == "extra_forbidden":
            default = self._sources.config_dir / "default.yaml"
            return f" (no such setting; from {self._profile()} or {default})"
        return ""

    def _profile(self) -> str:
        return str(self._sources.config_dir / f"{self._sources.env}.yaml")

    def _origin(self, name: str) -> str | None:
        """The source of highest precedence that sets ``name``, named without its value."""
        wanted = name.lower()
        secrets = self._sources.secrets_dir
        if secrets is not None:
            for entry in secrets.iterdir():
                if entry.name.lower() == wanted:
                    return f"secret file {str(entry)!r}"
        for key in os.environ:
            if key.lower() == wanted:
                return f"environment variable {key}"
        if self._dotenv is not None:
            for key in dotenv_keys(self._dotenv):
                if key.lower() == wanted:
                    return f"{str(self._dotenv)!r} key {key}"
        return None


def _annotation(cls: type[BaseModel], path: list[str]) -> Any:
    """The type of the field at ``path`` (``["braze", "api_key"]``), ``X | None`` read as ``X``."""
    annotation: Any = cls
    for part in path:
        fields = getattr(annotation, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return None
        annotation = fields[part].annotation
        members = typing.get_args(annotation) if typing.get_origin(annotation) in _UNIONS else ()
        annotation = next((m for m in members if m is not type(None)), annotation)
    return annotation


_UNIONS = (typing.Union, types.UnionType)


def _describe(sources: SettingsSources) -> str:
    return f"env {sources.env!r}, config dir {str(sources.config_dir)!r}"


def _safe_reason(exc: Exception) -> str:
    # YAML errors carry the file, line and column, which is what a user needs; the class name
    # says what kind of problem it was. Values from secret files never reach here.
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def secret_values(model: BaseModel) -> Iterator[str]:
    """Every ``SecretStr`` value in ``model`` (nested models, lists and dicts too), for log scrubbing."""

    def walk(value: Any) -> Iterator[str]:
        if isinstance(value, SecretStr):
            yield value.get_secret_value()
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                yield from walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                yield from walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                yield from walk(item)

    yield from walk(model)
