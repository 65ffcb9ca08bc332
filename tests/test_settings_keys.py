"""A key no section reads fails loudly, as one at the top level does — in sections that do not say
``extra="forbid"`` too; a section that sets ``extra`` itself keeps its choice (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, SecretStr, ValidationError

import jobframe
from jobframe.errors import ConfigurationError
from jobframe.settings import SettingsSources, load_settings


class Pool(BaseModel):
    size: int = 5


class Db(BaseModel):  # says nothing about extra keys, as most users' sections do
    host: str = "localhost"
    password: SecretStr = SecretStr("")
    pool: Pool = Pool()
    timeout_s: float = Field(default=1.0, alias="timeout")
    replica: str = Field(default="", validation_alias=AliasChoices("replica", "read_host"))


class Outer(BaseModel):
    inner: Pool = Field(default=Pool(), validation_alias=AliasChoices("inner", "in_pool"))


class Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")  # keys meant for something else, on purpose

    a: int = 1
    inner: Pool = Pool()


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    a: int = 1


class AppSettings(jobframe.Settings):
    db: Db = Db()
    backup: Db | None = None
    loose: Loose = Loose()
    open: Open = Open()
    tags: dict[str, str] = Field(default_factory=dict)
    outer: Outer = Outer()
    archive: Db = Field(default=Db(), validation_alias=AliasChoices("archive", "cold_store"))
    # a path of two steps reads a part of what "parts" holds: "parts" is not this section
    part: Pool = Field(default=Pool(), validation_alias=AliasChoices("part", AliasPath("parts", "pool")))


VARIABLES = ("DB__HOTS", "DB__HOST", "DB__PASWORD", "DB__POOL__SISE", "BACKUP__HOTS", "DB")


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    directory = tmp_path / "config"
    directory.mkdir()
    return directory


def load(config: Path, text: str, **sources: object) -> AppSettings:
    (config / "local.yaml").write_text(text)
    return load_settings(AppSettings, SettingsSources(config_dir=config, dotenv=None, **sources))  # type: ignore[arg-type]


def refused(config: Path, text: str, **sources: object) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load(config, text, **sources)
    return str(caught.value)


@pytest.mark.parametrize(
    ("profile", "path"),
    [
        ("db: {hots: h}\n", "db.hots"),
        ("db: {pool: {sise: 3}}\n", "db.pool.sise"),
        ("backup: {hots: h}\n", "backup.hots"),
        ("db: {Host: h}\n", "db.Host"),  # nested keys are exact, as extra="forbid" reads them
        ("loose: {inner: {sise: 3}}\n", "loose.inner.sise"),  # a loose section's own sections
        ("cold_store: {hots: h}\n", "archive.hots"),  # a section given under a validation alias
        ("cold_store: {pool: {sise: 3}}\n", "archive.pool.sise"),
        ("outer: {in_pool: {sise: 3}}\n", "outer.inner.sise"),  # the same, below the top level
    ],
)
def test_a_misspelt_key_in_a_section_of_a_profile_is_refused_naming_it_and_the_file(
    config: Path, profile: str, path: str
) -> None:
    message = refused(config, profile)
    assert f"{path}: Extra inputs are not permitted (no such setting; from {config}/local.yaml" in message


@pytest.mark.parametrize(
    ("variable", "path"),
    [("DB__HOTS", "db.hots"), ("DB__POOL__SISE", "db.pool.sise"), ("BACKUP__HOTS", "backup.hots")],
)
def test_a_misspelt_variable_for_a_section_is_refused_naming_the_variable(
    config: Path, monkeypatch: pytest.MonkeyPatch, variable: str, path: str
) -> None:
    monkeypatch.setenv(variable, "3")
    message = refused(config, "")
    assert f"{path}: Extra inputs are not permitted (from environment variable {variable})" in message


def test_a_misspelt_secret_file_is_refused_and_its_value_never_shown(config: Path, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "db__pasword").write_text("s3cr3t-value")
    message = refused(config, "", secrets_dir=secrets)
    assert "db.pasword: Extra inputs are not permitted (from secret file" in message
    assert "s3cr3t-value" not in message


def test_every_misspelt_key_is_named_at_once(config: Path) -> None:
    message = refused(config, "db: {hots: h, pool: {sise: 1}}\nbackup: {hots: h}\n")
    assert [line.split(":")[0].strip() for line in message.splitlines()[1:]] == [
        "db.hots",
        "db.pool.sise",
        "backup.hots",
    ]


def test_what_a_section_reads_loads_names_aliases_and_any_case_at_the_top(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB__HOST", "from-env")
    loaded = load(
        config,
        "DB: {pool: {size: 2}, timeout: 3, read_host: r}\n"
        "backup: {host: b}\nloose: {a: 2, zzz: ignored}\nopen: {a: 3, zzz: kept}\ntags: {any: key}\n",
    )
    assert (loaded.db.host, loaded.db.pool.size, loaded.db.timeout_s, loaded.db.replica) == (
        "from-env",
        2,
        3.0,
        "r",
    )
    assert loaded.backup is not None and loaded.backup.host == "b"
    assert loaded.loose.a == 2 and not hasattr(loaded.loose, "zzz")
    assert loaded.open.model_extra == {"zzz": "kept"}
    assert loaded.tags == {"any": "key"}


def test_a_section_given_under_a_validation_alias_to_the_model_itself_is_walked() -> None:
    with pytest.raises(ValidationError) as caught:
        AppSettings.model_validate({"cold_store": {"hots": "h"}})
    assert [error["loc"] for error in caught.value.errors()] == [("archive", "hots")]


def test_a_section_read_through_a_longer_alias_path_is_not_taken_for_the_section(config: Path) -> None:
    loaded = load(
        config,
        "parts: {pool: {size: 7}, other: {anything: 1}}\n"
        "cold_store: {host: c}\nouter: {in_pool: {size: 4}}\n",
    )
    assert (loaded.part.size, loaded.archive.host, loaded.outer.inner.size) == (7, "c", 4)


def test_a_section_given_as_an_object_is_not_walked(config: Path) -> None:
    # a default or an init value that is already a model: nothing a source gave to check
    settings = AppSettings.model_validate({"db": Db(host="x")})
    assert settings.db.host == "x"
