"""Run a guide: every fenced block is a file of the example project or a command run in it.

* A block whose first line is ``# <path>`` (Python, TOML, YAML) is written to that path.
* A ``console`` block holds ``$ <command>`` lines, each followed by the output it must print:
  ``...`` alone skips any lines, ``...`` inside a line matches anything; each line must appear
  within an output line, in order.
  A command whose expected output reports ``failed`` or ``error`` must exit 1, any other 0.
* Any other block is an error: a guide block nobody runs could drift.

Commands: ``pytest ARGS`` (run with the given interpreter) and ``pip install REQ`` (installs
``jobframe[...]`` from a wheel when one is given, skipped otherwise).
"""

from __future__ import annotations

import fnmatch
import os
import re
import shlex
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.MULTILINE | re.DOTALL)
PATH_LINE = re.compile(r"^# ([\w./-]+\.(?:py|toml|yaml|yml|ini|cfg))\s*$")


@dataclass
class Command:
    line: str
    expected: list[str]


@dataclass
class Guide:
    files: dict[str, str] = field(default_factory=dict)
    commands: list[Command] = field(default_factory=list)


def parse(markdown: str) -> Guide:
    guide = Guide()
    for lang, body in FENCE.findall(markdown):
        first = body.splitlines()[0] if body.strip() else ""
        path = PATH_LINE.match(first)
        if path is not None:
            assert path.group(1) not in guide.files, f"the guide writes {path.group(1)} twice"
            guide.files[path.group(1)] = body
        elif lang == "console":
            for chunk in re.split(r"^\$ ", body, flags=re.MULTILINE)[1:]:
                line, *expected = chunk.rstrip("\n").split("\n")
                guide.commands.append(Command(line.strip(), expected))
        else:
            raise AssertionError(f"a {lang or 'plain'} block that is neither a file nor a command:\n{body}")
    return guide


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JOBFRAME_", "BRAZE__", "HTTP__", "ARGO_", "PYTEST_")) and k != "PYTHONPATH"
    }


def check_output(command: Command, output: str, code: int) -> None:
    lines = output.splitlines()
    position = 0
    for want in command.expected:
        if want.strip() == "...":
            continue
        pattern = "*" + want.strip().replace("...", "*") + "*"
        for index in range(position, len(lines)):
            if fnmatch.fnmatchcase(lines[index], pattern):
                position = index + 1
                break
        else:
            raise AssertionError(f"`{command.line}` did not print {want!r}; it printed:\n{output}")
    failing = any(re.search(r"\d+ (failed|error)", want) for want in command.expected)
    assert code == (1 if failing else 0), f"`{command.line}` exited {code}:\n{output}"


def run(guide: Guide, project: Path, python: str, wheel: Path | None = None) -> list[str]:
    """Write the files, run the commands; returns the commands run (``pip`` ones too, or skipped)."""
    for path, body in guide.files.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    ran = []
    for command in guide.commands:
        words = shlex.split(command.line)
        if words[:2] == ["pip", "install"]:
            if wheel is None:
                ran.append(f"skipped: {command.line}")
                continue
            requirements = [re.sub(r"^jobframe(?=\[|$)", str(wheel), w) for w in words[2:]]
            argv = [python, "-m", "pip", "install", "--quiet", *requirements]
        elif words[0] == "pytest":
            argv = [python, "-m", "pytest", "-p", "no:cacheprovider", *words[1:]]
        else:
            raise AssertionError(f"the guide runs a command this harness does not know: {command.line}")
        proc = subprocess.run(
            argv, cwd=project, env=_clean_env(), capture_output=True, text=True, timeout=300, check=False
        )
        check_output(command, proc.stdout + proc.stderr, proc.returncode)
        ran.append(command.line)
    return ran
