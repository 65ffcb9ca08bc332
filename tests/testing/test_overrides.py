"""Overrides in a user's tests: stubs, settings, whole modules, the Singleton trap, no leakage."""

from __future__ import annotations

import pytest

from .conftest import run_pytest


def test_a_hand_written_stub_replaces_a_resource(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_stub="""
        class StubLedger:
            greeting = "stub"
            def __init__(self):
                self.lines = []
            def write(self, line):
                self.lines.append(line)

        def test_stub(jobframe_run, jobframe_override):
            stub = StubLedger()
            jobframe_override(ledger=stub)
            result = jobframe_run("Greet", {"name": "Ada"})
            assert stub.lines == ["stub, Ada"]  # the Formatter singleton saw the stub, not the real one
            assert result.resources_opened == []
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_a_singleton_built_before_the_override_is_not_reused(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_trap="""
        from jobframe.testing import override

        class StubLedger:
            greeting = "stub"
            lines = []
            def write(self, line):
                self.lines.append(line)

        def test_override_helper(jobframe_container, jobframe_run):
            jobframe_container.formatter()  # built now, with the real ledger ("hi")
            with override(jobframe_container, ledger=StubLedger()):
                assert jobframe_container.formatter().greeting == "stub"
                assert jobframe_run("Greet", {"name": "x"}).result == {"lines": ["stub, x"]}
            assert jobframe_container.ledger().__class__.__name__ == "Ledger"  # undone on leaving
            jobframe_container.shutdown_resources()  # the test opened the ledger: it closes it

        def test_raw_dependency_injector_api(jobframe_container, jobframe_run):
            jobframe_container.formatter()
            jobframe_container.ledger.override(StubLedger())  # no reset_singletons by the user
            jobframe_run("Greet", {"name": "y"})
            assert StubLedger.lines[-1] == "stub, y"  # the run reset singletons before starting
            jobframe_container.ledger.reset_last_overriding()
            jobframe_container.ledger.shutdown()
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=2)


def test_overrides_never_reach_the_next_test(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_order="""
        from shop.app import Container

        class StubLedger:
            greeting = "stub"
            def write(self, line):
                pass

        def test_1_fixture_override(jobframe_override):
            jobframe_override(ledger=StubLedger())

        def test_2_sees_the_real_ledger(jobframe_run):
            assert jobframe_run("Greet", {"name": "z"}).result == {"lines": ["hi, z"]}
            assert not Container.ledger.overridden
        """
    )
    run_pytest(shop_project, "-p", "no:randomly").assert_outcomes(passed=2)


CLASS_OVERRIDES = r"""
import pytest
from dependency_injector import containers, providers
from jobframe.testing import ClassOverrideError
from shop.app import LEDGERS, Container

class StubLedger:
    greeting = "stub"
    def write(self, line):
        pass

def test_a_run_after_a_class_override_fails_at_once(jobframe_run):
    Container.ledger.override(StubLedger())
    with pytest.raises(ClassOverrideError) as error:
        jobframe_run("Greet", {"name": "z"})
    assert LEDGERS == []  # the real service never ran
    assert not Container.ledger.overridden  # undone
    print(error.value)

def test_a_nested_module_provider(jobframe_run):
    Container.braze.client.override(object())
    with pytest.raises(ClassOverrideError, match=r"Container\.braze\.client overridden.*braze__client="):
        jobframe_run("Notify", {"users": ["a"]})
    assert not Container.braze.client.overridden

def test_jobframe_override_refuses_too(jobframe_override):
    Container.formatter.override(providers.Object(None))
    with pytest.raises(ClassOverrideError, match="Container.formatter"):
        jobframe_override(ledger=StubLedger())

def test_without_a_run_the_teardown_fails(jobframe_container):
    Container.ledger.override(StubLedger())

def test_the_class_is_clean_again(jobframe_run):
    assert not Container.ledger.overridden and not Container.formatter.overridden
    assert jobframe_run("Greet", {"name": "z"}).result == {"lines": ["hi, z"]}
"""


def test_an_override_on_the_container_class_is_an_error_at_once(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(test_class=CLASS_OVERRIDES)
    outcome = run_pytest(shop_project, "-p", "no:randomly", "-s")
    outcome.assert_outcomes(passed=5, errors=1)
    outcome.stdout.fnmatch_lines(
        [
            "*Container.ledger overridden on the container class: this test's runs use its own instance "
            "(jobframe_container), so they would ignore it, and it would leak into later tests (undone now). "
            "Override the instance: jobframe_override(ledger=...) or "
            "jobframe_container.ledger.override(...)*",
            "*ERROR at teardown of test_without_a_run_the_teardown_fails*",
            "*ClassOverrideError: Container.ledger overridden on the container class*",
        ]
    )


def test_override_a_setting_and_a_whole_module(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_module="""
        from dependency_injector import containers, providers
        from jobframe.testing import replace_settings

        class Sent:
            recipients = 0

        class StubBraze:
            def __init__(self):
                self.calls = []
            def send_message(self, messages, external_user_ids):
                self.calls.append(external_user_ids)
                return type("R", (), {"recipients": len(external_user_ids)})()

        def test_module(jobframe_run, jobframe_override):
            stub = StubBraze()
            module = containers.DynamicContainer()
            module.client = providers.Object(stub)
            jobframe_override(braze=module)
            assert jobframe_run("Notify", {"users": ["a", "b"]}).result == 2
            assert stub.calls == [["a", "b"]]

        def test_setting(jobframe_run, jobframe_override, jobframe_settings):
            jobframe_override(settings=replace_settings(jobframe_settings, greeting="yo"))
            assert jobframe_run("Greet", {"name": "b"}).result == {"lines": ["yo, b"]}

        def test_unknown_path(jobframe_override):
            import pytest
            with pytest.raises(KeyError, match="braze has no provider 'clinet'.*client"):
                jobframe_override(braze__clinet=object())
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=3)
