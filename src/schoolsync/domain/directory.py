"""The directory's current state as plain, mutable rows: what the planner compares against.

Loaded once per run by :mod:`schoolsync.store.load`, keyed the way the rules look things up. A
run's lessons may instead be loaded one source at a time, while the planner compares that source
(:meth:`Directory.lessons_of`): a big school year has millions, and they then never all wait in
memory at once; of each, only a digest is read until the planner asks for the whole row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(slots=True)
class SchoolRow:
    id: str
    key: str
    name: str


@dataclass(slots=True)
class UnitRow:
    register_id: str
    school_id: str
    code: str | None
    name: str
    school_types: list[str]


@dataclass(slots=True)
class UserRow:
    id: str
    civic_no: str
    register_id: str | None
    given_name: str
    middle_name: str | None
    family_name: str
    birth_date: date | None
    sex: str | None
    email: str | None
    mobile: str | None
    # The register's addresses and identifiers as JSON text (records.json_text): a user's text is a
    # fraction of the lists and dicts it stands for, and it is compared in one step.
    addresses: str
    identifiers: str
    signature: str | None
    status: str
    protected: bool = False
    merged_into: str | None = None  # ``user merge``: the account kept


@dataclass(slots=True)
class LinkRow:
    """A user's link to a school in one role (student, teacher, staff, guardian)."""

    id: str
    user_id: str
    school_id: str
    role: str
    start_date: date | None
    end_date: date | None
    signature: str | None


@dataclass(slots=True)
class GuardianshipRow:
    """A guardian's link to a student (vårdnadshavare, god man, ...)."""

    id: str
    guardian_id: str
    student_id: str
    relation: str
    end_date: date | None


@dataclass(slots=True)
class GroupRow:
    """A class, teaching group, mentor group or other group of the directory."""

    id: str
    school_id: str
    kind: str
    name: str
    register_id: str | None
    register_type: str
    subject: str | None
    course: str | None
    activities: list[str]
    start_date: date | None
    end_date: date | None
    status: str
    register_name: str | None = None  # what the register still calls it (renamed here first)


@dataclass(slots=True)
class MembershipRow:
    """A user's membership of a group in one role, with dates."""

    id: str
    group_id: str
    user_id: str
    role: str
    start_date: date | None
    end_date: date | None


@dataclass(slots=True)
class LessonRow:
    """A dated lesson of the directory, tied to a group or kept with the reason it is not."""

    id: str
    source: str
    source_key: str
    school_id: str | None
    group_name: str
    group_id: str | None
    class_id: str | None
    subject: str | None
    teachers: list[str]
    start: datetime
    end: datetime
    room: str | None
    cancelled: bool
    removed: bool
    problem: str | None
    digest: int | None = None  # of the fields after source_key (the planner's); None: unknown


Brief = tuple[int | None, datetime, bool]  # a held lesson's digest, start and removed flag


class HeldLessons:
    """One source's lessons as a run compares them: first each key's digest, start and whether
    it is removed (a re-sync compares one number per lesson), then the whole rows of the few
    keys whose lessons may change."""

    __slots__ = ("_rows", "brief")

    def __init__(
        self, brief: dict[str, Brief], rows: Callable[[Collection[str]], dict[str, LessonRow]]
    ) -> None:
        self.brief = brief
        self._rows = rows

    @classmethod
    def of(cls, rows: dict[str, LessonRow]) -> HeldLessons:
        """Lessons held in memory, by source key."""
        brief = {k: (r.digest, r.start, r.removed) for k, r in rows.items()}
        return cls(brief, lambda keys: {k: rows[k] for k in keys})

    def rows(self, keys: Collection[str]) -> dict[str, LessonRow]:
        """The rows of some of the keys, by key."""
        return self._rows(keys) if keys else {}


def is_open(end_date: date | None, today: date) -> bool:
    """True when something with this end date has not ended on ``today`` (dates are inclusive)."""
    return end_date is None or end_date >= today


def link_active(start: date | None, end: date | None, today: date) -> bool:
    """True when a dated link holds on ``today`` (start and end inclusive)."""
    return (start is None or start <= today) and is_open(end, today)


@dataclass
class Directory:
    """Everything the directory holds that a run compares with."""

    schools: dict[str, SchoolRow] = field(default_factory=dict)  # by key
    units: dict[str, UnitRow] = field(default_factory=dict)  # by register id
    users: dict[str, UserRow] = field(default_factory=dict)  # by id
    links: dict[tuple[str, str, str], LinkRow] = field(default_factory=dict)  # (user, school, role)
    guardianships: dict[tuple[str, str], GuardianshipRow] = field(
        default_factory=dict
    )  # (guardian, student)
    groups: dict[str, GroupRow] = field(default_factory=dict)  # by id
    memberships: dict[tuple[str, str, str], MembershipRow] = field(
        default_factory=dict
    )  # (group, user, role)
    lessons: dict[tuple[str, str], LessonRow] = field(default_factory=dict)  # (source, key)
    lesson_counts: dict[str, int] = field(default_factory=dict)  # every source's lesson count
    # How many records of each kind the last applied register read had (R10 missing data).
    register_counts: dict[str, int] = field(default_factory=dict)
    # User id to the ids of the accounts merged straight into it (``user merge``).
    merged_from: dict[str, list[str]] = field(default_factory=dict)
    # Loads one source's lessons when they are asked for (set by the store for a run;
    # ``lessons`` is then empty). None: every lesson the run compares with is in ``lessons``.
    lesson_loader: Callable[[str], HeldLessons] | None = field(
        default=None, compare=False, repr=False
    )
    _lessons_by_source: dict[str, dict[str, LessonRow]] | None = field(
        default=None, init=False, compare=False, repr=False
    )

    def lessons_of(self, source: str) -> HeldLessons:
        """One source's lessons, by source key, in the order the directory holds them."""
        if self.lesson_loader is not None:
            return self.lesson_loader(source)
        if self._lessons_by_source is None:  # grouped once, not once per source
            grouped: dict[str, dict[str, LessonRow]] = defaultdict(dict)
            for (src, key), row in self.lessons.items():
                grouped[src][key] = row
            self._lessons_by_source = grouped
        return HeldLessons.of(self._lessons_by_source.get(source, {}))

    def links_by_user(self) -> dict[str, dict[tuple[str, str], LinkRow]]:
        """Links grouped by user id, keyed by (school id, role)."""
        out: dict[str, dict[tuple[str, str], LinkRow]] = defaultdict(dict)
        for (user_id, school_id, role), link in self.links.items():
            out[user_id][(school_id, role)] = link
        return out

    def school_names(self) -> dict[str, str]:
        """School id to name."""
        return {s.id: s.name for s in self.schools.values()}
