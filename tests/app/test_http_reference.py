"""docs/http.md documents every HttpSettings field with its real default (in-process)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jobframe.http import HttpSettings, PoolLimits, Timeouts

DOC = (Path(__file__).resolve().parents[2] / "docs" / "http.md").read_text()
ROWS = dict(re.findall(r"^\| `([a-z_.]+)` \| [^|]+ \| ([^|]+) \|", DOC, flags=re.MULTILINE))


def _keys(model: type[BaseModel], prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        nested = field.annotation
        if nested in (Timeouts, PoolLimits):
            found |= _keys(nested, f"{prefix}{name}.")
        else:
            found[f"{prefix}{name}"] = field.get_default(call_default_factory=True)
    return found


def test_every_field_has_a_row_and_no_row_names_a_field_that_does_not_exist() -> None:
    assert set(ROWS) == set(_keys(HttpSettings))


def test_each_row_states_the_real_default() -> None:
    for key, default in _keys(HttpSettings).items():
        shown = ROWS[key].strip().strip("`")
        if isinstance(default, bool):
            assert shown == str(default).lower(), key
        elif isinstance(default, int | float):
            assert float(shown) == default, key
        elif default == "":
            assert shown.startswith('""'), key
        else:
            assert shown == "{}" and default == {}, key
