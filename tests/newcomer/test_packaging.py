"""The lock and the ranges agree, offline: every dependency is pinned, within its range, with hashes."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

import jobframe
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
