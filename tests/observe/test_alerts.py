"""The alert rules docs/observability.md shows are valid and fire when they say (promtool)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

HERE = Path(__file__).resolve().parent
DOC = REPO / "docs" / "observability.md"


def _rules_from_the_doc() -> str:
    blocks = re.findall(r"^```yaml\n(.*?)^```$", DOC.read_text(), flags=re.M | re.S)
    rules = [block for block in blocks if block.startswith("groups:")]
    assert len(rules) == 1, "docs/observability.md shows one block of alert rules"
    return rules[0]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        why = "promtool is not installed (bash .ci/pushgateway installs Debian's prometheus)"
        if os.environ.get("JOBFRAME_REQUIRE_PUSHGATEWAY") == "1":
            pytest.fail(why)
        pytest.skip(why)
    return found


@pytest.mark.process
def test_the_documented_alert_rules_fire_when_they_say(tmp_path: Path) -> None:
    promtool = _promtool()
    (tmp_path / "rules.yaml").write_text(_rules_from_the_doc())
    shutil.copy(HERE / "alerts_test.yaml", tmp_path)
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "alerts_test.yaml"]):
        done = subprocess.run([promtool, *args], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "SUCCESS" in done.stdout
