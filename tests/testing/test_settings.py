"""Which app and which settings a test gets: explicit, and never the developer's environment."""

from __future__ import annotations

import pytest

from .conftest import run_pytest


def test_settings_come_from_the_test_profile_only(shop_project: pytest.Pytester) -> None:
    # shop_project exports GREETING, BRAZE__BASE_URL and JOBFRAME_ENV and writes a .env: none counts.
    shop_project.makepyfile(
        test_settings="""
        def test_profile(jobframe_settings, jobframe_run):
            assert jobframe_settings.greeting == "hi"
            assert jobframe_settings.braze.base_url == "fake://braze"
            assert jobframe_run("Greet", {"name": "Ada"}).result == {"lines": ["hi, Ada"]}
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_without_a_test_profile_default_yaml_and_class_defaults_are_used(
    shop_project: pytest.Pytester,
) -> None:
    shop_project.path.joinpath("config", "test.yaml").unlink()
    shop_project.makepyfile(
        test_settings="""
        def test_defaults(jobframe_settings):
            assert jobframe_settings.greeting == "hello"
            assert jobframe_settings.braze.base_url == "https://rest.iad-01.braze.com"
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_a_conftest_chooses_the_settings_for_every_test(shop_project: pytest.Pytester) -> None:
    shop_project.makeconftest(
        """
        import pytest
        from jobframe.testing import make_settings
        from shop.app import ShopSettings

        @pytest.fixture
        def jobframe_settings(jobframe_config_dir):
            return make_settings(ShopSettings, config_dir=jobframe_config_dir, greeting="hey")
        """
    )
    shop_project.makepyfile(
        test_settings="""
        def test_conftest_settings(jobframe_run):
            assert jobframe_run("Greet", {"name": "Ada"}).result == {"lines": ["hey, Ada"]}
        """
    )
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_invalid_test_settings_error_names_the_field(shop_project: pytest.Pytester) -> None:
    shop_project.path.joinpath("config", "test.yaml").write_text("braze:\n  base_url: ftp://nope\n")
    shop_project.makepyfile(
        test_settings="""
        def test_needs_settings(jobframe_settings):
            pass
        """
    )
    outcome = run_pytest(shop_project)
    outcome.assert_outcomes(errors=1)
    outcome.stdout.fnmatch_lines(["*invalid test settings for ShopSettings*", "*braze.base_url*"])


APP_TEST = """
def test_app(jobframe_app):
    assert sorted(jobframe_app.jobs) == {expected!r}
"""

OTHER_APP = """
from dependency_injector import containers, providers

class Hello:
    '''Say hello.'''
    def execute(self) -> str:
        return "hello"

class Other(containers.DeclarativeContainer):
    hello = providers.Factory(Hello)
"""


def test_app_choice_option_then_ini_then_environment(
    shop_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop_project.makepyfile(other=OTHER_APP)
    shop_project.makepyfile(test_app=APP_TEST.format(expected=["Hello"]))
    monkeypatch.setenv("JOBFRAME_APP", "shop.app:Container")
    run_pytest(shop_project, "--jobframe-app", "other:Other").assert_outcomes(passed=1)

    shop_project.makeini("[pytest]\njobframe_app = other:Other\n")
    run_pytest(shop_project).assert_outcomes(passed=1)  # the ini wins over JOBFRAME_APP

    shop_project.makeini("[pytest]\n")
    monkeypatch.setenv("JOBFRAME_APP", "other:Other")
    run_pytest(shop_project).assert_outcomes(passed=1)


def test_an_app_without_settings_runs_with_none(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(other=OTHER_APP)
    shop_project.makepyfile(
        test_other="""
        def test_other(jobframe_settings, jobframe_run):
            assert jobframe_settings is None
            assert jobframe_run("Hello").result == "hello"
        """
    )
    run_pytest(shop_project, "--jobframe-app", "other:Other").assert_outcomes(passed=1)


def test_a_missing_app_module_is_a_clear_error(shop_project: pytest.Pytester) -> None:
    shop_project.makepyfile(test_app="def test_app(jobframe_app):\n    pass\n")
    outcome = run_pytest(shop_project, "--jobframe-app", "nowhere:Main")
    outcome.assert_outcomes(errors=1)
    outcome.stdout.fnmatch_lines(["*no module named 'nowhere'*"])
