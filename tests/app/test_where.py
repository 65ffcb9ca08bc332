"""One line saying where the app's code failed (``where``) — even when the error cannot be printed:
an import, a container's creation or a build that raises an error whose ``str`` raises is still
its one-line usage/configuration error, naming the error's type and the app's line."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
from dependency_injector import containers

from jobframe._app.discovery import App
from jobframe._app.loading import load_app, where
from jobframe.errors import ConfigurationError, UsageError


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class UnprintableAttributeError(AttributeError):
    """An ``AttributeError`` (whose ``obj`` ``where`` reads) that cannot be printed either."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    @property
    def obj(self) -> object:  # type: ignore[override]
        raise RuntimeError("no obj")


def _raise(error: BaseException) -> None:
    raise error


@pytest.mark.parametrize("error", [UnprintableError, UnprintableAttributeError])
def test_an_error_that_cannot_be_printed_is_named_with_its_place(error: type[Exception]) -> None:
    try:
        _raise(error())
    except Exception as exc:
        line = where(exc)
    name = error.__qualname__
    assert line.startswith(f"{name}: <unprintable {name}: RuntimeError> ({__file__}:"), line


def test_an_import_raising_an_unprintable_error_is_one_usage_line(tmp_path: Path) -> None:
    module = f"unprintable_{uuid.uuid4().hex}"
    (tmp_path / f"{module}.py").write_text(
        "class Bad(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\n\nraise Bad\n"
    )
    with pytest.raises(UsageError, match=r"importing .* failed: Bad: <unprintable Bad: RuntimeError> \("):
        load_app(f"{module}:Container", search_path=tmp_path)


class Empty(containers.DeclarativeContainer):
    pass


def test_a_container_raising_an_unprintable_error_is_one_configuration_line() -> None:
    class Broken:
        """Stands for a container class whose creation runs the app's code (a ``Configuration``)."""

        def __init__(self) -> None:
            raise UnprintableError

    app = dataclasses.replace(App.from_container(Empty), container_cls=Broken)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"cannot create .*Broken: UnprintableError: <unprintable"):
        app.create()
