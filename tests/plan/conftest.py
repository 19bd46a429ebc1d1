"""Rule tests at the plan level: the ``directory`` fixture here is an in-memory directory.

It overrides the database-backed ``directory`` of ``tests/conftest.py`` for the tests of this
folder, with the same ``sync``/``export``/``user`` API, so a rule test reads the same here and
in ``tests/integration`` (which keeps a thin end-to-end set on SQLite and PostgreSQL).
"""

from __future__ import annotations

import pytest

from tests.plan.harness import PlanDirectory


@pytest.fixture
def directory() -> PlanDirectory:
    """An empty directory, in memory (no database)."""
    return PlanDirectory()
