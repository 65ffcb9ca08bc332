"""Request and response models (``_models``, ``_results``): built lazily, and every one builds.

The models are declared with ``defer_build=True`` so importing ``jobframe.braze`` builds no pydantic
schema; a schema that cannot be built would then only fail at the first use, inside a run. Forcing
the build of every exported model here catches that at test time.
"""

from __future__ import annotations

import pydantic
import pytest

import jobframe.braze
from jobframe.braze import _operations, _results

EXPORTED = [
    value
    for name in jobframe.braze.__all__
    if isinstance(value := getattr(jobframe.braze, name), type)
    and issubclass(value, pydantic.BaseModel)
    and value.__module__ != "jobframe.braze._settings"  # settings validate at startup: built eagerly
]
INTERNAL = [_results.SendResponse, _results.TrackResponse, _operations.CampaignPage]


def test_every_exported_model_is_found() -> None:
    names = {model.__name__ for model in EXPORTED}
    assert {"Messages", "Recipient", "UserAttributes", "TrackResult", "CampaignSummary"} <= names
    assert len(EXPORTED) == 14


@pytest.mark.parametrize("model", EXPORTED + INTERNAL, ids=lambda m: m.__name__)
def test_each_model_defers_its_schema_and_builds_when_forced(model: type[pydantic.BaseModel]) -> None:
    assert model.model_config.get("defer_build") is True
    assert model.model_rebuild(force=True) is True
    assert model.__pydantic_complete__
    assert model.model_json_schema()["title"] == model.__name__
