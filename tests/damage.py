"""Random damage to the example bundle (hypothesis), for the mutation tests at both levels
(``tests/plan/test_mutations.py`` and ``tests/integration/test_mutations.py``).

Each example damages one to three of the example bundle's JSON files and syncs the damaged copy
into a directory that holds the example bundle, with the safety locks on; :func:`damage_and_sync`
then checks what the tests promise:

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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, event, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from schoolsync.sources.ss12000.models import Duty, Entity, Person
from tests.conftest import EXAMPLE_BUNDLE

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


@dataclass
class Damage:
    """The bundle's files as bytes, and what was done to them."""

    files: dict[str, bytes]
    done: list[str] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        for rel, data in self.files.items():
            (folder / rel).write_bytes(data)


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


def mutate(damage: Damage, data: st.DataObject, files: list[str]) -> None:
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


def records_of(files: dict[str, bytes], rels: list[str]) -> list[Any] | None:
    """Every record of some files, or None when one of them cannot be read at all."""
    out: list[Any] = []
    for rel in rels:
        records = _records(_parse(files[rel]))
        if records is None:
            return None
        out.extend(records)
    return out


def is_readable(model: type[Entity], record: Any) -> bool:
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
        if not now or (len(now) == 1 and now[0] != record and is_readable(model, now[0])):
            out.add(record["id"])
        elif model is Person and any(r != record and _marked(r) for r in now):
            out.add(record["id"])  # R11 fail-safe: a marking but exactly "Ingen" protects
    return out


def _marked(record: dict[str, Any]) -> bool:
    """Whether a (damaged) person record now says, or may say, that the person is protected."""
    return record.get("securityMarking") not in (None, "Ingen")


def may_end(
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
    persons = records_of(original, PERSON_FILES) or []
    duties = records_of(original, ["duties.json"]) or []
    persons_after = records_of(damaged, PERSON_FILES)
    duties_after = records_of(damaged, ["duties.json"])
    if persons_after is None or duties_after is None:
        return set()  # a file that cannot be read: the run must fail, and end nobody
    changed = _changed(persons, persons_after, Person)
    by_id = {p["id"]: p for p in persons}
    guardians = {r["person"]["id"] for pid in changed for r in by_id[pid].get("responsibles", [])}
    gone_duties = _changed(duties, duties_after, Duty)
    teachers = {d["person"]["id"] for d in duties if d["id"] in gone_duties}
    who = changed | guardians | teachers
    return {by_id[pid]["civicNo"]["value"] for pid in who if pid in by_id}


def active(export: dict[str, Any]) -> set[str]:
    return {u["civic_no"] for u in export["users"] if u["status"] == "active"}


ORIGINAL = {rel: (EXAMPLE_BUNDLE / rel).read_bytes() for rel in FILES}

# A sync of a damaged bundle into a copy of the directory that holds the example bundle: the run's
# status (None when it stopped with a SchoolsyncError) and the export after it.
Sync = Callable[[Path], tuple[str | None, dict[str, Any]]]


def damage_and_sync(
    data: st.DataObject,
    files: list[str],
    judged: list[str],
    before: dict[str, Any],
    sync: Sync,
    folder: Path,
) -> None:
    """Damage some of ``files`` at random, sync, and check that nothing was half-applied.

    Args:
        data: Hypothesis's draws.
        files: The files of the example bundle that may be damaged.
        judged: Endings are judged when only these files were damaged.
        before: The export of the directory that holds the example bundle.
        sync: Syncs the damaged bundle.
        folder: Where the damaged bundle is written, reused from one example to the next
            (damage changes the bytes of the bundle's files, never which files there are).
    """
    damage = Damage(dict(ORIGINAL))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        mutate(damage, data, files)
    bundle = folder / "bundle"
    if not bundle.is_dir():
        shutil.copytree(EXAMPLE_BUNDLE, bundle)
    damage.write(bundle)
    status, after = sync(bundle)
    if status is None:
        event("refused with SchoolsyncError")
        assert after == before, damage.done
        return
    event(f"run {status}")
    assert status in ("applied", "held"), damage.done
    if status == "held":
        assert after == before, damage.done
    ends = may_end(ORIGINAL, damage.files, judged)
    if ends is not None:
        event("endings judged")
        ended = active(before) - active(after)
        assert ended <= ends, (damage.done, sorted(ended - ends))


def examples(n: int) -> Any:
    """Hypothesis settings for ``n`` examples (no deadline: a sync's time varies)."""
    return settings(
        max_examples=n,
        deadline=None,
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
