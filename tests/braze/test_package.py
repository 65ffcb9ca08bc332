"""``jobframe.braze`` loads its names on first use: a job pays only for what it touches."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest
from pydantic import BaseModel

import jobframe.braze
import jobframe.http


def _loaded_after(statement: str) -> set[str]:
    code = (
        f"import sys; {statement}; print(' '.join(m for m in sys.modules if m.startswith('jobframe.braze')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.process
def test_importing_the_package_loads_no_client() -> None:
    assert _loaded_after("import jobframe.braze") == {"jobframe.braze"}


@pytest.mark.process
def test_a_sync_client_never_loads_the_async_one() -> None:
    loaded = _loaded_after("from jobframe.braze import BrazeClient, BrazeModule, BrazeSettings")
    assert {"jobframe.braze._sync", "jobframe.braze._module", "jobframe.braze._settings"} <= loaded
    assert "jobframe.braze._async" not in loaded


@pytest.mark.parametrize("name", jobframe.braze.__all__)
def test_every_public_name_resolves_and_is_listed(name: str) -> None:
    value = getattr(jobframe.braze, name)
    assert getattr(jobframe.braze, name) is value
    assert name in dir(jobframe.braze)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        jobframe.braze.Nope  # noqa: B018


def _models_inside(model: type[BaseModel]) -> set[type[BaseModel]]:
    """Every pydantic model a field of ``model`` holds, recursively (``X``, ``X | None``, ``list[X]``)."""
    found: set[type[BaseModel]] = set()
    for field in model.model_fields.values():
        for candidate in (field.annotation, *typing.get_args(field.annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel) and candidate not in found:
                found |= {candidate, *_models_inside(candidate)}
    return found


_SETTINGS_MODELS = sorted(_models_inside(jobframe.braze.BrazeSettings), key=lambda m: m.__name__)


@pytest.mark.parametrize("model", _SETTINGS_MODELS)
def test_every_settings_model_inside_braze_settings_is_public(model: type[BaseModel]) -> None:
    """A user building ``BrazeSettings`` in code (or a test) imports each part from a public package."""
    public = {getattr(jobframe.braze, n) for n in jobframe.braze.__all__} | {
        getattr(jobframe.http, n) for n in jobframe.http.__all__
    }
    assert model in public, f"{model.__name__} is not exported from jobframe.braze or jobframe.http"
