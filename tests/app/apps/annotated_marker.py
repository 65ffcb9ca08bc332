"""A job whose ``@inject`` marker sits in ``Annotated`` with no default.

No ``from __future__ import annotations`` here, on purpose: dependency-injector reads the marker
from the annotation object itself, and a string annotation hides it (the twin in
``tests/app/test_check_vs_build.py`` is that case).
"""

from typing import Annotated

from dependency_injector.wiring import Provide, inject

from tests.app.apps.probes import Store


class CountAnnotated:
    """Count the store an ``Annotated`` marker hands over: no default, and no missing argument."""

    @inject
    def __init__(self, store: Annotated[Store, Provide["store"]]) -> None:
        self.store = store

    def execute(self) -> int:
        return self.store.count()
