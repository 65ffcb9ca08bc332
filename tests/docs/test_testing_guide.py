"""docs/testing.md runs: its example project is written out and every command in it is run.

The quick test uses this interpreter (jobframe as installed for development); the slow one is the
guide as a new user meets it: jobframe built into a wheel, installed by the guide's own
``pip install`` into a fresh virtualenv, and the project's tests run there.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .guide import parse, run

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "testing.md"


def test_every_block_of_the_guide_is_a_file_or_a_command() -> None:
    guide = parse(GUIDE.read_text())
    assert "acme/container.py" in guide.files and "tests/test_price_drop.py" in guide.files
    assert [c.line for c in guide.commands] == [
        'pip install "jobframe[test]"',
        "pytest demo/test_forgot_the_fake.py",
        "pytest demo/test_leaky.py",
        "pytest",
    ]


@pytest.mark.process
def test_the_guide_runs(tmp_path: Path) -> None:
    ran = run(parse(GUIDE.read_text()), tmp_path, sys.executable)
    assert ran[0].startswith("skipped: pip install") and len(ran) == 4


@pytest.mark.slow
def test_the_guide_runs_for_a_new_user_with_jobframe_from_a_wheel(tmp_path: Path) -> None:
    dist, venv, project = tmp_path / "dist", tmp_path / "venv", tmp_path / "acme"
    project.mkdir()
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)]
    subprocess.run(build, check=True, capture_output=True, timeout=600)
    (wheel,) = dist.glob("jobframe-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = str(venv / "bin" / "python")

    ran = run(parse(GUIDE.read_text()), project, python, wheel=wheel)

    assert len(ran) == 4 and not any(line.startswith("skipped") for line in ran)
    where = subprocess.run(
        [python, "-c", "import jobframe; print(jobframe.__file__)"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(str(venv)), where  # the wheel's jobframe, not this checkout's
