"""Invariants of any sync, checked on random registers at the plan level (hypothesis; the
invariants are in ``tests/random_registers.py``).

In memory, so many more examples run than on a database; ``tests/integration/test_properties.py``
keeps a few on SQLite, where "no sync deletes a row" is counted in the tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.plan.harness import PlanDirectory
from tests.random_registers import check_invariants, examples, registers

pytestmark = pytest.mark.slow  # property tests: CI runs them; `make test-quick` skips them


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registers")


@examples(150)
@given(a=registers(), b=registers(), days=st.integers(0, 60))
def test_sync_invariants_on_random_registers(
    folder: Path, a: dict[str, Any], b: dict[str, Any], days: int
) -> None:
    check_invariants(a, b, days, lambda _name: PlanDirectory(), folder)
