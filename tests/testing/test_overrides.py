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

        def test_raw_dependency_injector_api(jobframe_container, jobframe_run):
            jobframe_container.formatter()
            jobframe_container.ledger.override(StubLedger())  # no reset_singletons by the user
            jobframe_run("Greet", {"name": "y"})
            assert StubLedger.lines[-1] == "stub, y"  # the run reset singletons before starting
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=2)


def test_overrides_never_reach_the_next_test(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(
        test_order="""
        import pytest
        from shop.app import Container

        class StubLedger:
            greeting = "stub"
            def write(self, line):
                pass

        def test_1_fixture_override(jobframe_override):
            jobframe_override(ledger=StubLedger())

        def test_2_class_override_by_mistake(jobframe_container):
            Container.ledger.override(StubLedger())

        def test_3_sees_the_real_ledger(jobframe_run):
            assert jobframe_run("Greet", {"name": "z"}).result == {"lines": ["hi, z"]}
            assert not Container.ledger.overridden
        """
    )
    outcome = run_pytest(shop_project, "-p", "no:randomly")
    outcome.assert_outcomes(passed=3, warnings=1)
    outcome.stdout.fnmatch_lines(["*overrode providers on the class Container (undone now*"])


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
