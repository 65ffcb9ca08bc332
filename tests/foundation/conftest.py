"""An app package written to a temp directory: proves ``--app`` works for code outside this repo."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

APP = '''
"""acme_jobs: a user's own app, unknown to jobframe."""
import logging

from dependency_injector import containers, providers
from pydantic import BaseModel, ConfigDict, Field, SecretStr

import jobframe


class Db(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "localhost"
    password: SecretStr | None = None


class AcmeSettings(jobframe.Settings):
    a: str = "code"
    b: str = "code"
    c: str = "code"
    d: str = "code"
    e: str = "code"
    db: Db = Db()
    api_token: SecretStr | None = None


class EchoParams(BaseModel):
    count: int = 1
    names: list[str] = Field(default_factory=list)
    ratio: float = 0.5


class Echo:
    """Return the settings and params it was given."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def execute(self, params: EchoParams) -> dict:
        s = self.settings
        return {"a": s.a, "b": s.b, "c": s.c, "d": s.d, "e": s.e, "db_host": s.db.host,
                "count": params.count, "names": params.names, "ratio": params.ratio}


class Fail:
    """Raise an unexpected error."""

    def execute(self) -> None:
        raise ValueError("the numbers do not add up")


class Transient:
    """Raise a retryable error."""

    def execute(self) -> None:
        raise jobframe.RetryableError("upstream busy, try later")


class Chatty:
    """Log through stdlib logging and structlog, secrets included."""

    def __init__(self, settings: AcmeSettings) -> None:
        self.settings = settings

    def execute(self) -> None:
        token = self.settings.api_token.get_secret_value() if self.settings.api_token else ""
        logging.getLogger("acme.lib").info("calling with token %s", token)
        jobframe.get_logger("acme").info("request", headers={"Authorization": "Bearer " + token}, url="/x")
        raise RuntimeError(f"failed with {token}")


class NeedsClient:
    """Needs a client the container forgets to pass."""

    def __init__(self, client: object, retries: int) -> None:
        self.client = client

    def execute(self) -> None:
        pass


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AcmeSettings)
    echo = providers.Factory(Echo, settings=settings)
    fail = providers.Factory(Fail)
    transient = providers.Factory(Transient)
    chatty = providers.Factory(Chatty, settings=settings)


class Broken(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=AcmeSettings)
    missing = providers.Dependency(instance_of=int)
    echo = providers.Factory(Echo, settings=settings)
    needs_client = providers.Factory(NeedsClient, retries=missing)
'''


@pytest.fixture
def ext_app(tmp_path: Path) -> Path:
    """A directory holding package ``acme_jobs`` and its ``config/`` profiles."""
    pkg = tmp_path / "acme_jobs"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(APP))
    config = tmp_path / "config"
    config.mkdir()
    (config / "default.yaml").write_text("a: default\nb: default\nc: default\nd: default\ne: default\n")
    (config / "local.yaml").write_text("b: local\nc: local\nd: local\ne: local\n")
    (config / "production.yaml").write_text("db:\n  host: db.prod\n")
    return tmp_path
