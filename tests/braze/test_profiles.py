"""The fake Braze is used only by profiles that ask for it; a deployed profile never falls back to it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_cli

CONFIG = REPO / "config"


def _braze(profile: str) -> dict[str, object]:
    return (yaml.safe_load((CONFIG / f"{profile}.yaml").read_text()) or {}).get("braze") or {}


def test_only_local_and_test_profiles_select_the_fake() -> None:
    assert "base_url" not in _braze("default")  # nothing for a new profile to inherit by accident
    assert _braze("local")["base_url"] == _braze("test")["base_url"] == "fake://braze"
    assert str(_braze("production")["base_url"]).startswith("https://rest.")


@pytest.mark.parametrize(
    "staging",
    [
        "braze:\n  max_concurrency: 4\n",  # forgot base_url
        "{}\n",  # an empty profile
        "http:\n  timeouts:\n    read: 10\n",
    ],
)
@pytest.mark.process
def test_a_deployed_profile_without_base_url_fails_at_settings_load(tmp_path: Path, staging: str) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    (config / "staging.yaml").write_text(staging)

    ran = run_cli(["--job-name", "SomeJob", "--env", "staging", "--config-dir", str(config)])

    assert ran.code == 78, ran.stdout + ran.stderr
    assert "braze.base_url" in ran.stderr and "required" in ran.stderr.lower()
    assert not ran.named("job.started") and not ran.named("braze.fake_in_use")
    assert "Traceback" not in ran.stderr


@pytest.mark.process
def test_the_local_profile_runs_offline_on_the_fake() -> None:
    ran = run_cli(["--job-name", "SomeJob", "--env", "local"])
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.one("braze.fake_in_use")["base_url"] == "fake://braze"
