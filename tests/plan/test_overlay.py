"""``apply_changes``: the directory once a plan is applied, in memory.

Planning the same read again on the overlaid directory must find nothing to do (a second sync
of the same input changes nothing), and the overlay never changes the directory it is given.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from schoolsync.domain.directory import Directory
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan import plan_run
from schoolsync.engine.plan.changeset import ChangeSet
from schoolsync.engine.plan.overlay import apply_changes
from schoolsync.generate import generate_bundle
from schoolsync.sources.detect import read_sources
from tests.builder import school
from tests.conftest import EXAMPLE_BUNDLE, TODAY
from tests.plan.harness import PlanDirectory


@pytest.fixture(scope="module")
def municipality(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The generated tiny municipality: its bundle and its schedules."""
    out = tmp_path_factory.mktemp("kommun")
    generate_bundle(out, "tiny", seed=3, today=TODAY)
    return [out, *sorted((out / "schedule").glob("*.txt"))]


def _replan(paths: list[Path], today: date, start: Directory | None = None) -> None:
    read = read_sources(paths, lambda _n: None)
    directory = start or Directory()
    first = plan_run(read, directory, Settings(), today)
    assert not first.changes.is_empty
    after = apply_changes(directory, first.changes, first.sources)
    again = plan_run(read, after, Settings(), today)
    assert again.changes.is_empty, again.changes.counts()
    assert again.locks == []
    assert apply_changes(after, again.changes, again.sources) == after


def test_replanning_the_example_bundle_on_the_overlay_changes_nothing() -> None:
    _replan([EXAMPLE_BUNDLE], date(2025, 9, 1))


def test_replanning_the_generated_municipality_on_the_overlay_changes_nothing(
    municipality: list[Path],
) -> None:
    _replan(municipality, TODAY)


def test_replanning_after_a_later_day_changes_nothing(municipality: list[Path]) -> None:
    """Updates (endings, archiving, moved lessons) are overlaid as well as creations."""
    read = read_sources(municipality, lambda _n: None)
    first = plan_run(read, Directory(), Settings(), TODAY)
    base = apply_changes(Directory(), first.changes, first.sources)
    later = plan_run(read, base, Settings(), date(2026, 6, 20))
    assert later.changes.users.updated or later.changes.groups.updated
    _replan(municipality, date(2026, 6, 20), base)


def test_apply_changes_leaves_its_input_as_it_was(municipality: list[Path]) -> None:
    read = read_sources(municipality, lambda _n: None)
    first = plan_run(read, Directory(), Settings(), TODAY)
    base = apply_changes(Directory(), first.changes, first.sources)
    frozen = copy.deepcopy(base)
    later = plan_run(read, base, Settings(), date(2026, 6, 20))
    after = apply_changes(base, later.changes, later.sources)
    assert base == frozen and after != base


def test_register_and_lesson_counts_are_kept_as_the_next_run_would_load_them() -> None:
    read = read_sources([EXAMPLE_BUNDLE], lambda _n: None)
    plan = plan_run(read, Directory(), Settings(), date(2025, 9, 1))
    after = apply_changes(Directory(), plan.changes, plan.sources)
    (register,) = [s for s in plan.sources if s["format"] == "ss12000"]
    assert after.register_counts == register["records"] and after.register_counts["persons"]
    assert after.lesson_counts == {"ss12000": 6}
    kept = apply_changes(after, ChangeSet(), None)  # no sources: no register read
    assert kept.register_counts == after.register_counts


def test_a_created_row_with_an_existing_id_is_refused(tmp_path: Path) -> None:
    b, _ = school()
    directory = PlanDirectory()
    directory.sync(b.write(tmp_path / "a"))
    existing = next(iter(directory.state.users.values()))
    changes = ChangeSet()
    changes.users.create(copy.copy(existing))
    with pytest.raises(ValueError, match="existing one"):
        apply_changes(directory.state, changes)
    twin = ChangeSet()
    twin.users.create(replace(existing, id="another"))
    with pytest.raises(ValueError, match="civic_no"):
        apply_changes(directory.state, twin)
