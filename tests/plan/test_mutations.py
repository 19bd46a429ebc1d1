"""Random damage to the example bundle never crashes a sync and never half-applies it, at the plan
level (hypothesis; what is promised is in ``tests/damage.py``).

Each example syncs a damaged copy of the example bundle into an in-memory directory that holds
it, so many more examples run than on a database. ``tests/integration/test_mutations.py`` keeps a
few on SQLite, where a run that stops or is held must leave the stored directory as it was.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schoolsync.domain.directory import Directory
from schoolsync.engine.run import RunResult
from schoolsync.errors import SchoolsyncError
from schoolsync.sources.ss12000.models import Duty, Person
from tests.conftest import EXAMPLE_BUNDLE
from tests.damage import (
    FILES,
    JUDGED_FILES,
    ORIGINAL,
    PERSON_FILES,
    Sync,
    active,
    damage_and_sync,
    examples,
    is_readable,
    may_end,
    records_of,
)
from tests.plan.harness import PlanDirectory

EXAMPLES = examples(300)


class Baseline:
    """The in-memory directory that holds the example bundle, its export, and a folder for the
    damaged copies."""

    def __init__(self, state: Directory, export: dict[str, Any], folder: Path) -> None:
        self.state = state
        self.export = export
        self.folder = folder

    def __repr__(self) -> str:
        return "Baseline(example bundle)"

    def sync(self) -> Sync:
        """A sync into a directory that starts as this one (the state is never changed)."""

        def run(bundle: Path) -> tuple[str | None, dict[str, Any]]:
            directory = PlanDirectory(self.state)
            try:
                result = directory.sync(bundle, allow_mass_changes=False)
            except SchoolsyncError:
                return None, directory.export()
            return result.status, directory.export()

        return run


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    directory = PlanDirectory()
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    return Baseline(directory.state, directory.export(), tmp_path_factory.mktemp("damaged"))


@EXAMPLES
@given(data=st.data())
def test_a_damaged_bundle_never_crashes_and_never_half_applies(
    baseline: Baseline, data: st.DataObject
) -> None:
    # Half of the examples damage only the persons pages, where endings can be judged.
    files = data.draw(st.sampled_from([PERSON_FILES, FILES]), label="files")
    damage_and_sync(data, files, PERSON_FILES, baseline.export, baseline.sync(), baseline.folder)


@EXAMPLES
@given(data=st.data())
def test_a_duty_that_cannot_be_read_never_ends_its_teacher(
    baseline: Baseline, data: st.DataObject
) -> None:
    damage_and_sync(
        data, ["duties.json"], JUDGED_FILES, baseline.export, baseline.sync(), baseline.folder
    )


def test_the_mutation_helpers_find_every_person_and_duty_of_the_example() -> None:
    files = dict(ORIGINAL)
    persons = records_of(files, PERSON_FILES)
    duties = records_of(files, ["duties.json"])
    assert persons is not None and len(persons) == 17
    assert duties is not None and len(duties) == 5
    assert all(is_readable(Person, p) for p in persons)
    assert all(is_readable(Duty, d) for d in duties)
    assert may_end(files, files, JUDGED_FILES) == set()


def sync_edited(
    baseline: Baseline, tmp_path: Path, name: str, edit: Callable[[list[Any]], None]
) -> tuple[PlanDirectory, RunResult]:
    """A copy of the example bundle whose file ``name`` had its records edited, synced into
    the directory that holds the example."""
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE_BUNDLE, bundle)
    doc = json.loads((bundle / name).read_text(encoding="utf-8"))
    edit(doc["data"])
    (bundle / name).write_text(json.dumps(doc), encoding="utf-8")
    directory = PlanDirectory(baseline.state)
    return directory, directory.sync(bundle)


def test_r3_1_a_group_listed_twice_once_unreadably_is_left_as_it_is(
    baseline: Baseline, tmp_path: Path
) -> None:
    # Found by the damage above: the readable copy of the record must not make a second group of
    # the name beside the one its unreadable copy leaves as it is.
    directory, result = sync_edited(
        baseline, tmp_path, "groups.json", lambda g: g.insert(0, {**g[0], "displayName": None})
    )
    assert result.status == "applied"
    assert not any(result.changes["classes"].values())
    assert not any(result.changes["groups"].values())
    assert [i.code for i in result.issues if i.code == "invalid-record"] == ["invalid-record"]
    assert directory.export() == baseline.export


def test_r3_1_an_unreadable_duty_naming_no_known_person_ends_no_teacher(
    baseline: Baseline, tmp_path: Path
) -> None:
    # Found by the damage above: a duty that cannot be read (no dutyAt) whose person reference
    # is damaged too cannot be told to be anyone's, so no teacher loses a link for it.
    def damage(duties: list[Any]) -> None:
        duties[2]["person"]["id"] = "0"
        del duties[2]["dutyAt"]

    directory, result = sync_edited(baseline, tmp_path, "duties.json", damage)
    assert result.status == "applied"
    assert active(directory.export()) == active(baseline.export)
    assert [i.code for i in result.issues if i.code == "invalid-record"] == ["invalid-record"]
