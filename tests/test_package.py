"""What the package promises: the lock agrees with the ranges; the public names are the documented ones."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import jobframe
import jobframe.embed
from tests.conftest import REPO


def pins() -> dict[str, tuple[Version, list[str]]]:
    text = (REPO / "requirements.lock").read_text()
    found = {}
    for match in re.finditer(
        # name==version, an optional environment marker (`; implementation_name != 'pypy'`), hashes
        r"^([A-Za-z0-9_.-]+)==([^\s;]+)(?:\s*;[^\\\n]*)?((?:\s*\\\n\s+--hash=sha256:[0-9a-f]{64})*)",
        text,
        re.M,
    ):
        name, version, hashes = match.groups()
        found[canonicalize_name(name)] = (Version(version), re.findall(r"[0-9a-f]{64}", hashes))
    return found


def test_every_dependency_is_pinned_within_its_range_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    locked = pins()
    # the image installs jobframe[postgres] (the run ledger's PostgreSQL store) from the lock too
    for line in [*project["dependencies"], *project["optional-dependencies"]["postgres"]]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run bash .ci/lock"
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} vs {requirement}"
        )
        assert hashes, f"{name} has no hash"
        for extra in requirement.extras:  # pydantic-settings[yaml] needs pyyaml locked too
            assert extra != "yaml" or "pyyaml" in locked


def test_every_pin_in_the_lock_has_hashes() -> None:
    assert all(hashes for _, hashes in pins().values())


def test_a_new_apps_dependency_range_admits_this_version() -> None:
    template = (REPO / "jobframe/scaffold/template/pyproject.toml.tmpl").read_text()
    (line,) = re.findall(r'"(jobframe[^"]*)"', template)
    assert Requirement(line).specifier.contains(Version(jobframe.__version__))


def documented(package: str) -> list[str]:
    """The names docs/api.md lists for ``package``: the first column of its table."""
    text = (REPO / "docs/api.md").read_text()
    block = text.split(f"<!-- public: {package} -->", 1)[1].split("<!-- end public -->", 1)[0]
    cells = [row.split("|")[1] for row in block.splitlines() if row.startswith("| `")]
    return sorted(name for cell in cells for name in re.findall(r"`([^`]+)`", cell))


def test_jobframe_exports_exactly_what_job_authors_are_documented_to_get() -> None:
    assert sorted(dir(jobframe)) == documented("jobframe")
    assert sorted(jobframe.__all__) == documented("jobframe")
    for name in jobframe.__all__:
        assert getattr(jobframe, name) is not None


def test_jobframe_inputs_exports_exactly_what_is_documented() -> None:
    import jobframe.inputs  # noqa: PLC0415

    assert sorted(jobframe.inputs.__all__) == documented("jobframe.inputs")


def test_jobframe_embed_exports_exactly_what_embedders_are_documented_to_get() -> None:
    assert sorted(dir(jobframe.embed)) == documented("jobframe.embed")
    assert sorted(jobframe.embed.__all__) == documented("jobframe.embed")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("App", "jobframe.embed.App"),
        ("load_app", "jobframe.embed.load_app"),
        ("RunOptions", "jobframe.embed.RunOptions"),
        ("RunResult", "jobframe.embed.RunResult"),
        ("run_job", "jobframe.embed.run"),
        ("SettingsSources", "jobframe.embed.SettingsSources"),
        ("load_settings", "jobframe.embed.load_settings"),
        ("Resources", "jobframe.PodResources"),
        ("JobSpec", "jobframe.embed.App.jobs"),
    ],
)
def test_a_name_that_moved_says_where_it_went(old: str, new: str) -> None:
    with pytest.raises(AttributeError, match=re.escape(new)):
        getattr(jobframe, old)


def test_an_unknown_name_is_a_plain_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        jobframe.nothing_here  # noqa: B018
