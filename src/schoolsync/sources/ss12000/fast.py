"""The fast path: an endpoint file decoded by msgspec into typed structs that mirror :mod:`.models`.

A file is decoded once as JSON with its records left undecoded (:func:`decode`), then record by
record (:func:`records`), each turned into the snapshot's record and dropped before the next, so
only the file's bytes and one record are in memory besides what was read.

The structs take exactly the standard's shapes and values, in a strict subset of what the pydantic
models take, and give the values the models would give: the same attribute names, dates as
``date`` (:class:`Check`), times as aware ``datetime``, an address as the dict
``Address.model_dump(exclude_none=True)`` gives. Anything else in a file (an enum in another
case, an element to drop, a number where text belongs, a date out of range, broken text, a NUL,
very deep nesting, ...) sends the whole file to the models, which read it as they always did,
with every tolerance rule and message. So this module never decides what is valid; it only
recognises the files whose every record follows the schema.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Annotated, Any, Literal

import msgspec

from schoolsync.sources.ss12000.models import (
    FIRST_DATE,
    LAST_DATE,
    ActivityType,
    AssignmentRoleType,
    DutyRole,
    EmailType,
    GroupType,
    OrganisationType,
    PersonStatus,
    RelationType,
    SchoolType,
    Sex,
)

_FIRST_YEAR, _AFTER_LAST_YEAR = f"{FIRST_DATE.year:04d}", f"{LAST_DATE.year + 1:04d}"
_FIRST_MOMENT = datetime(1900, 1, 2, tzinfo=UTC)
_LAST_MOMENT = datetime(2200, 12, 30, tzinfo=UTC)
_INT64 = 2**63

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Name = Annotated[str, msgspec.Meta(max_length=200)]
Title = Annotated[str, msgspec.Meta(max_length=300)]
Code = Annotated[str, msgspec.Meta(max_length=50)]
Marking = Annotated[str, msgspec.Meta(max_length=100)]
EmailValue = Annotated[str, msgspec.Meta(max_length=320)]
Day = str  # checked and turned into a date by :class:`Check`
Moment = str  # checked and turned into an aware datetime by :class:`Check`

PlacementType = Literal["FS", "FTH", "OPPFTH"]  # as models.Placement.schoolType


class _Struct(msgspec.Struct, gc=False):
    """Unknown keys are skipped, as the models ignore them; the order of the fields is not that
    of the models (no field is taken by position). Not tracked by the garbage collector: decoded
    JSON has no reference cycles."""


class Ref(_Struct):
    id: Id


class Organisation(_Struct):
    id: Id
    displayName: Title
    organisationType: OrganisationType | None = None
    schoolUnitCode: Code | None = None
    schoolTypes: list[SchoolType] | None = None
    parentOrganisation: Ref | None = None
    startDate: Day | None = None
    endDate: Day | None = None


class CivicNo(_Struct):
    value: Code
    nationality: str | None = None


class Email(_Struct):
    value: EmailValue
    type: EmailType


class PhoneNumber(_Struct):
    value: Code
    mobile: bool
    type: str | None = None


class ExternalIdentifier(_Struct):
    value: str
    context: str
    globallyUnique: bool


class Enrolment(_Struct):
    enroledAt: Ref
    schoolType: SchoolType
    startDate: Day | None = None
    endDate: Day | None = None
    cancelled: bool | None = None
    schoolYear: int | None = None


class Responsible(_Struct):
    person: Ref
    relationType: RelationType


class Person(_Struct):
    id: Id
    givenName: Name
    familyName: Name
    middleName: Name | None = None
    civicNo: CivicNo | None = None
    birthDate: Day | None = None
    sex: Sex | None = None
    securityMarking: Marking | None = None
    personStatus: PersonStatus | None = None
    emails: list[Email] | None = None
    phoneNumbers: list[PhoneNumber] | None = None
    addresses: list[dict[str, Any]] | None = None  # checked and dumped by :class:`Check`
    eduPersonPrincipalNames: list[str] | None = None
    externalIdentifiers: list[ExternalIdentifier] | None = None
    enrolments: list[Enrolment] | None = None
    responsibles: list[Responsible] | None = None


class AssignmentRole(_Struct):
    group: Ref
    assignmentRoleType: AssignmentRoleType
    startDate: Day | None = None
    endDate: Day | None = None


class Duty(_Struct):
    id: Id
    dutyAt: Ref
    dutyRole: DutyRole
    person: Ref | None = None
    signature: Code | None = None
    startDate: Day | None = None
    endDate: Day | None = None
    assignmentRole: list[AssignmentRole] | None = None


class Placement(_Struct):
    id: Id
    placedAt: Ref
    child: Ref
    schoolType: PlacementType
    startDate: Day
    endDate: Day | None = None
    group: Ref | None = None


class GroupMembership(_Struct):
    person: Ref
    startDate: Day | None = None
    endDate: Day | None = None


class Group(_Struct):
    id: Id
    displayName: Title
    groupType: GroupType
    organisation: Ref
    startDate: Day | None = None
    endDate: Day | None = None
    schoolType: SchoolType | None = None
    groupMemberships: list[GroupMembership] | None = None


class Syllabus(_Struct):
    id: Id
    subjectName: str
    subjectCode: Code | None = None
    subjectDesignation: Code | None = None
    courseCode: Code | None = None
    courseName: str | None = None


class DutyAssignment(_Struct):
    duty: Ref | None = None
    person: Ref | None = None
    startDate: Day | None = None
    endDate: Day | None = None


class Activity(_Struct):
    id: Id
    displayName: str
    organisation: Ref
    groups: list[Ref]
    teachers: list[DutyAssignment] | None = None
    syllabus: Ref | None = None
    startDate: Day | None = None
    endDate: Day | None = None
    activityType: ActivityType | None = None


class TeacherException(_Struct):
    duty: Ref
    participates: bool


class CalendarEvent(_Struct):
    id: Id
    activity: Ref
    startTime: Moment
    endTime: Moment
    cancelled: bool | None = None
    teacherExceptions: list[TeacherException] | None = None
    rooms: list[Ref] | None = None


class Room(_Struct):
    id: Id
    displayName: Name


class Strings(dict[str, str]):
    """One str object for every equal text of a read (``strings[text]``): ids that records
    name again and again (units, persons, groups, duties), and repeated values."""

    def __missing__(self, text: str) -> str:
        self[text] = text
        return text


class Unfit(Exception):
    """A value the fast path does not take: the file is read with the models instead."""


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_MOMENT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(?:(Z)|([+-])([0-9]{2}):([0-9]{2}))"
)
_ADDRESS_FIELDS = ("type", "streetAddress", "locality", "postalCode")


class Check:
    """Checks what msgspec cannot and turns it into what the models give, or raises
    :class:`Unfit`: a decoded record is only ready once it went through the method named after
    its kind (``check.duty(d)``), or through a reader that checks as it goes (persons, groups).

    Dates are kept once per spelling (one ``date`` object for every ``2025-08-18`` of a read), and
    an address's texts and an identifier's context once per text.
    """

    def __init__(self, strings: Strings) -> None:
        self.days: dict[str, date] = {}
        self.strings = strings

    def day(self, value: str | None) -> date | None:
        """``models.IsoDate``: text in the years the directory stores, a time after a ``T`` cut
        off; here only ``YYYY-MM-DD`` itself is taken (the models read every other spelling)."""
        if value is None:
            return None
        found = self.days.get(value)
        if found is not None:
            return found
        if value < _FIRST_YEAR or value >= _AFTER_LAST_YEAR:
            raise Unfit
        text = value[:10] if len(value) > 10 and value[10] == "T" else value
        if _DAY.fullmatch(text) is None:
            raise Unfit
        try:
            found = date(int(text[:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            raise Unfit from None
        self.days[value] = found
        return found

    @staticmethod
    def moment(value: str) -> datetime:
        """``models.Moment``, for times with a UTC offset written the RFC 3339 way only."""
        found = _MOMENT.fullmatch(value)
        if found is None:
            raise Unfit
        year, month, day, hour, minute, second, fraction, zulu, sign, oh, om = found.groups()
        if zulu:
            zone = UTC
        else:
            if int(oh) > 14 or int(om) > 59 or (sign == "-" and oh == om == "00"):
                raise Unfit
            offset = timedelta(hours=int(oh), minutes=int(om))
            zone = timezone(-offset if sign == "-" else offset)
        try:
            moment = datetime(
                int(year),
                int(month),
                int(day),
                int(hour),
                int(minute),
                int(second),
                int((fraction or "0").ljust(6, "0")),
                tzinfo=zone,
            )
        except ValueError:
            raise Unfit from None
        if not _FIRST_MOMENT <= moment <= _LAST_MOMENT:
            raise Unfit
        return moment

    @staticmethod
    def number(value: int | None) -> None:
        """An integer the models read the same way in every path (a very long one is not)."""
        if value is not None and not -_INT64 <= value < _INT64:
            raise Unfit

    @classmethod
    def extra(cls, value: Any, depth: int = 0) -> None:
        """An address's own extra value: text, true/false, null, an integer, or shallow lists
        and objects of those (a float could be spelt in ways two parsers round apart)."""
        if value is None or isinstance(value, (str, bool)):
            return
        if isinstance(value, int):
            cls.number(value)
        elif isinstance(value, list) and depth < 3:
            for item in value:
                cls.extra(item, depth + 1)
        elif isinstance(value, dict) and depth < 3:
            for item in value.values():
                cls.extra(item, depth + 1)
        else:
            raise Unfit

    def address(self, value: dict[str, Any]) -> dict[str, Any]:
        """``models.Address.model_dump(exclude_none=True)``: the declared fields that are set, in
        their order, then every other key that is set, as written (a null inside kept)."""
        keep = self.strings
        out: dict[str, Any] = {}
        for name in _ADDRESS_FIELDS:
            field = value.get(name)
            if field is not None:
                if not isinstance(field, str):
                    raise Unfit
                out[name] = keep[field]
        for name, field in value.items():
            if field is not None and name not in _ADDRESS_FIELDS:
                self.extra(field)
                out[name] = keep[field] if isinstance(field, str) else field
        return out

    def organisation(self, o: Organisation) -> Organisation:
        o.startDate = self.day(o.startDate)  # type: ignore[assignment]
        o.endDate = self.day(o.endDate)  # type: ignore[assignment]
        return o

    def duty(self, d: Duty) -> Duty:
        day = self.day
        d.startDate = day(d.startDate)  # type: ignore[assignment]
        d.endDate = day(d.endDate)  # type: ignore[assignment]
        for a in d.assignmentRole or ():
            a.startDate = day(a.startDate)  # type: ignore[assignment]
            a.endDate = day(a.endDate)  # type: ignore[assignment]
        return d

    def placement(self, p: Placement) -> Placement:
        p.startDate = self.day(p.startDate)  # type: ignore[assignment]
        p.endDate = self.day(p.endDate)  # type: ignore[assignment]
        return p

    def activity(self, a: Activity) -> Activity:
        day = self.day
        a.startDate = day(a.startDate)  # type: ignore[assignment]
        a.endDate = day(a.endDate)  # type: ignore[assignment]
        for t in a.teachers or ():
            t.startDate = day(t.startDate)  # type: ignore[assignment]
            t.endDate = day(t.endDate)  # type: ignore[assignment]
        return a

    def calendar_event(self, e: CalendarEvent) -> CalendarEvent:
        e.startTime = self.moment(e.startTime)  # type: ignore[assignment]
        e.endTime = self.moment(e.endTime)  # type: ignore[assignment]
        return e

    @staticmethod
    def syllabus(s: Syllabus) -> Syllabus:
        return s  # msgspec checks all there is

    @staticmethod
    def room(x: Room) -> Room:
        return x  # msgspec checks all there is


_STRUCTS: dict[str, type[_Struct]] = {
    "organisations": Organisation,
    "persons": Person,
    "duties": Duty,
    "placements": Placement,
    "groups": Group,
    "syllabuses": Syllabus,
    "activities": Activity,
    "calendarEvents": CalendarEvent,
    "rooms": Room,
}


class _Page(msgspec.Struct, gc=False):
    """A page, its records left undecoded (each is decoded on its own, then dropped)."""

    data: list[msgspec.Raw]
    pageToken: Any = None


_AS_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_AS_PAGE = msgspec.json.Decoder(_Page)
_RECORDS = {endpoint: msgspec.json.Decoder(struct) for endpoint, struct in _STRUCTS.items()}
_LEADING = re.compile(rb"[ \t\n\r]*")  # JSON's whitespace
# Python frames put under msgspec's decoding, so that it runs out of recursion before the models'
# path would (json.loads, then a scan of each record) on a file nested that deeply.
_HEADROOM = 30


def _decode(decoder: msgspec.json.Decoder[Any], data: bytes, frames: int = _HEADROOM) -> Any:
    if frames:
        return _decode(decoder, data, frames - 1)
    return decoder.decode(data)


_CHUNK = 1 << 20


def _is_utf8(data: bytes) -> bool:
    """Whether the bytes are UTF-8, as ``data.decode("utf-8")`` says, one piece at a time (a
    whole file decoded at once would be up to four times its size in memory)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), _CHUNK):
            decoder.decode(view[start : start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def decode(data: bytes) -> tuple[list[msgspec.Raw], Any] | None:
    """A whole file's records, each still undecoded, and its page token, if the file is JSON
    that the fast path can take; else None.

    Args:
        data: The file's bytes, without a byte-order mark.

    Returns:
        The records (each to go through :func:`records`) and the ``pageToken`` (None for a bare
        array); or None when the file is to be read with the models.
    """
    if b"\\u0000" in data:
        return None  # a NUL character: the models' path reports the record
    if not data.isascii() and not _is_utf8(data):
        return None  # msgspec skips unknown keys without checking their text
    start = _LEADING.match(data).end()  # type: ignore[union-attr]
    try:
        if data[start : start + 1] == b"[":
            return _decode(_AS_LIST, data), None
        page = _decode(_AS_PAGE, data)
    except (msgspec.MsgspecError, RecursionError):
        return None
    return page.data, page.pageToken


def records(endpoint: str, raw: list[msgspec.Raw]) -> Iterator[Any]:
    """Each record of an endpoint's file decoded (a struct of this module, to go through
    :class:`Check`), one at a time, so that only one is in memory at once.

    Raises:
        Unfit: When a record does not decode: the file is to be read with the models.
    """
    decode_one = _RECORDS[endpoint].decode
    try:
        for record in raw:
            yield decode_one(record)
    except (msgspec.MsgspecError, RecursionError):
        raise Unfit from None
