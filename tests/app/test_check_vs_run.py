"""``--check`` against a real run, on almost-right apps (``apps/probes.py``), each a real process.

The promise (README, "--check: what it proves"): a wiring ``--check`` calls ok is one a run can
build, and what it refuses a run refuses the same way before the job starts — 78, the same
lines, nothing logged.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, Ran, run_cli

pytestmark = pytest.mark.process

CONFIG = ["--config-dir", str(Path(__file__).resolve().parent / "apps" / "probes_config")]

FAULTS = {
    "ResourceInitArgument": "count_items.store: StoreResource.init: missing a required argument: 'dsn'",
    "Circular": "count_items: circular dependency: count_items -> store -> count_items",
    "WrongObject": (
        "count_items: CountItems(store: tests.app.apps.probes.Store) is given count_items.store, "
        "which provides tests.app.apps.probes.Other"
    ),
    "WrongModuleDependency": (
        "module.store: Dependency(instance_of=tests.app.apps.probes.Store) is given Factory, "
        "which provides tests.app.apps.probes.Other"
    ),
    "UnsetSection": "settings.provided.store.extra.path: settings store.extra is None, which has no 'path'",
    "AsyncWrapperOverSync": (
        "count_items.store: an async provider (make_store), reached by a sync execute(): "
        "make execute() async, or provide a sync resource"
    ),
    "ConfigurationText": (
        "count_items.store: SizedStore(size: int) is given config.store.size, which holds a value of type str"
    ),
    "MissingKey": (
        "settings.provided.store.paths['mian']: settings.provided.store.paths has no key 'mian' "
        "(did you mean 'main'?); its keys: main"
    ),
    "DelegatedWhereInstance": (
        "count_items: CountItems(store: tests.app.apps.probes.Store) is given count_items.store, "
        "which provides dependency_injector.providers.DelegatedFactory"
    ),
    "UnsetLabel": (
        "count_items.store: Store(path) is given settings store.label, which is None here: "
        "it does not take None"
    ),
}
GOOD = {
    "GoodResourceInitArgument": {"items": len("/srv/store")},
    "GoodSyncWrapperOverAsync": {"items": len("async")},
    "GoodResource": {"items": len("/srv/store")},
    "GoodConfigurationAsInt": {"items": 41},
    "GoodKey": {"items": len("/srv/main")},
}


def jobframe(container: str, *args: str) -> Ran:
    return run_cli(["--app", f"tests.app.apps.probes:{container}", *CONFIG, *args], cwd=REPO)


@pytest.mark.parametrize(("container", "line"), list(FAULTS.items()), ids=list(FAULTS))
def test_what_check_refuses_a_run_refuses_the_same_way(container: str, line: str) -> None:
    checked = jobframe(container, "--check")
    assert checked.code == 78, (checked.code, checked.stderr)
    assert checked.stderr == f"jobframe: error: wiring check failed:\n  CountItems: {line}\n"
    ran = jobframe(container, "--job-name", "CountItems")
    assert (ran.code, ran.stderr) == (78, checked.stderr)
    assert ran.events == [], "refused before anything is built or logged"


@pytest.mark.parametrize(("container", "result"), list(GOOD.items()), ids=list(GOOD))
def test_what_check_passes_runs(container: str, result: dict[str, int]) -> None:
    checked = jobframe(container, "--check")
    assert (checked.code, checked.stdout) == (0, "ok: settings valid (local), 1 job wired: CountItems\n")
    ran = jobframe(container, "--job-name", "CountItems")
    assert ran.code == 0, ran.stderr
    assert ran.one("job.finished")["result"] == result
