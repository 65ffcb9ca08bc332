"""Unit tests of the default app's jobs, written with the jobframe testing toolkit only.

The app is the default (``jobs:MainContainer``) and the settings are ``config/default.yaml`` plus
``config/test.yaml`` if present — never the environment. Until pyproject declares the ``pytest11``
entry point, the plugin is registered here; once it does, this is a no-op.
"""

from __future__ import annotations

import pytest

import jobframe.testing.plugin


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.is_registered(jobframe.testing.plugin):
        config.pluginmanager.register(jobframe.testing.plugin, "jobframe")
