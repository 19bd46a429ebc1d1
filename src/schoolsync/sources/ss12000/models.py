"""SS 12000:2020 (2.1.0) entities as read from a bundle: exact field names and enum values.

Only the fields schoolsync uses are declared; unknown extra keys are ignored, as the standard
allows.
Dates must be ``YYYY-MM-DD`` strings; ids are opaque strings.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _iso_date_string(value: Any) -> Any:
    """Accept only strings for dates (a number is not a date in SS 12000)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value[:10] if len(value) > 10 and value[10] == "T" else value


IsoDate = Annotated[date, BeforeValidator(_iso_date_string)]
# Lengths are bounded so that a damaged record is reported, not refused by the database.
Id = Annotated[str, Field(min_length=1, max_length=100)]
Name = Annotated[str, Field(max_length=200)]
Title = Annotated[str, Field(max_length=300)]
Code = Annotated[str, Field(max_length=50)]

OrganisationType = Literal[
    "Huvudman",
    "Verksamhetsområde",
    "Förvaltning",
    "Rektorsområde",
    "Skola",
    "Skolenhet",
    "Varumärke",
    "Bolag",
    "Övrigt",
]
SchoolType = Literal[
    "FS", "FKLASS", "FTH", "OPPFTH", "GR", "GRS", "TR", "SP", "SAM", "GY", "GYS",
    "VUX", "VUXSFI", "VUXGR", "VUXGY", "VUXSARGR", "VUXSARTR", "VUXSARGY",
    "SFI", "SARVUX", "SARVUXGR", "SARVUXGY", "KU", "YH", "FHS", "STF", "KKU", "HS", "ABU", "AU",
]  # fmt: skip
Sex = Literal["Man", "Kvinna", "Okänt"]
SecurityMarking = Literal["Ingen", "Sekretessmarkering", "Skyddad folkbokföring"]
PersonStatus = Literal["Aktiv", "Utvandrad", "Avliden"]
RelationType = Literal["Vårdnadshavare", "Annan ansvarig", "God man", "Utsedd behörig"]
EmailType = Literal["Privat", "Skola elev", "Skola personal", "Arbete övrigt"]
DutyRole = Literal[
    "Rektor", "Lärare", "Förskollärare", "Barnskötare", "Bibliotekarie", "Lärarassistent",
    "Fritidspedagog", "Annan personal", "Studie- och yrkesvägledare", "Förstelärare", "Kurator",
    "Skolsköterska", "Skolläkare", "Skolpsykolog", "Speciallärare/specialpedagog",
    "Skoladministratör", "Övrig arbetsledning", "Övrig pedagogisk personal", "Förskolechef",
]  # fmt: skip
AssignmentRoleType = Literal[
    "Mentor", "Förskollärare", "Barnskötare", "Fritidspedagog", "Specialpedagog",
    "Elevhälsopersonal", "Pedagogisk ledare", "Schemaläggare", "Lärarassistent",
    "Administrativ personal",
]  # fmt: skip
GroupType = Literal[
    "Undervisning", "Klass", "Mentor", "Provgrupp", "Schema", "Avdelning", "Personalgrupp", "Övrigt"
]
ActivityType = Literal["Undervisning", "Elevaktivitet", "Provaktivitet", "Läraraktivitet", "Övrigt"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Entity(_Model):
    """Anything with an id."""

    id: Id


class Ref(_Model):
    """An ObjectReference: ``{"id": ..., "displayName": ...}``."""

    id: Id


class Organisation(Entity):
    displayName: Title
    organisationType: OrganisationType
    schoolUnitCode: Code | None = None
    schoolTypes: list[SchoolType] | None = None
    parentOrganisation: Ref | None = None
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class CivicNo(_Model):
    value: Code
    nationality: str | None = None


class Email(_Model):
    value: Annotated[str, Field(max_length=320)]
    type: EmailType


class PhoneNumber(_Model):
    value: Code
    type: str | None = None
    mobile: bool


class Address(_Model):
    model_config = ConfigDict(extra="allow", frozen=True)
    type: str | None = None
    streetAddress: str | None = None
    locality: str | None = None
    postalCode: str | None = None


class ExternalIdentifier(_Model):
    value: str
    context: str
    globallyUnique: bool


class Enrolment(_Model):
    enroledAt: Ref
    schoolType: SchoolType
    startDate: IsoDate
    endDate: IsoDate | None = None
    cancelled: bool | None = None
    schoolYear: int | None = None


class Responsible(_Model):
    person: Ref
    relationType: RelationType


class Person(Entity):
    givenName: Name
    familyName: Name
    middleName: Name | None = None
    civicNo: CivicNo | None = None
    birthDate: IsoDate | None = None
    sex: Sex | None = None
    securityMarking: SecurityMarking | None = None
    personStatus: PersonStatus | None = None
    emails: list[Email] | None = None
    phoneNumbers: list[PhoneNumber] | None = None
    addresses: list[Address] | None = None
    eduPersonPrincipalNames: list[str] | None = None
    externalIdentifiers: list[ExternalIdentifier] | None = None
    enrolments: list[Enrolment] | None = None
    responsibles: list[Responsible] | None = None


class AssignmentRole(_Model):
    group: Ref
    assignmentRoleType: AssignmentRoleType
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class Duty(Entity):
    person: Ref | None = None
    dutyAt: Ref
    dutyRole: DutyRole
    signature: Code | None = None
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None
    assignmentRole: list[AssignmentRole] | None = None


class Placement(Entity):
    placedAt: Ref
    child: Ref
    schoolType: Literal["FS", "FTH", "OPPFTH"]
    startDate: IsoDate
    endDate: IsoDate | None = None
    group: Ref | None = None


class GroupMembership(_Model):
    person: Ref
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class Group(Entity):
    displayName: Title
    groupType: GroupType
    organisation: Ref
    startDate: IsoDate
    endDate: IsoDate | None = None
    schoolType: SchoolType | None = None
    groupMemberships: list[GroupMembership] | None = None


class Syllabus(Entity):
    subjectName: str
    subjectCode: Code | None = None
    subjectDesignation: Code | None = None
    courseCode: Code | None = None
    courseName: str | None = None


class DutyAssignment(_Model):
    duty: Ref
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class Activity(Entity):
    displayName: str
    organisation: Ref
    groups: list[Ref]
    teachers: list[DutyAssignment] | None = None
    syllabus: Ref | None = None
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None
    activityType: ActivityType | None = None


class TeacherException(_Model):
    duty: Ref
    participates: bool


class CalendarEvent(Entity):
    activity: Ref
    startTime: datetime
    endTime: datetime
    cancelled: bool | None = None
    teacherExceptions: list[TeacherException] | None = None
    rooms: list[Ref] | None = None


class Room(Entity):
    displayName: Name
