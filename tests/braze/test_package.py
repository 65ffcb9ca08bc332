"""``jobframe.braze`` loads its names on first use: a job pays only for what it touches."""

from __future__ import annotations

import subprocess
import sys

import pytest

import jobframe.braze


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
