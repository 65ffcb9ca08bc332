"""A module's tests are found from its name (docs/architecture.md, "Where the tests are").

``jobframe/<package>/<module>.py`` is tested in ``tests/<package>/test_<module>.py``, leading
underscores dropped: ``jobframe/_run/interrupts.py`` in ``tests/run/test_interrupts.py``,
``jobframe/braze/_bulk.py`` in ``tests/braze/test_bulk.py``, ``jobframe/deadline.py`` in
``tests/test_deadline.py``. A package's ``__init__.py`` that defines functions or classes is a
module named after its package (``jobframe/_cli/__init__.py`` in ``tests/cli/test_cli.py``); one
that only re-exports is not, and neither is a ``__main__.py``. More files may sit beside the
expected one (``test_safety_net_bounds.py``).

Promises that cross modules have suites named for the promise (:data:`SUITES`). A module tested
only there, or only through a neighbour's file, is on :data:`ELSEWHERE` with where its tests are;
an entry goes when the module gets its own file.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "jobframe"
TESTS = REPO / "tests"

# Folders of tests/ named for a promise rather than a module.
SUITES = {
    "lifecycle": "a run's process promises (exit codes, signals, deadlines, teardown) on real processes",
    "resume": "a killed or retried run continues and never repeats a send: kill, chaos, Argo-retry suites",
    "zoo": "real client libraries run under jobframe",
    "docs": "the guides' examples run as written",
    "jobs": "the default app's example jobs (jobs/), as their users test them",
}

# Modules (a path) or packages (a path ending in "/") without their own test file, each with
# where its tests are: every tests/... path named must exist.
ELSEWHERE = {
    "jobframe/_process/": "the process around a run is tested on real subprocesses in tests/lifecycle "
    "(tests/lifecycle/test_signals.py, tests/lifecycle/test_exit_hooks.py, "
    "tests/lifecycle/test_exit_guard.py)",
    "jobframe/_run/": "a run meeting signals, deadlines, forks and stuck jobs is a process promise: "
    "tests/lifecycle/test_matrix.py (job shapes x events) and tests/lifecycle; "
    "its pure decisions in tests/run",
    "jobframe/_cli/": "the command line on real processes: tests/cli/test_cli.py, "
    "tests/cli/test_contract.py (--help, --list), tests/cli/test_bad_input.py",
    "jobframe/_app/discovery.py": "finding a container's jobs: tests/app/test_check.py, "
    "tests/app/test_wiring.py",
    "jobframe/_app/loaded.py": "loaded values against what a build hands them to: "
    "tests/app/test_check_vs_build.py, tests/app/test_check_vs_run.py",
    "jobframe/_app/lookups.py": "item lookups in x.provided chains: tests/app/test_check_vs_build.py, "
    "tests/app/test_check_vs_run.py",
    "jobframe/_app/loading.py": "--app MODULE:ATTR and its one-line errors: tests/app/test_config_errors.py",
    "jobframe/_app/provided.py": "what a provider provides, as --check reads it: tests/app/test_check.py",
    "jobframe/_app/spec.py": "@job and JobSpec: tests/app/test_params.py, tests/app/test_deployment.py",
    "jobframe/_teardown/instrument.py": "closed in the reverse of the order really entered in: "
    "tests/lifecycle/test_teardown.py; a resource still entering: tests/teardown/test_registry.py",
    "jobframe/argo/": "jobframe-argo end to end: tests/argo/test_render.py, tests/argo/test_lint.py and "
    "tests/argo/test_lint_classes.py (every rule, on manifests), tests/argo/test_controller_semantics.py, "
    "tests/argo/test_fanout.py",
    "jobframe/braze/fake/": "the fake Braze answers every test in tests/braze; as a server in "
    "tests/braze/test_jobs_against_server.py",
    "jobframe/braze/_errors.py": "each failure's exception and exit code: tests/braze/test_exchange.py, "
    "tests/braze/test_retries.py",
    "jobframe/braze/_operations.py": "each endpoint's requests and results: tests/braze/test_client_base.py, "
    "tests/braze/test_models.py",
    "jobframe/braze/_results.py": "typed responses and aggregated results: tests/braze/test_models.py",
    "jobframe/http/": "the settings reaching both clients and NetworkModule: tests/http/test_clients.py; "
    "a transport failure as 75: tests/app/test_wiring.py",
    "jobframe/kafka/": "the producer resource with its settings and module: tests/kafka/test_producer.py",
    "jobframe/ledger/": "the policy, fingerprints and store behind what a resumed attempt is told: "
    "tests/ledger/test_ledger.py (mutation-tested); the settings in tests/ledger/test_module.py",
    "jobframe/observe/report.py": "the one report at a run's end: tests/observe/test_pushgateway.py, "
    "tests/observe/test_tracing.py, tests/observe/test_push_contents.py",
    "jobframe/testing/": "the plugin and its helpers, used by pytester projects: tests/testing/test_runs.py, "
    "tests/testing/test_helpers.py and the rest of tests/testing",
    "jobframe/_counted.py": "Counted: tests/observe/test_progress.py, tests/ledger/test_ledger.py",
    "jobframe/_digest.py": "the canonical digest: tests/ledger/test_ledger.py (mutation-tested)",
    "jobframe/embed.py": "the embedding API's names: tests/test_package.py; runs through it in "
    "tests/http/test_clients.py",
    "jobframe/errors.py": "each error's exit code: tests/test_exit_codes.py",
    "jobframe/files.py": "--output and the progress file, written atomically: "
    "tests/lifecycle/test_outputs.py, tests/observe/test_progress.py",
    "jobframe/progress.py": "the old import path of Progress and Counted (re-exports): "
    "tests/observe/test_progress.py",
    "jobframe/settings_origin.py": "where a bad value came from: tests/test_settings_errors.py",
    "jobframe/stacks.py": "where code is, in loop.blocked and process.lingering: "
    "tests/lifecycle/test_hostile.py, tests/lifecycle/test_exit_hooks.py",
    "jobframe/validation.py": "pydantic errors as short lines: tests/test_settings_errors.py, "
    "tests/app/test_params.py",
}

_CITED = re.compile(r"tests/[\w/.]*\w")


def _holds_code(init: Path) -> bool:
    """Whether a package's ``__init__.py`` defines anything beyond lazy re-exports."""
    tree = ast.parse(init.read_text(encoding="utf-8"))
    defined = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(
        isinstance(node, defined) and node.name not in {"__getattr__", "__dir__"} for node in tree.body
    )


def modules() -> dict[str, Path]:
    """Every module of jobframe/ (as ``jobframe/...py``) and the test file its name points to."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(REPO)
        packages = [part.lstrip("_") for part in relative.parts[1:-1]]
        name = path.stem
        if name == "__main__":
            continue
        if name == "__init__":
            if not packages or not _holds_code(path):
                continue
            name = packages[-1]
        found[relative.as_posix()] = TESTS.joinpath(*packages, f"test_{name.lstrip('_')}.py")
    return found


def _exemption(module: str) -> str | None:
    return next(
        (key for key in ELSEWHERE if module == key or (key.endswith("/") and module.startswith(key))), None
    )


def _without_own_file() -> list[str]:
    return [module for module, test in modules().items() if not test.exists()]


def test_every_module_has_its_test_file_or_says_where_its_tests_are() -> None:
    missing = [
        f"{module}: tests in {modules()[module].relative_to(REPO)} (or on ELSEWHERE, with where they are)"
        for module in _without_own_file()
        if _exemption(module) is None
    ]
    assert not missing, "\n".join(missing)


def test_every_exemption_names_tests_that_exist() -> None:
    wrong = []
    for key, where in ELSEWHERE.items():
        cited = _CITED.findall(where)
        if not cited:
            wrong.append(f"{key}: names no tests/... path")
        wrong.extend(f"{key}: {path} does not exist" for path in cited if not (REPO / path).exists())
    assert not wrong, "\n".join(wrong)


def test_every_exemption_is_still_needed() -> None:
    needed = {_exemption(module) for module in _without_own_file()}
    stale = [key for key in ELSEWHERE if key not in needed]
    assert not stale, (
        f"every module these cover has its own test file now; delete them from ELSEWHERE: {stale}"
    )


def test_the_rule_maps_names_as_documented() -> None:
    found = modules()
    assert found["jobframe/_run/interrupts.py"] == TESTS / "run" / "test_interrupts.py"
    assert found["jobframe/braze/_bulk.py"] == TESTS / "braze" / "test_bulk.py"
    assert found["jobframe/deadline.py"] == TESTS / "test_deadline.py"
    assert found["jobframe/_cli/__init__.py"] == TESTS / "cli" / "test_cli.py"
    assert found["jobframe/scaffold/__init__.py"] == TESTS / "scaffold" / "test_scaffold.py"
    assert "jobframe/braze/__init__.py" not in found  # lazy re-exports only
    assert "jobframe/__main__.py" not in found


def test_every_folder_of_tests_is_named_for_a_module_or_a_promise() -> None:
    folders = [path.name for path in TESTS.iterdir() if path.is_dir() and any(path.rglob("*.py"))]
    packages = {path.name.lstrip("_") for path in PACKAGE.iterdir() if (path / "__init__.py").exists()}
    stray = sorted(set(folders) - packages - SUITES.keys())
    assert not stray, f"folders named for neither a package of jobframe/ nor a suite in SUITES: {stray}"
