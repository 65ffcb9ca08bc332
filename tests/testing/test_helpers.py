"""The toolkit's helpers used directly, without the fixtures."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
import structlog
from dependency_injector import containers, providers
from pydantic import SecretStr

import jobframe
from jobframe.errors import ConfigurationError
from jobframe.logs import Redact
from jobframe.testing import LeakError, capture_events, make_settings, override, replace_settings, run_job
from jobframe.testing._network import NetworkBlockedError, block_network, is_loopback
from jobframe.testing._settings import nest


class Nested(jobframe.Settings):
    token: SecretStr | None = None
    size: int = 1


class AppSettings(jobframe.Settings):
    name: str = "x"
    nested: Nested = Nested()


class Echo:
    """Return the settings' name."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings

    def execute(self) -> str:
        structlog.get_logger("echo").info("echo", token=self.settings.nested.token)
        return self.settings.name


class App(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AppSettings)
    echo = providers.Factory(Echo, settings=settings)
    words = providers.Singleton(list)


def test_nest_turns_double_underscores_into_nested_keys() -> None:
    assert nest({"a__b": 1, "a": {"c": 2}, "d": 3}) == {"a": {"b": 1, "c": 2}, "d": 3}


def test_make_settings_ignores_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NAME", "env")
    monkeypatch.setenv("NESTED__SIZE", "9")
    (tmp_path / "test.yaml").write_text("name: yaml\n")
    settings = make_settings(AppSettings, config_dir=tmp_path, nested__size=3)
    assert (settings.name, settings.nested.size) == ("yaml", 3)
    assert isinstance(settings, AppSettings)


def test_replace_settings_validates_and_keeps_secrets() -> None:
    settings = make_settings(AppSettings, config_dir="/nonexistent", nested__token="tok-1234")
    changed = replace_settings(settings, nested__size=5)
    assert changed.nested.size == 5 and changed.nested.token is not None
    assert changed.nested.token.get_secret_value() == "tok-1234"
    with pytest.raises(ConfigurationError, match=r"nested\.size"):
        replace_settings(settings, nested__size="many")


def test_run_job_redacts_secrets_in_captured_events() -> None:
    settings = make_settings(AppSettings, config_dir="/nonexistent", name="n", nested__token="tok-1234")
    result = run_job(App, "Echo", settings=settings)
    assert result.result == "n"
    assert result.event("echo")["token"] == "***"


def test_override_is_undone_on_leaving_and_resets_singletons() -> None:
    container = App()
    first = container.words()
    with override(container, words=["stub"]) as applied:
        assert container.words() == ["stub"]
        assert len(applied.providers) == 1
    assert container.words() is not first  # rebuilt, not the one from before the override
    with pytest.raises(KeyError, match="has no provider 'nope'"):
        override(container, nope=1)


def test_leaks_raise_with_the_result_attached() -> None:
    class Leaky:
        def execute(self) -> None:
            open(__file__)  # noqa: SIM115 - the leak under test

    class LeakyApp(containers.DeclarativeContainer):
        leaky = providers.Factory(Leaky)

    with pytest.raises(LeakError, match="ResourceWarning: unclosed file") as caught:
        run_job(LeakyApp, "Leaky")
    assert caught.value.result.exit_code == 0


def test_capture_events_restores_the_configuration() -> None:
    before = structlog.get_config()["processors"][:]
    with capture_events(Redact()) as events:
        structlog.get_logger("x").info("hello", password="p")
    assert events[0]["password"] == "***"
    assert structlog.get_config()["processors"] == before


def test_run_job_refuses_a_running_event_loop() -> None:
    async def inside() -> None:
        run_job(App, "Echo")

    with pytest.raises(RuntimeError, match="cannot be called from a running"):
        asyncio.run(inside())


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("api.localhost", True),
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", True),
        ("localhost.example.com", False),
        ("127.0.0.1.nip.io", False),
        ("10.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
        ("", False),
    ],
)
def test_what_counts_as_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_guards_nest_and_put_back_exactly_what_they_found(monkeypatch: pytest.MonkeyPatch) -> None:
    def resolver(host: str, port: int, *args: object) -> list[tuple[object, ...]]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)  # a stand-in for the real resolver
    before = (socket.getaddrinfo, socket.gethostbyname, vars(socket.socket).get("connect"))
    with block_network() as outer, block_network() as inner:  # equal guards, still two
        with pytest.raises(NetworkBlockedError, match=r"nowhere\.invalid:443"):
            socket.getaddrinfo("nowhere.invalid", 443)
        assert inner.blocked == ["nowhere.invalid:443"] and outer.blocked == []
    with block_network(["nowhere.invalid"]) as allowing:
        assert socket.getaddrinfo("nowhere.invalid", 443)[0][4] == ("192.0.2.7", 443)  # allowed
        assert allowing.permits("192.0.2.7") and not allowing.permits("192.0.2.8")  # its address too
        assert allowing.blocked == []
    assert (socket.getaddrinfo, socket.gethostbyname, vars(socket.socket).get("connect")) == before
