"""The plain records a source turns its format into: one in-memory snapshot of the register.

These are the register's facts, not the directory's: names and values exactly as read (personnummer
not yet validated; that is rule R1.1, applied by the planner). Ids are the register's own opaque
strings, compared case-insensitively (stored lower-case).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import msgspec

_JSON_TEXT = msgspec.json.Encoder().encode


def json_text(value: Any) -> str:
    """A value as the directory's JSON columns hold it (compact, keys in their order): the same
    text the store writes, so equal values give equal text."""
    return _JSON_TEXT(value).decode()


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a record came from: a file and its position in that file's list."""

    path: str
    index: int

    def __str__(self) -> str:
        return f"{self.path}, record {self.index + 1}"


@dataclass(frozen=True, slots=True)
class Unit:
    """An organisation of the register (SS 12000 Organisation); school units feed schools."""

    id: str
    name: str
    org_type: str
    school_unit_code: str | None = None
    school_types: tuple[str, ...] = ()
    parent_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None

    @property
    def key(self) -> str:
        """The key settings and exports use: the skolenhetskod, else the register id."""
        return self.school_unit_code or self.id

    @property
    def is_school_unit(self) -> bool:
        """True for a Skolenhet (school unit)."""
        return self.org_type == "Skolenhet"


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A student's enrolment (inskrivning) at a school unit."""

    unit_id: str
    school_type: str
    start_date: date | None  # None: open (a register that leaves it out)
    end_date: date | None = None
    cancelled: bool = False
    school_year: int | None = None


@dataclass(frozen=True, slots=True)
class Responsible:
    """A person responsible for a student (vårdnadshavare, god man, ...)."""

    person_id: str
    relation_type: str


@dataclass(frozen=True, slots=True)
class Person:
    """A person of the register (SS 12000 Person), as read."""

    id: str
    civic_no: str | None
    given_name: str
    family_name: str
    ref: RecordRef
    middle_name: str | None = None
    birth_date: date | None = None
    sex: str | None = None
    email: str | None = None
    mobile: str | None = None
    # As JSON text (json_text), the way the directory stores them: the list of addresses and
    # the identifiers by kind (eduPersonPrincipalNames, externalIdentifiers).
    addresses: str = "[]"
    identifiers: str = "{}"
    security_marking: str = "Ingen"
    person_status: str = "Aktiv"
    enrolments: tuple[Enrolment, ...] = ()
    responsibles: tuple[Responsible, ...] = ()

    @property
    def is_protected(self) -> bool:
        """True for skyddad folkbokföring or sekretessmarkering (R11)."""
        return self.security_marking != "Ingen"


@dataclass(frozen=True, slots=True)
class AssignmentRole:
    """A staff member's task on a group (e.g. Mentor for a class)."""

    group_id: str
    role_type: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Duty:
    """A staff member's duty (tjänstgöring) at an organisation."""

    id: str
    person_id: str | None
    unit_id: str
    role: str
    ref: RecordRef
    signature: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    assignment_roles: tuple[AssignmentRole, ...] = ()


@dataclass(frozen=True, slots=True)
class Placement:
    """A child's placement in förskola or fritidshem."""

    id: str
    child_id: str
    unit_id: str
    school_type: str
    start_date: date
    end_date: date | None = None
    group_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A person's membership of a group, with its own dates."""

    person_id: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """A group of the register (SS 12000 Group): class, teaching group, mentor group, ..."""

    id: str
    name: str
    group_type: str
    unit_id: str
    ref: RecordRef
    start_date: date | None  # None: open (a register that leaves it out)
    end_date: date | None = None
    school_type: str | None = None
    members: tuple[GroupMember, ...] = ()


@dataclass(frozen=True, slots=True)
class Syllabus:
    """A subject or course (SS 12000 Syllabus)."""

    id: str
    subject_name: str
    subject_code: str | None = None
    subject_designation: str | None = None
    course_code: str | None = None
    course_name: str | None = None

    @property
    def code(self) -> str | None:
        """The subject code schedules use: the designation (``MA``) when given, else the code."""
        return self.subject_designation or self.subject_code or None


@dataclass(frozen=True, slots=True)
class ActivityTeacher:
    """A duty teaching an activity, with its own optional dates."""

    duty_id: str
    start_date: date | None = None
    end_date: date | None = None


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity: groups + syllabus + teachers (SS 12000 Activity)."""

    id: str
    name: str
    unit_id: str
    ref: RecordRef
    group_ids: tuple[str, ...]
    teachers: tuple[ActivityTeacher, ...] = ()
    syllabus_id: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    activity_type: str | None = None


@dataclass
class RegisterSnapshot:
    """Everything one read of the register gave, plus what could not be read.

    Attributes:
        source: The path or address read.
        kinds: The kinds of data the source delivered (endpoint names, e.g. ``persons``).
        unreadable_ids: Register ids of records that exist but could not be read, by kind.
            Those persons must not be treated as gone (a record that cannot be read is not a
            record that is gone).
        unidentified: Kinds with an unreadable record whose id could not be found either; for
            those kinds absence from the read ends nobody in this run.
        protected_ids: Register ids of persons whose record could not be used and whose
            ``securityMarking`` is not exactly ``Ingen``: handled as protected (R11, fail-safe).
        protected_civics: The personnummer those records carry, as written (used only to find
            an account; never stored or shown).
        counts: How many records each kind's files hold, readable or not.
        partial: Records that lost an unreadable part, by ``endpoint.field`` (e.g.
            ``duties.assignmentRole``): the register ids of the persons (for activities: the
            activities) whose data from that field must stay as it was.
        assumed: What was read by assumption rather than as written, for the run's report:
            (endpoint, field, what was assumed) to how many values.
        issues: Problems found while reading (record-level; file-level ones raise).
        api: For a read of an SS 12000 API (or a bundle it wrote): what the read cost
            (requests, retries, bytes, seconds, records and pages per endpoint).
        withheld: Fields an API read gave for no record of their kind (``persons.securityMarking``):
            most likely a scope the client lacks, so the read cannot be trusted to say them.
    """

    source: str
    kinds: set[str] = field(default_factory=set)
    units: dict[str, Unit] = field(default_factory=dict)
    persons: list[Person] = field(default_factory=list)
    duties: list[Duty] = field(default_factory=list)
    placements: list[Placement] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    syllabuses: dict[str, Syllabus] = field(default_factory=dict)
    activities: list[Activity] = field(default_factory=list)
    lessons: Any = None  # a ScheduleSnapshot when the bundle has calendarEvents.json
    unreadable_ids: dict[str, set[str]] = field(default_factory=dict)
    unidentified: set[str] = field(default_factory=set)
    protected_ids: set[str] = field(default_factory=set)
    protected_civics: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    partial: dict[str, set[str]] = field(default_factory=dict)
    assumed: dict[tuple[str, str, str], int] = field(default_factory=dict)
    issues: list[Any] = field(default_factory=list)
    api: dict[str, Any] | None = None
    withheld: set[str] = field(default_factory=set)

    def mark_unreadable(self, kind: str, record_id: str | None) -> None:
        """Remember that a record of ``kind`` could not be read (by id when one was found)."""
        if record_id:
            self.unreadable_ids.setdefault(kind, set()).add(record_id.lower())
        else:
            self.unidentified.add(kind)
