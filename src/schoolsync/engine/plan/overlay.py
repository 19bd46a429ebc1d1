"""The directory as it will be once a change set is applied (pure): what the tables would hold.

:func:`apply_changes` does to a :class:`~schoolsync.domain.directory.Directory` what
:func:`schoolsync.engine.apply.write_changes` does to the tables: created rows are added, updates
set the fields they name, nothing is deleted. The result is what
:func:`schoolsync.store.load.load_directory` would read after the run, so a run can be planned,
applied and planned again without a database (the plan-level tests do exactly that).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from schoolsync.domain.directory import Directory
from schoolsync.engine.plan.changeset import ChangeSet, EntityChanges

# Per entity of a change set: the Directory attribute, the row field an update's key names (the
# table's primary key), and the key the Directory holds the row under.
_ENTITIES: dict[str, tuple[str, str, Callable[[Any], Hashable]]] = {
    "schools": ("schools", "id", lambda r: r.key),
    "units": ("units", "register_id", lambda r: r.register_id),
    "users": ("users", "id", lambda r: r.id),
    "school_links": ("links", "id", lambda r: (r.user_id, r.school_id, r.role)),
    "guardianships": ("guardianships", "id", lambda r: (r.guardian_id, r.student_id)),
    "groups": ("groups", "id", lambda r: r.id),
    "memberships": ("memberships", "id", lambda r: (r.group_id, r.user_id, r.role)),
    "lessons": ("lessons", "id", lambda r: (r.source, r.source_key)),
}
# The tables' other unique constraints, checked on the result (a plan that breaks one would fail
# on the database too).
_UNIQUE: dict[str, tuple[str, ...]] = {
    "users": ("civic_no",),
    "schools": ("name",),
    "groups": ("school_id", "kind", "name"),
}


def apply_changes(
    directory: Directory,
    changes: ChangeSet,
    sources: Iterable[Mapping[str, Any]] | None = None,
) -> Directory:
    """The directory once ``changes`` are applied; ``directory`` itself is not changed.

    Args:
        directory: The directory as it stands.
        changes: A run's changes (``Plan.changes``).
        sources: The run's sources as the run report names them (``Plan.sources``): when one is
            an SS 12000 register, its record counts become ``register_counts``, as they would
            for the next run once this one is recorded as applied. None keeps them.

    Returns:
        A new Directory. Rows that change are copies; rows that do not are shared with
        ``directory`` (neither is changed here). ``merged_from`` is kept: only ``user merge``
        changes it, and a run never does.

    Raises:
        ValueError: When a created row has the id of an existing one, or the result holds two
            rows under one unique key (the database would refuse the run).
    """
    out = Directory(
        lesson_counts=dict(directory.lesson_counts),
        register_counts=dict(directory.register_counts),
        merged_from={k: list(v) for k, v in directory.merged_from.items()},
    )
    for entity, entities in changes.entities():
        attribute, pk, key = _ENTITIES[entity]
        rows = _apply(entity, getattr(directory, attribute), entities, pk, key)
        if entity in _UNIQUE:
            _check_unique(entity, rows.values(), _UNIQUE[entity])
        setattr(out, attribute, rows)
    for lesson in changes.lessons.created:
        out.lesson_counts[lesson.source] = out.lesson_counts.get(lesson.source, 0) + 1
    if sources is not None:
        for source in sources:
            if source.get("format") == "ss12000":
                records = source.get("records")
                out.register_counts = dict(records) if isinstance(records, Mapping) else {}
                break
    return out


def _apply(
    entity: str,
    rows: Mapping[Any, Any],
    entities: EntityChanges[Any],
    pk: str,
    key: Callable[[Any], Hashable],
) -> dict[Any, Any]:
    """One entity's rows after its inserts, then its updates (the order write_changes uses)."""
    by_pk: dict[Any, Any] = {getattr(row, pk): row for row in rows.values()}
    for row in entities.created:
        row_id = getattr(row, pk)
        if row_id in by_pk:
            raise ValueError(f"{entity}: a created row has the {pk} {row_id!r} of an existing one")
        by_pk[row_id] = replace(row)
    for update in entities.updated:
        row = by_pk.get(update.key)
        if row is not None:  # an UPDATE that matches no row writes nothing
            by_pk[update.key] = replace(row, **update.values)
    out: dict[Any, Any] = {}
    for row in by_pk.values():
        row_key = key(row)
        if row_key in out:
            raise ValueError(f"{entity}: two rows under one key {row_key!r}")
        out[row_key] = row
    return out


def _check_unique(entity: str, rows: Iterable[Any], fields: tuple[str, ...]) -> None:
    seen: set[tuple[Any, ...]] = set()
    for row in rows:
        value = tuple(getattr(row, f) for f in fields)
        if value in seen:
            raise ValueError(f"{entity}: two rows with one {'/'.join(fields)} {value!r}")
        seen.add(value)
