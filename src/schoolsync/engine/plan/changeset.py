"""A ChangeSet: everything one run would write, typed and keyed by entity, plus the change log
and the issues.

The planner fills it without touching the database: new entities as the directory's own row types
(:mod:`schoolsync.domain.directory`), changes to existing ones as an :class:`Update` naming the
fields that change. Only :mod:`schoolsync.engine.apply` knows which table an entity lives in.
Counting happens here so the run report of a dry run and of an applied run are the same numbers
by construction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar

from schoolsync.domain.directory import (
    Directory,
    GroupRow,
    GuardianshipRow,
    LessonRow,
    LinkRow,
    MembershipRow,
    SchoolRow,
    UnitRow,
    UserRow,
)
from schoolsync.domain.issues import Issue

# The report's change groups, in report order (INTERFACE.md), and what each entity counts under.
REPORT_GROUPS = (
    "users",
    "school_links",
    "guardianships",
    "schools",
    "classes",
    "groups",
    "memberships",
    "lessons",
)
ENTITY_GROUP = {
    "user": "users",
    "user_school": "school_links",
    "guardianship": "guardianships",
    "school": "schools",
    "class": "classes",
    "group": "groups",
    "membership": "memberships",
    "lesson": "lessons",
}

Row = TypeVar(
    "Row", SchoolRow, UnitRow, UserRow, LinkRow, GuardianshipRow, GroupRow, MembershipRow, LessonRow
)


_NAMES: dict[tuple[str, ...], tuple[str, ...]] = {}  # each set of detail names, held once


class Change:
    """One row of the change log: what happened to which entity, with its details.

    The details are held as their values only, beside one shared tuple of their names;
    :attr:`details` makes the mapping when it is asked for. A plan's log holds its entries as
    columns (:class:`ChangeLog`) and makes these as it is read.
    """

    __slots__ = ("_names", "_values", "action", "entity", "entity_id")

    def __init__(self, entity: str, entity_id: str, action: str, details: Mapping[str, Any]):
        names = tuple(details)
        self.entity, self.entity_id, self.action = entity, entity_id, action
        self._names = _NAMES.setdefault(names, names)
        self._values = tuple(details.values())

    @classmethod
    def of(
        cls,
        entity: str,
        entity_id: str,
        action: str,
        names: tuple[str, ...],
        values: tuple[Any, ...],
    ) -> Change:
        """A change whose details are these names and values (the caller holds ``names``
        once for all its changes)."""
        change = cls.__new__(cls)
        change.entity, change.entity_id, change.action = entity, entity_id, action
        change._names, change._values = names, values
        return change

    @property
    def details(self) -> dict[str, Any]:
        """The details, name to value."""
        return dict(zip(self._names, self._values, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Change):
            return NotImplemented
        return (self.entity, self.entity_id, self.action, self.details) == (
            other.entity, other.entity_id, other.action, other.details
        )  # fmt: skip

    __hash__ = None  # type: ignore[assignment]  # compared by value, like the dataclass it was

    def __repr__(self) -> str:
        return f"Change({self.entity!r}, {self.entity_id!r}, {self.action!r}, {self.details!r})"


class ChangeLog:
    """A plan's change log, in order: one entry per change a user would notice.

    A first sync makes two million, held until they are written, so the entries are held
    column by column (entity, id, action, and the details as one shared tuple of names beside
    a tuple of values); :class:`Change` objects are made only as the log is read.
    """

    __slots__ = ("_names", "_values", "actions", "entities", "ids")

    def __init__(self) -> None:
        self.entities: list[str] = []
        self.ids: list[str] = []
        self.actions: list[str] = []
        self._names: list[tuple[str, ...]] = []
        self._values: list[tuple[Any, ...]] = []

    def add(
        self,
        entity: str,
        entity_id: str,
        action: str,
        names: tuple[str, ...] = (),
        values: tuple[Any, ...] = (),
    ) -> None:
        """Add an entry whose details are these names and values (the caller holds ``names``
        once for all its entries)."""
        self.entities.append(entity)
        self.ids.append(entity_id)
        self.actions.append(action)
        self._names.append(names)
        self._values.append(values)

    def append(self, change: Change) -> None:
        """Add an entry."""
        self.add(change.entity, change.entity_id, change.action, change._names, change._values)

    def details(self, at: int) -> dict[str, Any]:
        """The details of the entry at a position, name to value."""
        return dict(zip(self._names[at], self._values[at], strict=True))

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[Change]:
        return map(Change.of, self.entities, self.ids, self.actions, self._names, self._values)


@dataclass(frozen=True, slots=True)
class Update:
    """A change to one existing entity: its key and the new values of the fields that change."""

    key: str
    values: Mapping[str, Any]


class EntityChanges(Generic[Row]):
    """The entities of one kind to create, and the updates to existing ones.

    Attributes:
        row_type: The entity's row type; an update may only name its fields.
        created: New entities, complete.
        updated: Changes to existing entities, by key.
    """

    __slots__ = ("_fields", "created", "row_type", "updated")

    def __init__(self, row_type: type[Row]) -> None:
        self.row_type: type[Row] = row_type
        self.created: list[Row] = []
        self.updated: list[Update] = []
        self._fields = frozenset(f.name for f in fields(row_type))

    def create(self, row: Row) -> None:
        """Add a new entity."""
        self.created.append(row)

    def update(self, key: str, values: Mapping[str, Any]) -> None:
        """Add a change to the entity with this key (``values``: the fields that change).

        Raises:
            ValueError: When a field is not one of the entity's (a planning bug).
        """
        unknown = values.keys() - self._fields
        if unknown:
            raise ValueError(f"{self.row_type.__name__} has no fields {sorted(unknown)}")
        self.updated.append(Update(key, values))

    def __len__(self) -> int:
        return len(self.created) + len(self.updated)


@dataclass
class ChangeSet:
    """What one run would write, per entity, with the change log and the issues found.

    Attributes:
        schools, units, users, school_links, guardianships, groups, memberships, lessons: The
            entities to create and update (``groups`` holds classes, teaching groups and mentor
            groups alike).
        log: The change log, one entry per change a user would notice.
        issues: What the run found in the input.
        scrub: Users who became protected (R11), with the texts (name, masked number) to remove
            from the history of earlier runs.
        protected_persons: Register ids of every protected person in the read (R11): issues of
            earlier runs about them are scrubbed.
    """

    schools: EntityChanges[SchoolRow] = field(default_factory=lambda: EntityChanges(SchoolRow))
    units: EntityChanges[UnitRow] = field(default_factory=lambda: EntityChanges(UnitRow))
    users: EntityChanges[UserRow] = field(default_factory=lambda: EntityChanges(UserRow))
    school_links: EntityChanges[LinkRow] = field(default_factory=lambda: EntityChanges(LinkRow))
    guardianships: EntityChanges[GuardianshipRow] = field(
        default_factory=lambda: EntityChanges(GuardianshipRow)
    )
    groups: EntityChanges[GroupRow] = field(default_factory=lambda: EntityChanges(GroupRow))
    memberships: EntityChanges[MembershipRow] = field(
        default_factory=lambda: EntityChanges(MembershipRow)
    )
    lessons: EntityChanges[LessonRow] = field(default_factory=lambda: EntityChanges(LessonRow))
    log: ChangeLog = field(default_factory=ChangeLog)
    issues: list[Issue] = field(default_factory=list)
    scrub: list[tuple[str, list[str]]] = field(default_factory=list)
    protected_persons: set[str] = field(default_factory=set)

    def entities(self) -> Iterator[tuple[str, EntityChanges[Any]]]:
        """Each entity kind with its changes, parents before children (the order of writing)."""
        yield "schools", self.schools
        yield "units", self.units
        yield "users", self.users
        yield "school_links", self.school_links
        yield "guardianships", self.guardianships
        yield "groups", self.groups
        yield "memberships", self.memberships
        yield "lessons", self.lessons

    def record(self, entity: str, entity_id: str, action: str, **details: Any) -> None:
        """Add a change-log entry."""
        names = tuple(details)
        self.log.add(
            entity, entity_id, action, _NAMES.setdefault(names, names), (*details.values(),)
        )

    @property
    def is_empty(self) -> bool:
        """True when the run would write nothing but its run record."""
        return not any(len(c) for _, c in self.entities()) and not self.scrub

    def counts(self) -> dict[str, dict[str, int]]:
        """Changes counted per report group and action (the run report's ``changes``)."""
        per: dict[str, Counter[str]] = {g: Counter() for g in REPORT_GROUPS}
        log = self.log
        for at, (entity, action) in enumerate(zip(log.entities, log.actions, strict=True)):
            lessons = entity == "lesson" and action == "created"
            per[ENTITY_GROUP[entity]][action] += log.details(at).get("lessons", 1) if lessons else 1
        out: dict[str, dict[str, int]] = {}
        for group, counter in per.items():
            base = dict.fromkeys(_BASE_ACTIONS.get(group, ()), 0)
            base.update(sorted(counter.items()))
            out[group] = base
        return out


_BASE_ACTIONS = {
    "users": ("created", "updated", "ended", "reactivated"),
    "school_links": ("created", "updated", "ended", "reactivated"),
    "classes": ("created", "updated", "renamed", "archived"),
    "groups": ("created", "updated", "renamed", "archived"),
    "memberships": ("created", "updated", "ended", "reactivated"),
    "lessons": ("created", "moved", "cancelled", "removed", "updated"),
}


def school_names_after(directory: Directory, changes: ChangeSet) -> dict[str, str]:
    """School id to name once ``changes`` are applied (new and renamed schools included)."""
    names = directory.school_names()
    for update in changes.schools.updated:
        if "name" in update.values:
            names[update.key] = update.values["name"]
    names.update({row.id: row.name for row in changes.schools.created})
    return names
