"""In-memory records of the generated municipality, written out by :mod:`.writer`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .names import Address


@dataclass(slots=True)
class Organisation:
    """An SS 12000 Organisation (Huvudman, Skola, Skolenhet …)."""

    id: str
    display_name: str
    organisation_type: str
    code: str | None = None
    parent: str | None = None
    school_unit_code: str | None = None
    school_types: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None
    address: Address | None = None
    email: str | None = None


@dataclass(slots=True)
class Enrolment:
    """A student's enrolment at a school unit."""

    unit: str
    school_type: str
    school_year: int | None
    start: date
    end: date | None = None
    cancelled: bool = False


@dataclass(slots=True)
class Person:
    """An SS 12000 Person: a student, a staff member or a responsible adult (or several)."""

    id: str
    given: str
    family: str
    sex: str
    civic_no: str
    birth_date: date
    created: date
    middle: str | None = None
    account: str | None = None
    eppn: str | None = None
    email: str | None = None
    email_type: str | None = None
    phone: str | None = None
    phone_type: str = "Hem"
    address: Address | None = None
    security_marking: str = "Ingen"
    status: str = "Aktiv"
    enrolments: list[Enrolment] = field(default_factory=list)
    responsibles: list[tuple[str, str]] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        """Given and family name, as shown in references."""
        return f"{self.given} {self.family}"


@dataclass(slots=True)
class Membership:
    """A person's membership of a group."""

    person: str
    start: date
    end: date | None = None


@dataclass(slots=True)
class Group:
    """An SS 12000 Group (Klass, Undervisning, Schema, Mentor, Avdelning …)."""

    id: str
    display_name: str
    group_type: str
    school_type: str | None
    organisation: str
    start: date
    end: date
    members: list[Membership] = field(default_factory=list)


@dataclass(slots=True)
class AssignmentRole:
    """A duty's task for one group, e.g. mentor of a class."""

    group: str
    role_type: str
    start: date


@dataclass(slots=True)
class Duty:
    """An SS 12000 Duty (tjänstgöring) of one person at one unit."""

    id: str
    person: str
    unit: str
    role: str
    signature: str
    percent: int
    start: date
    end: date | None = None
    assignments: list[AssignmentRole] = field(default_factory=list)


@dataclass(slots=True)
class Syllabus:
    """An SS 12000 Syllabus: a grundskola subject or a gymnasium course."""

    id: str
    school_type: str
    subject_name: str
    curriculum: str
    subject_code: str | None = None
    designation: str | None = None
    course_code: str | None = None
    course_name: str | None = None
    points: int | None = None
    start_year: int | None = None
    end_year: int | None = None
    language_code: str | None = None


@dataclass(slots=True)
class TeacherAssignment:
    """A duty teaching an activity; ``grader`` marks the betygsättande teacher."""

    duty: str
    grader: bool


@dataclass(slots=True)
class Activity:
    """An SS 12000 Activity tying groups to a syllabus and teachers."""

    id: str
    display_name: str
    organisation: str
    groups: list[str]
    syllabus: str
    teachers: list[TeacherAssignment]
    start: date
    end: date
    minutes: int | None = None
