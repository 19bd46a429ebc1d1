"""Random damage to the example bundle never half-applies a sync into a database (hypothesis,
SQLite; what is promised is in ``tests/damage.py``).

Each example copies a directory database that holds the example bundle and syncs a damaged copy
of the bundle into it: a run that stops or is held leaves the stored directory as it was. The
many examples (and the teachers' duties) run at the plan level, in memory
(``tests/plan/test_mutations.py``); these few check the database's side.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schoolsync.errors import SchoolsyncError
from tests.conftest import EXAMPLE_BUNDLE, Directory
from tests.damage import FILES, PERSON_FILES, Sync, damage_and_sync, examples


class Baseline:
    """A directory that holds the example bundle, to copy for each example."""

    def __init__(self, db: Path, export: dict[str, Any], folder: Path) -> None:
        self.db = db
        self.export = export
        self.folder = folder

    def __repr__(self) -> str:
        return f"Baseline({self.db})"

    def sync(self) -> Sync:
        """A sync into a fresh copy of the database."""

        def run(bundle: Path) -> tuple[str | None, dict[str, Any]]:
            with tempfile.TemporaryDirectory(dir=self.folder) as tmp:
                shutil.copyfile(self.db, Path(tmp) / "directory.db")
                directory = Directory(f"sqlite:///{Path(tmp) / 'directory.db'}")
                try:
                    result = directory.sync(bundle, allow_mass_changes=False)
                except SchoolsyncError:
                    return None, directory.export()
                return result.status, directory.export()

        return run


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    folder = tmp_path_factory.mktemp("baseline")
    directory = Directory(f"sqlite:///{folder / 'directory.db'}")
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    return Baseline(folder / "directory.db", directory.export(), folder)


@examples(30)
@given(data=st.data())
def test_a_damaged_bundle_never_crashes_and_never_half_applies(
    baseline: Baseline, data: st.DataObject
) -> None:
    # Half of the examples damage only the persons pages, where endings can be judged.
    files = data.draw(st.sampled_from([PERSON_FILES, FILES]), label="files")
    damage_and_sync(data, files, PERSON_FILES, baseline.export, baseline.sync(), baseline.folder)
