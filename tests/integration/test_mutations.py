"""Random damage to the example bundle never crashes a sync and never half-applies it (hypothesis).

Each example copies the example bundle, starts from a directory that holds it (SQLite), damages one
to three of its JSON files at random and syncs again, with the safety locks on:

- the only exception a sync may raise is ``SchoolsyncError``, and then the directory is unchanged;
- otherwise the run is ``applied`` or ``held``, and a held run changed nothing;
- when only the persons pages and duties.json were damaged, a user who was active stays active
  unless their own person record was removed or changed into another valid record, or now has a
  securityMarking other than exactly "Ingen" (R11 protects it, readable or not); for a guardian,
  also when that happened to the record of a student who names them; for a teacher, to one of
  their duties. Otherwise a record that cannot be read, or is there twice, ends nobody.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schoolsync.errors import SchoolsyncError
from schoolsync.sources.ss12000.models import Duty, Entity, Person
from tests.conftest import EXAMPLE_BUNDLE, Directory

BOM = b"\xef\xbb\xbf"
HUGE = 300_000
FILES = sorted(p.relative_to(EXAMPLE_BUNDLE).as_posix() for p in EXAMPLE_BUNDLE.rglob("*.json"))
PERSON_FILES = [f for f in FILES if f.startswith("persons/")]
JUDGED_FILES = [*PERSON_FILES, "duties.json"]
# Damage that keeps the file JSON is drawn more often: a file that is no JSON fails the whole run.
KINDS = [
    *["set-field"] * 4,
    *["delete-key"] * 2,
    "duplicate-record",
    "delete-record",
    "reorder",
    "truncate",
    "random-bytes",
    "bom",
]
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.lists(st.integers(min_value=-5, max_value=5) | st.text(max_size=3), max_size=3),
    st.just({}),
    st.just("Å" * HUGE),
)


class Baseline:
    """A directory that holds the example bundle, to copy for each example."""

    def __init__(self, db: Path, export: dict[str, Any]) -> None:
        self.db = db
        self.export = export

    def __repr__(self) -> str:
        return f"Baseline({self.db})"


@dataclass
class Damage:
    """The bundle's files as bytes, and what was done to them."""

    files: dict[str, bytes]
    done: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        for rel, data in self.files.items():
            (folder / rel).write_bytes(data)


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    folder = tmp_path_factory.mktemp("baseline")
    directory = Directory(f"sqlite:///{folder / 'directory.db'}")
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    return Baseline(folder / "directory.db", directory.export())


def _parse(data: bytes) -> Any:
    """A file's JSON as the reader would see it, or None when it cannot be decoded."""
    try:
        return json.loads(data.removeprefix(BOM).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def _records(doc: Any) -> list[Any] | None:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        data: list[Any] = doc["data"]
        return data
    return None


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key and index path below a JSON value."""
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    out = []
    for key, value in children:
        out.append((*prefix, key))
        out.extend(_paths(value, (*prefix, key)))
    return out


def _mutate(damage: Damage, data: st.DataObject, files: list[str]) -> None:
    """Apply one random mutation to one of ``files`` (a no-op when it does not fit the file)."""
    rel = data.draw(st.sampled_from(files), label="file")
    kind = data.draw(st.sampled_from(KINDS), label="mutation")
    raw = damage.files[rel]
    damage.done.append(f"{kind} {rel}")
    if kind == "truncate":
        damage.files[rel] = raw[: data.draw(st.integers(0, max(len(raw) - 1, 0)), label="at")]
        return
    if kind == "random-bytes":
        damage.files[rel] = data.draw(st.binary(min_size=0, max_size=64), label="bytes")
        return
    if kind == "bom":
        damage.files[rel] = BOM + raw
        return
    doc = _parse(raw)
    records = _records(doc)
    if kind == "set-field":
        paths = _paths(doc)
        if not paths:
            return
        path = data.draw(st.sampled_from(paths), label="path")
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = data.draw(VALUES, label="value")
    elif not records:
        return
    elif kind == "delete-key":
        index = data.draw(st.integers(0, len(records) - 1), label="record")
        if not isinstance(records[index], dict) or not records[index]:
            return
        del records[index][data.draw(st.sampled_from(sorted(records[index])), label="key")]
    elif kind == "duplicate-record":
        index = data.draw(st.integers(0, len(records) - 1), label="record")
        twin = copy.deepcopy(records[index])
        records.insert(data.draw(st.integers(0, len(records)), label="to"), twin)
    elif kind == "delete-record":
        del records[data.draw(st.integers(0, len(records) - 1), label="record")]
    elif kind == "reorder":
        records[:] = data.draw(st.permutations(records), label="order")
    damage.files[rel] = json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


def _records_of(files: dict[str, bytes], rels: list[str]) -> list[Any] | None:
    """Every record of some files, or None when one of them cannot be read at all."""
    out: list[Any] = []
    for rel in rels:
        records = _records(_parse(files[rel]))
        if records is None:
            return None
        out.extend(records)
    return out


def _is_readable(model: type[Entity], record: Any) -> bool:
    try:
        model.model_validate(record)
    except ValidationError:
        return False
    return True


def _changed(before: list[Any], after: list[Any], model: type[Entity]) -> set[str]:
    """Ids of records that are gone, or were changed into another readable record.

    A record that cannot be read, or whose id occurs twice, counts as not changed: the engine must
    leave what it says alone.
    """
    found: dict[str, list[Any]] = {}
    for record in after:
        if isinstance(record, dict) and isinstance(record.get("id"), str):
            found.setdefault(record["id"], []).append(record)
    out = set()
    for record in before:
        now = found.get(record["id"], [])
        if not now or (len(now) == 1 and now[0] != record and _is_readable(model, now[0])):
            out.add(record["id"])
        elif model is Person and any(r != record and _marked(r) for r in now):
            out.add(record["id"])  # R11 fail-safe: a marking but exactly "Ingen" protects
    return out


def _marked(record: dict[str, Any]) -> bool:
    """Whether a (damaged) person record now says, or may say, that the person is protected."""
    return record.get("securityMarking") not in (None, "Ingen")


def _may_end(
    original: dict[str, bytes], damaged: dict[str, bytes], judged: list[str]
) -> set[str] | None:
    """Civic numbers whose users the damage may legitimately end; None when it cannot be judged.

    Judged only when nothing but the ``judged`` files (of the persons pages and duties.json)
    changed. A person may end when their person record is gone or was changed into another
    readable record; a guardian also when the record of a student who named them was; a teacher
    also when one of their duties was. A record that cannot be read, or occurs twice, ends nobody.
    """
    if any(original[rel] != damaged[rel] for rel in FILES if rel not in judged):
        return None
    persons = _records_of(original, PERSON_FILES) or []
    duties = _records_of(original, ["duties.json"]) or []
    persons_after = _records_of(damaged, PERSON_FILES)
    duties_after = _records_of(damaged, ["duties.json"])
    if persons_after is None or duties_after is None:
        return set()  # a file that cannot be read: the run must fail, and end nobody
    changed = _changed(persons, persons_after, Person)
    by_id = {p["id"]: p for p in persons}
    guardians = {r["person"]["id"] for pid in changed for r in by_id[pid].get("responsibles", [])}
    gone_duties = _changed(duties, duties_after, Duty)
    teachers = {d["person"]["id"] for d in duties if d["id"] in gone_duties}
    who = changed | guardians | teachers
    return {by_id[pid]["civicNo"]["value"] for pid in who if pid in by_id}


def _active(export: dict[str, Any]) -> set[str]:
    return {u["civic_no"] for u in export["users"] if u["status"] == "active"}


def _damage_and_sync(
    baseline: Baseline, data: st.DataObject, files: list[str], judged: list[str]
) -> None:
    """Damage some of ``files`` at random, sync, and check that nothing was half-applied.

    Endings are judged when only ``judged`` files were damaged.
    """
    original = {rel: (EXAMPLE_BUNDLE / rel).read_bytes() for rel in FILES}
    damage = Damage(dict(original))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        _mutate(damage, data, files)
    with tempfile.TemporaryDirectory() as tmp:
        bundle = Path(shutil.copytree(EXAMPLE_BUNDLE, Path(tmp) / "bundle"))
        damage.write(bundle)
        shutil.copyfile(baseline.db, Path(tmp) / "directory.db")
        directory = Directory(f"sqlite:///{Path(tmp) / 'directory.db'}")
        try:
            result = directory.sync(bundle, allow_mass_changes=False)
        except SchoolsyncError:
            event("refused with SchoolsyncError")
            assert directory.export() == baseline.export, damage.done
            return
        after = directory.export()
    event(f"run {result.status}")
    assert result.status in ("applied", "held"), damage.done
    if result.status == "held":
        assert after == baseline.export, damage.done
    may_end = _may_end(original, damage.files, judged)
    if may_end is not None:
        event("endings judged")
        ended = _active(baseline.export) - _active(after)
        assert ended <= may_end, (damage.done, sorted(ended - may_end))


EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@EXAMPLES
@given(data=st.data())
def test_a_damaged_bundle_never_crashes_and_never_half_applies(
    baseline: Baseline, data: st.DataObject
) -> None:
    # Half of the examples damage only the persons pages, where endings can be judged.
    files = data.draw(st.sampled_from([PERSON_FILES, FILES]), label="files")
    _damage_and_sync(baseline, data, files, judged=PERSON_FILES)


@EXAMPLES
@given(data=st.data())
def test_a_duty_that_cannot_be_read_never_ends_its_teacher(
    baseline: Baseline, data: st.DataObject
) -> None:
    _damage_and_sync(baseline, data, ["duties.json"], judged=JUDGED_FILES)


def test_the_mutation_helpers_find_every_person_and_duty_of_the_example() -> None:
    files = {rel: (EXAMPLE_BUNDLE / rel).read_bytes() for rel in FILES}
    persons = _records_of(files, PERSON_FILES)
    duties = _records_of(files, ["duties.json"])
    assert persons is not None and len(persons) == 17
    assert duties is not None and len(duties) == 5
    assert all(_is_readable(Person, p) for p in persons)
    assert all(_is_readable(Duty, d) for d in duties)
    assert _may_end(files, files, JUDGED_FILES) == set()
