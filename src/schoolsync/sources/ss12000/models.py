"""SS 12000:2020 (2.1.0) entities as read from a bundle: exact field names and enum values.

Only the fields schoolsync uses are declared; unknown extra keys are ignored, as the standard
allows.
Dates must be ``YYYY-MM-DD`` strings between 1900-01-01 and 2200-12-31 (what the directory
stores); ids are opaque strings.

Real producers depart from the schema, and these models take what can be taken safely, leaving a
mark on the value that the reader reports:

- an enum value in another case (``UNDERVISNING``) is read as the standard spelling, as an
  :class:`Assumed` string that remembers what was written;
- an element of an optional list (e-mails, phone numbers, addresses, identifiers, assignment
  roles) that cannot be read becomes a :class:`Dropped` marker, and a value of such a list that
  is not a list at all becomes an empty :class:`DroppedList`; the rest of the record is read.

The standard spelling is always tried first, in the validator's own code, so records that follow
the schema cost nothing extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import PydanticCustomError, core_schema

FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2200, 12, 31)
_FIRST_YEAR, _AFTER_LAST_YEAR = f"{FIRST_DATE.year:04d}", f"{LAST_DATE.year + 1:04d}"


def _iso_date_string(value: Any) -> Any:
    """Accept only strings for dates (a number is not a date in SS 12000), in the years the
    directory stores."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a date written YYYY-MM-DD")
    if value < _FIRST_YEAR or value >= _AFTER_LAST_YEAR:  # compares the text: no parsing
        raise PydanticCustomError(
            "date_range", f"must be a date YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE}"
        )
    return value[:10] if len(value) > 10 and value[10] == "T" else value


IsoDate = Annotated[date, BeforeValidator(_iso_date_string)]
# Times of lessons, in the same range (a year-1 time cannot be turned into Swedish time).
Moment = Annotated[
    datetime,
    Field(ge=datetime(1900, 1, 2, tzinfo=UTC), le=datetime(2200, 12, 30, tzinfo=UTC)),
]
# Lengths are bounded so that a damaged record is reported, not refused by the database.
Id = Annotated[str, Field(min_length=1, max_length=100)]
Name = Annotated[str, Field(max_length=200)]
Title = Annotated[str, Field(max_length=300)]
Code = Annotated[str, Field(max_length=50)]


class Assumed(str):
    """An enum value read in the standard spelling although it was written otherwise.

    Attributes:
        given: What the record said (e.g. ``UNDERVISNING`` for ``Undervisning``).
    """

    __slots__ = ("given",)
    given: str

    def __new__(cls, canonical: str, given: str) -> Assumed:
        value = super().__new__(cls, canonical)
        value.given = given
        return value


@dataclass(frozen=True, slots=True)
class AnyCase:
    """Annotation for a ``Literal`` enum: also accept its values in another case.

    The exact spelling is checked first; a value that matches only when case and surrounding
    spaces are ignored is read as the standard spelling, as an :class:`Assumed`. Anything else
    fails with the same message as the plain ``Literal``.
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        values: tuple[str, ...] = get_args(source)
        folded = {v.casefold(): v for v in values}

        def variant(value: Any) -> Assumed:
            if isinstance(value, str):
                canonical = folded.get(value.strip().casefold())
                if canonical is not None:
                    return Assumed(canonical, value)
            raise PydanticCustomError("enum_value", "not a value of the enum")

        quoted = [repr(v) for v in values]
        expected = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return core_schema.union_schema(
            [handler(source), core_schema.no_info_plain_validator_function(variant)],
            mode="left_to_right",
            custom_error_type="enum_value",
            custom_error_message=f"Input should be {expected}",
            custom_error_context={"expected": expected},
        )


@dataclass(frozen=True, slots=True)
class Dropped:
    """An element of an optional list that could not be read, left out of the record.

    Attributes:
        error: What is wrong with it, as ``field x: message`` (never the value itself).
    """

    error: str


class DroppedList(list[Any]):
    """An optional list whose value was not a list at all: read as empty.

    Attributes:
        error: What was wrong with it (never the value itself).
    """

    error: str = ""


def error_text(exc: ValidationError) -> str:
    """The first validation error as ``field x.y: message`` (never the offending value)."""
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(
        ".[", "["
    )
    return f"field {loc}: {err['msg']}" if loc else err["msg"]


@dataclass(frozen=True, slots=True)
class Droppable:
    """Annotation for an element of an optional list: an element that cannot be read becomes
    :class:`Dropped` instead of making the whole record unreadable."""

    element: Any

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        adapter: TypeAdapter[Any] = TypeAdapter(self.element)

        def drop(value: Any) -> Any:
            try:
                return adapter.validate_python(value)  # the one reason, in the usual words
            except ValidationError as exc:
                return Dropped(error_text(exc))

        return core_schema.union_schema(
            [
                handler.generate_schema(self.element),
                core_schema.no_info_plain_validator_function(drop),
            ],
            mode="left_to_right",
        )


@dataclass(frozen=True, slots=True)
class OptionalList:
    """Annotation for an optional list: a value that is not a list reads as an empty
    :class:`DroppedList`."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def not_a_list(value: Any) -> DroppedList:
            out = DroppedList()
            out.error = f"is {_json_type(value)}, not a list"
            return out

        return core_schema.union_schema(
            [handler(source), core_schema.no_info_plain_validator_function(not_a_list)],
            mode="left_to_right",
        )


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "something else"


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
    organisationType: Annotated[OrganisationType, AnyCase()] | None = None  # DNP leaves it out
    schoolUnitCode: Code | None = None
    schoolTypes: list[Annotated[SchoolType, AnyCase()]] | None = None
    parentOrganisation: Ref | None = None
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class CivicNo(_Model):
    value: Code
    nationality: str | None = None


class Email(_Model):
    value: Annotated[str, Field(max_length=320)]
    type: Annotated[EmailType, AnyCase()]


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
    schoolType: Annotated[SchoolType, AnyCase()]
    startDate: IsoDate | None = None  # required by the standard; DNP leaves it out
    endDate: IsoDate | None = None
    cancelled: bool | None = None
    schoolYear: int | None = None


class Responsible(_Model):
    person: Ref
    relationType: Annotated[RelationType, AnyCase()]


# Optional lists whose unreadable elements are dropped (the rest of the record is kept).
Emails = Annotated[list[Annotated[Email | Dropped, Droppable(Email)]] | None, OptionalList()]
Phones = Annotated[
    list[Annotated[PhoneNumber | Dropped, Droppable(PhoneNumber)]] | None, OptionalList()
]
Addresses = Annotated[list[Annotated[Address | Dropped, Droppable(Address)]] | None, OptionalList()]
Principals = Annotated[list[Annotated[str | Dropped, Droppable(str)]] | None, OptionalList()]
Identifiers = Annotated[
    list[Annotated[ExternalIdentifier | Dropped, Droppable(ExternalIdentifier)]] | None,
    OptionalList(),
]


class Person(Entity):
    givenName: Name
    familyName: Name
    middleName: Name | None = None
    civicNo: CivicNo | None = None
    birthDate: IsoDate | None = None
    sex: Annotated[Sex, AnyCase()] | None = None
    # Any text is read as it is: R11 protects every marking but exactly "Ingen" (fail-safe), so
    # a misspelt or differently cased marking is protected, never unreadable.
    securityMarking: Annotated[str, Field(max_length=100)] | None = None
    personStatus: Annotated[PersonStatus, AnyCase()] | None = None
    emails: Emails = None
    phoneNumbers: Phones = None
    addresses: Addresses = None
    eduPersonPrincipalNames: Principals = None
    externalIdentifiers: Identifiers = None
    enrolments: list[Enrolment] | None = None
    responsibles: list[Responsible] | None = None


class AssignmentRole(_Model):
    group: Ref
    assignmentRoleType: Annotated[AssignmentRoleType, AnyCase()]
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


Roles = Annotated[
    list[Annotated[AssignmentRole | Dropped, Droppable(AssignmentRole)]] | None, OptionalList()
]


class Duty(Entity):
    person: Ref | None = None
    dutyAt: Ref
    dutyRole: Annotated[DutyRole, AnyCase()]
    signature: Code | None = None
    startDate: IsoDate | None = None  # required by the standard
    endDate: IsoDate | None = None
    assignmentRole: Roles = None


class Placement(Entity):
    placedAt: Ref
    child: Ref
    schoolType: Annotated[Literal["FS", "FTH", "OPPFTH"], AnyCase()]
    startDate: IsoDate
    endDate: IsoDate | None = None
    group: Ref | None = None


class GroupMembership(_Model):
    person: Ref
    startDate: IsoDate | None = None
    endDate: IsoDate | None = None


class Group(Entity):
    displayName: Title
    groupType: Annotated[GroupType, AnyCase()]
    organisation: Ref
    startDate: IsoDate | None = None  # required by the standard; DNP leaves it out
    endDate: IsoDate | None = None
    schoolType: Annotated[SchoolType, AnyCase()] | None = None
    groupMemberships: list[GroupMembership] | None = None


class Syllabus(Entity):
    subjectName: str
    subjectCode: Code | None = None
    subjectDesignation: Code | None = None
    courseCode: Code | None = None
    courseName: str | None = None


class DutyAssignment(_Model):
    """A teacher of an activity: a duty, or (as some producers write it) a person."""

    duty: Ref | None = None
    person: Ref | None = None
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
    activityType: Annotated[ActivityType, AnyCase()] | None = None


class TeacherException(_Model):
    duty: Ref
    participates: bool


class CalendarEvent(Entity):
    activity: Ref
    startTime: Moment
    endTime: Moment
    cancelled: bool | None = None
    teacherExceptions: list[TeacherException] | None = None
    rooms: list[Ref] | None = None


class Room(Entity):
    displayName: Name
