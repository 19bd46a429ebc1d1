"""Invariants of any sync, checked on random registers on SQLite (hypothesis; the invariants are
in ``tests/random_registers.py``).

The many examples run at the plan level, in memory (``tests/plan/test_properties.py``); these
few count the rows of the tables ("no sync deletes a row") and go through the store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Directory
from tests.random_registers import check_invariants, examples, registers

pytestmark = pytest.mark.slow  # property tests: CI runs them; `make test-quick` skips them


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("registers")


@examples(10)
@given(a=registers(), b=registers(), days=st.integers(0, 60))
def test_sync_invariants_on_random_registers(
    folder: Path, a: dict[str, Any], b: dict[str, Any], days: int
) -> None:
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        root = Path(tmp)
        check_invariants(a, b, days, lambda name: Directory(f"sqlite:///{root / name}.db"), folder)
