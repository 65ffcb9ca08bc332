"""Application settings: YAML profiles, ``.env``, environment and a secrets directory, in that order.

Precedence, lowest to highest (a later source overrides an earlier one, key by key, nested keys
merged): ``config/default.yaml`` → ``config/<env>.yaml`` → ``.env`` → environment variables
(nested with ``__``, e.g. ``BRAZE__API_KEY``) → the secrets directory (one file per key, named
like the variable, e.g. ``braze__api_key``, as Kubernetes mounts a Secret). Secrets win last
because a mounted Secret is what an operator set on purpose for this deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AliasChoices, AliasPath, BaseModel, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from jobframe.errors import ConfigurationError
from jobframe.validation import format_errors

__all__ = ["Settings", "SettingsSources", "bind_profiles", "load_settings", "secret_values"]

S = TypeVar("S", bound="Settings")


@dataclass(frozen=True)
class SettingsSources:
    """Where settings come from for one run; the CLI fills it from flags and ``JOBFRAME_*`` variables."""

    env: str = "local"
    config_dir: Path = Path("config")
    dotenv: Path | None = Path(".env")
    secrets_dir: Path | None = None

    def profile_files(self) -> list[Path]:
        return [self.config_dir / "default.yaml", self.config_dir / f"{self.env}.yaml"]


class Settings(BaseSettings):
    """Base class for an app's settings: subclass it and add typed fields (nested models welcome).

    Unknown keys are errors, so a typo in a profile or ``BRAZE__APIKEY`` fails loudly instead of
    being silently ignored.
    """

    model_config = SettingsConfigDict(
        extra="forbid",
        env_nested_delimiter="__",
        case_sensitive=False,
        secrets_nested_delimiter="__",
        secrets_dir_missing="error",
    )

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


class _Profiles(YamlConfigSettingsSource):
    """YAML profiles whose top level must be a mapping of settings (a list is a mistake to name)."""

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        data = super()._read_file(file_path)
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"{file_path}: the top level must be a mapping of settings, not a {type(data).__name__}"
            )
        return data


def _field_keys(settings_cls: type[BaseSettings]) -> Iterator[str]:
    """Every top-level key a settings class reads: names, aliases and validation aliases."""
    for name, field in settings_cls.model_fields.items():
        yield name
        if field.alias:
            yield field.alias
        aliases = field.validation_alias
        choices = aliases.choices if isinstance(aliases, AliasChoices) else [aliases]
        for choice in choices:
            if isinstance(choice, str):
                yield choice
            elif isinstance(choice, AliasPath) and isinstance(choice.path[0], str):
                yield choice.path[0]


class _SettingsKeysOnly(PydanticBaseSettingsSource):
    """A ``.env`` is often shared with other tools: use the keys that name a setting, skip the rest.

    Like environment variables, an unrelated ``FOO=bar`` is ignored; a typo *inside* a known
    setting (``BRAZE__APIKEY``) still fails, because the nested model forbids unknown keys.
    """

    def __init__(self, settings_cls: type[BaseSettings], inner: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._inner = inner
        self._known = {name.lower() for name in _field_keys(settings_cls)}

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
    if not sources.config_dir.is_dir():
        raise ConfigurationError(f"config directory {str(sources.config_dir)!r} does not exist")
    if sources.env != "default" and not (sources.config_dir / f"{sources.env}.yaml").is_file():
        known = sorted(p.stem for p in sources.config_dir.glob("*.yaml") if p.stem != "default")
        raise ConfigurationError(
            f"no profile {sources.env!r} in {str(sources.config_dir)!r} (expected {sources.env}.yaml); "
            f"profiles: {', '.join(known) or 'none'}"
        )
    if sources.secrets_dir is not None and not sources.secrets_dir.is_dir():
        raise ConfigurationError(f"secrets directory {str(sources.secrets_dir)!r} does not exist")


def load_settings(cls: type[S], sources: SettingsSources) -> S:
    """Load ``cls`` from ``sources``; any problem becomes one :class:`ConfigurationError` (exit 78)."""
    _check_sources(sources)
    bound = bind_profiles(cls, [p for p in sources.profile_files() if p.is_file()])
    dotenv = sources.dotenv if sources.dotenv is not None and sources.dotenv.is_file() else None
    try:
        return bound(_env_file=dotenv, _secrets_dir=sources.secrets_dir)
    except ValidationError as exc:
        raise ConfigurationError(f"invalid settings ({_describe(sources)}):\n{format_errors(exc)}") from None
    except ConfigurationError:
        raise
    except Exception as exc:  # noqa: BLE001 - YAML syntax, unreadable files: one message, exit 78
        raise ConfigurationError(
            f"cannot load settings ({_describe(sources)}): {_safe_reason(exc)}"
        ) from None


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
