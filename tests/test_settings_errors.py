"""Settings errors say what to do: where a bad key came from, where a missing one goes (in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

import jobframe
from jobframe.errors import ConfigurationError
from jobframe.settings import SettingsSources, load_settings


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")  # as jobframe's own sections do

    url: str
    key: SecretStr | None = None


class AppSettings(jobframe.Settings):
    section: Section
    token: SecretStr
    name: str = "n"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for variable in ("SECTION", "SECTION__URL", "SECTION__KEY", "TOKEN", "NAME", "SECTION__URLL"):
        monkeypatch.delenv(variable, raising=False)
    directory = tmp_path / "config"
    directory.mkdir()
    return directory


def load(config: Path, text: str, **sources: object) -> str:
    (config / "local.yaml").write_text(text)
    with pytest.raises(ConfigurationError) as caught:
        load_settings(AppSettings, SettingsSources(config_dir=config, dotenv=None, **sources))  # type: ignore[arg-type]
    return str(caught.value)


def test_a_missing_section_and_a_missing_secret_say_where_each_goes(config: Path) -> None:
    message = load(config, "{}\n")
    assert (
        f"section: Field required (set a section section: in {config}/local.yaml, or SECTION__<KEY>"
        in message
    )
    assert (
        "token: Field required (a secret: set TOKEN in the environment or a file token in the secrets"
        in message
    )


def test_a_missing_plain_field_names_the_profile_and_the_variable(config: Path) -> None:
    message = load(config, "token: t\nsection: {}\n")
    assert message.endswith(
        f"section.url: Field required (set it in {config}/local.yaml or as SECTION__URL in the environment)"
    )
    assert "\n" not in message, "one error is one line"


def test_a_misspelt_key_names_its_source(
    config: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert "(no such setting; from" in load(config, "token: t\nsection: {url: u, urll: v}\n")
    monkeypatch.setenv("SECTION__URLL", "v")
    assert "section.urll: Extra inputs are not permitted (from environment variable SECTION__URLL)" in load(
        config, "token: t\nsection: {url: u}\n"
    )
    monkeypatch.delenv("SECTION__URLL")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "section__urll").write_text("v")
    message = load(config, "token: t\nsection: {url: u}\n", secrets_dir=secrets)
    assert f"(from secret file '{secrets}/section__urll')" in message


def test_values_never_appear_in_the_message(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECTION__URLL", "value-that-must-not-show")
    message = load(config, "token: t\nsection: {url: u}\n")
    assert "value-that-must-not-show" not in message


TOO_LONG = "a" * 300  # a name the file system refuses even to look up (ENAMETOOLONG)


@pytest.mark.parametrize(
    "where",
    [
        {"config_dir": Path("/tmp") / TOO_LONG},
        {"env": TOO_LONG},
        {"dotenv": Path("/tmp") / TOO_LONG, "dotenv_required": True},
        {"dotenv": Path("/proc/self/mem"), "dotenv_required": True},  # exists; reading it fails (EIO)
        {"secrets_dir": Path("/tmp") / TOO_LONG},
    ],
    ids=["config dir", "profile", "env file", "env file read", "secrets dir"],
)
def test_a_source_the_file_system_refuses_to_look_at_is_a_configuration_error(
    config: Path, where: dict[str, object]
) -> None:
    (config / "local.yaml").write_text("section: {url: u}\ntoken: t\n")
    sources = {"config_dir": config, "dotenv": None, **where}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(AppSettings, SettingsSources(**sources))  # type: ignore[arg-type]
    message = str(caught.value)
    assert ("File name too long" in message) or ("Input/output error" in message), message
    assert len(message.splitlines()) == 1


def test_an_env_file_that_exists_but_is_not_a_file_is_not_called_missing(config: Path) -> None:
    (config / "local.yaml").write_text("section: {url: u}\ntoken: t\n")
    sources = SettingsSources(config_dir=config, dotenv=Path("/dev/null"), dotenv_required=True)
    with pytest.raises(ConfigurationError, match="is not a regular file"):
        load_settings(AppSettings, sources)


@pytest.mark.parametrize("value", ["not json", '{"url":', "u=1"])
def test_a_section_variable_that_is_not_json_is_named_whatever_it_starts_with(
    config: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SECTION", value)
    monkeypatch.setenv("SECTION__URL", "plain text is fine for a str field")
    message = load(config, "token: t\n")
    assert "environment variable SECTION: not valid JSON" in message, message
    assert "SECTION__URL" not in message and value not in message
