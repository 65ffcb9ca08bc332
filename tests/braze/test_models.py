"""Request and response models (``_models``, ``_results``): built lazily, and every one builds.

The models are declared with ``defer_build=True`` so importing ``jobframe.braze`` builds no pydantic
schema; a schema that cannot be built would then only fail at the first use, inside a run. Forcing
the build of every exported model here catches that at test time.
"""

from __future__ import annotations

import types

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


@pytest.mark.parametrize("model", EXPORTED + INTERNAL, ids=lambda m: m.__name__)
def test_no_default_is_made_by_a_builtin(model: type[pydantic.BaseModel]) -> None:
    """``Field(default_factory=list)`` makes pydantic's first build of the model ask for ``list``'s
    signature, parsed from its text with :mod:`tokenize`'s regular expressions: ~2 ms of a Braze
    job's start (docs/benchmarks.md, "Startup"). An empty ``[]``/``{}`` default is copied per
    instance by pydantic instead."""
    builtins = [
        name
        for name, field in model.model_fields.items()
        if isinstance(field.default_factory, type | types.BuiltinFunctionType)
    ]
    assert builtins == [], f"{model.__name__}: default_factory of {builtins}: give an empty default"


def test_an_empty_default_is_a_new_list_for_each_answer() -> None:
    first, second = _results.SendResult(), _results.SendResult()
    first.add(_results.SendResponse(dispatch_id="d-1", notice="paused"), size=2)
    assert (first.dispatch_ids, first.notices) == (["d-1"], ["paused"])
    assert (second.dispatch_ids, second.notices) == ([], [])
    assert _results.SendResult().dispatch_ids == []
    pages = [_operations.CampaignPage(), _operations.CampaignPage()]
    pages[0].campaigns.append(_results.CampaignSummary(id="c", name="n"))
    assert pages[1].campaigns == []
    assert _results.CampaignDetails(name="x").messages is not _results.CampaignDetails(name="y").messages
