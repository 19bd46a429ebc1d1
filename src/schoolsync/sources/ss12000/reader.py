"""Read an SS 12000 bundle directory into a :class:`RegisterSnapshot`.

File-level problems (unreadable file, invalid JSON, wrong shape, a cut-off page chain, an
organisation that cannot be read) raise :class:`InputError`: the run stops and nothing is applied.
Record-level problems (a person or duty with a wrong type, an unknown enum value, a missing required
field) skip that record with an ``invalid-record`` issue, and the record's id is remembered so that
the person is not treated as gone.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError, create_model

from schoolsync.domain import records as r
from schoolsync.domain.issues import issue
from schoolsync.errors import InputError
from schoolsync.sources.ss12000 import models as m
from schoolsync.sources.ss12000.events import calendar_lessons
from schoolsync.sources.ss12000.files import (
    EndpointFile,
    check_page_chain,
    parse_json,
    read_files,
    records_of,
)

M = TypeVar("M", bound=m.Entity)

_KIND_NAMES = {
    "organisations": "organisation",
    "persons": "person",
    "duties": "duty",
    "placements": "placement",
    "groups": "group",
    "syllabuses": "syllabus",
    "activities": "activity",
    "calendarEvents": "calendar event",
    "rooms": "room",
}

# Preferred e-mail by type: the school's own address first (R2.2 fills one address).
_EMAIL_PREFERENCE = {"Skola elev": 0, "Skola personal": 0, "Arbete övrigt": 1, "Privat": 2}


def read_bundle(path: Path) -> r.RegisterSnapshot:
    """Read every endpoint file of a bundle.

    Args:
        path: The bundle directory.

    Returns:
        The snapshot with the records that could be read and issues for those that could not.

    Raises:
        InputError: When the bundle or one of its files cannot be read at all.
    """
    if not path.exists():
        raise InputError(
            "does not exist.", "Give the folder that holds the SS 12000 files.", path=str(path)
        )
    if not path.is_dir():
        raise InputError(
            "is a file, not an SS 12000 bundle folder.",
            "Give the folder that holds organisations.json, persons.json, ...",
            path=str(path),
        )
    snap = r.RegisterSnapshot(source=str(path))
    files = {endpoint: read_files(path, endpoint) for endpoint in _KIND_NAMES}
    snap.kinds = {endpoint for endpoint, found in files.items() if found}
    if not snap.kinds:
        raise InputError(
            "holds no SS 12000 files (organisations.json, persons.json, duties.json, ...).",
            "Give the folder the register export was written to.",
            path=str(path),
        )
    for org, ref in _records(snap, "organisations", files["organisations"], m.Organisation):
        _add_unit(snap, org, ref)
    snap.persons = [
        _person(p, ref) for p, ref in _records(snap, "persons", files["persons"], m.Person)
    ]
    snap.duties = [_duty(d, ref) for d, ref in _records(snap, "duties", files["duties"], m.Duty)]
    snap.placements = [
        _placement(p) for p, _ in _records(snap, "placements", files["placements"], m.Placement)
    ]
    snap.groups = [_group(g, ref) for g, ref in _records(snap, "groups", files["groups"], m.Group)]
    snap.syllabuses = {
        s.id.lower(): _syllabus(s)
        for s, _ in _records(snap, "syllabuses", files["syllabuses"], m.Syllabus)
    }
    snap.activities = [
        _activity(a, ref)
        for a, ref in _records(snap, "activities", files["activities"], m.Activity)
    ]
    if "calendarEvents" in snap.kinds:
        rooms = {
            x.id.lower(): x.displayName for x, _ in _records(snap, "rooms", files["rooms"], m.Room)
        }
        events = _records(snap, "calendarEvents", files["calendarEvents"], m.CalendarEvent)
        snap.lessons = calendar_lessons(snap, events, rooms)
    return snap


_ADAPTERS: dict[type[Any], tuple[TypeAdapter[Any], TypeAdapter[Any]]] = {}


def _fast_parse(model: type[M], data: bytes) -> tuple[list[M], Any] | None:
    """Parse and validate a whole file in one pass; None when anything in it does not fit.

    The slow path (JSON, then one record at a time) then finds and reports what is wrong.
    """
    adapters = _ADAPTERS.get(model)
    if adapters is None:
        records: Any = list[model]  # type: ignore[valid-type]
        page = create_model(f"{model.__name__}Page", data=(records, ...), pageToken=(Any, None))
        adapters = (TypeAdapter(records), TypeAdapter(page))
        _ADAPTERS[model] = adapters
    if b"\\u0000" in data:
        return None  # a NUL character: the slow path reports the record
    try:
        if data.lstrip()[:1] == b"[":
            return adapters[0].validate_json(data), None
        parsed = adapters[1].validate_json(data)
        return parsed.data, parsed.pageToken
    except ValidationError:
        return None


def _records(
    snap: r.RegisterSnapshot, endpoint: str, files: list[EndpointFile], model: type[M]
) -> list[tuple[M, r.RecordRef]]:
    """Every valid record of one endpoint, with where it came from; the others are reported."""
    good: list[tuple[M, r.RecordRef]] = []
    last: EndpointFile | None = None
    token: Any = None
    for f in files:
        fast = _fast_parse(model, f.data)
        if fast is not None:
            items, page_token = fast
            good.extend((item, r.RecordRef(f.display, i)) for i, item in enumerate(items))
        else:
            raw, page_token = records_of(parse_json(f.data, f.display), f.display)
            good.extend(_validate_each(snap, endpoint, f.display, raw, model))
        if f.paged:
            last, token = f, page_token
    check_page_chain(endpoint, last, token)
    return _without_duplicates(snap, endpoint, good)


def _bad_text(value: Any, where: str = "") -> str | None:
    """Where a record has text no database can store (a NUL, half a surrogate pair), if it does."""
    if isinstance(value, str):
        if "\x00" in value:
            return f"field {where or '(record)'}: has a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return f"field {where or '(record)'}: has broken Unicode (half a surrogate pair)"
        return None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = (
            f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else str(key))
        )
        found = _bad_text(item, path)
        if found:
            return found
    return None


def _error_text(exc: ValidationError | ValueError) -> str:
    """The first validation error as 'field x.y: message' (never the offending value)."""
    if not isinstance(exc, ValidationError):
        return str(exc)
    err = exc.errors(include_url=False, include_input=False)[0]
    loc = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(
        ".[", "["
    )
    return f"field {loc}: {err['msg']}" if loc else err["msg"]


def _raw_id(value: Any) -> str | None:
    if isinstance(value, dict):
        raw = value.get("id")
        if isinstance(raw, str) and raw.strip():
            return raw.strip()
    return None


# For a record that cannot be read: where the person it concerns is named (so that person is
# left as they are instead of being treated as gone).
_PERSON_REF = {"persons": None, "duties": "person", "placements": "child"}


def _mark_unreadable(snap: r.RegisterSnapshot, endpoint: str, value: Any) -> None:
    """Remember an unreadable record; for duties and placements, by the person they name."""
    field = _PERSON_REF.get(endpoint)
    if field is None:
        snap.mark_unreadable(endpoint, _raw_id(value))
        return
    person = _raw_id(_get(value, field))
    if person is None:
        snap.unidentified.add(endpoint)
    else:
        snap.mark_unreadable("persons", person)


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _is_protected_raw(value: Any) -> bool:
    return isinstance(value, dict) and value.get("securityMarking") not in (None, "Ingen")


def _validate_each(
    snap: r.RegisterSnapshot, endpoint: str, display: str, raw: list[Any], model: type[M]
) -> list[tuple[M, r.RecordRef]]:
    """Validate records one by one; skip and report the ones that do not fit."""
    kind = _KIND_NAMES[endpoint]
    good: list[tuple[M, r.RecordRef]] = []
    for index, value in enumerate(raw):
        ref = r.RecordRef(display, index)
        try:
            bad_text = _bad_text(value)
            if bad_text:
                raise ValueError(bad_text)
            good.append((model.model_validate(value), ref))
        except (ValidationError, ValueError) as exc:
            if endpoint == "organisations":
                raise InputError(
                    f"organisation record {index + 1} cannot be read ({_error_text(exc)}).",
                    "Every school unit decides whose links stay, so the run stopped without "
                    "changing anything. Correct the organisation in the register and export again.",
                    path=display,
                ) from exc
            rid = _raw_id(value)
            _mark_unreadable(snap, endpoint, value)
            if _is_protected_raw(value):
                what = f"A {kind} record with protected identity"
            else:
                what = f"The {kind} record {index + 1} of {display}" + (
                    f" (id {rid})" if rid else ""
                )
            snap.issues.append(
                issue(
                    "invalid-record",
                    f"{what} cannot be read ({_error_text(exc)}), so it was skipped and nothing "
                    f"about it was changed. Correct it in the register and export again.",
                    str(ref),
                )
            )
    return good


def _without_duplicates(
    snap: r.RegisterSnapshot, endpoint: str, good: list[tuple[M, r.RecordRef]]
) -> list[tuple[M, r.RecordRef]]:
    """Drop every record whose id occurs more than once, and report it."""
    kind = _KIND_NAMES[endpoint]
    counts = Counter(obj.id.lower() for obj, _ in good)
    dupes = {rid for rid, n in counts.items() if n > 1}
    if not dupes:
        return good
    if endpoint == "organisations":
        rid = min(dupes)
        where = "; ".join(str(ref) for obj, ref in good if obj.id.lower() == rid)
        raise InputError(
            f"The organisation id {rid} occurs {counts[rid]} times ({where}).",
            "Correct the export so each organisation occurs once.",
        )
    for rid in sorted(dupes):
        snap.mark_unreadable(endpoint, rid)
        for obj, _ in good:  # the persons these records are about stay as they are
            if obj.id.lower() == rid:
                _mark_unreadable(snap, endpoint, obj.model_dump(mode="json"))
        where = "; ".join(str(ref) for obj, ref in good if obj.id.lower() == rid)
        snap.issues.append(
            issue(
                "duplicate-id",
                f"The {kind} id {rid} occurs {counts[rid]} times ({where}), so none of those "
                f"records was used and nothing about them was changed. Each id must be unique: "
                f"correct the export.",
                rid,
            )
        )
    return [(obj, ref) for obj, ref in good if obj.id.lower() not in dupes]


def _add_unit(snap: r.RegisterSnapshot, org: m.Organisation, ref: r.RecordRef) -> None:
    snap.units[org.id.lower()] = r.Unit(
        id=org.id.lower(),
        name=org.displayName.strip(),
        org_type=org.organisationType,
        school_unit_code=(org.schoolUnitCode or "").strip() or None,
        school_types=tuple(org.schoolTypes or ()),
        parent_id=_ref(org.parentOrganisation),
        start_date=org.startDate,
        end_date=org.endDate,
    )


def _ref(ref: m.Ref | None) -> str | None:
    return ref.id.lower() if ref is not None else None


def _pick_email(emails: list[m.Email] | None) -> str | None:
    if not emails:
        return None
    best = min(emails, key=lambda e: _EMAIL_PREFERENCE.get(e.type, 3))
    return best.value.strip() or None


def _pick_mobile(phones: list[m.PhoneNumber] | None) -> str | None:
    for phone in phones or ():
        if phone.mobile and phone.value.strip():
            return phone.value.strip()
    return None


def _dump_all(items: list[Any] | None) -> list[dict[str, Any]]:
    return [i.model_dump(exclude_none=True) for i in items or ()]


def _person(p: m.Person, ref: r.RecordRef) -> r.Person:
    identifiers: dict[str, Any] = {}
    if p.eduPersonPrincipalNames:
        identifiers["eduPersonPrincipalNames"] = list(p.eduPersonPrincipalNames)
    if p.externalIdentifiers:
        identifiers["externalIdentifiers"] = _dump_all(p.externalIdentifiers)
    return r.Person(
        id=p.id.lower(),
        civic_no=p.civicNo.value if p.civicNo is not None else None,
        given_name=p.givenName.strip(),
        family_name=p.familyName.strip(),
        middle_name=(p.middleName or "").strip() or None,
        ref=ref,
        birth_date=p.birthDate,
        sex=p.sex,
        email=_pick_email(p.emails),
        mobile=_pick_mobile(p.phoneNumbers),
        addresses=tuple(_dump_all(p.addresses)),
        identifiers=identifiers,
        security_marking=p.securityMarking or "Ingen",
        person_status=p.personStatus or "Aktiv",
        enrolments=tuple(
            r.Enrolment(
                unit_id=e.enroledAt.id.lower(),
                school_type=e.schoolType,
                start_date=e.startDate,
                end_date=e.endDate,
                cancelled=bool(e.cancelled),
                school_year=e.schoolYear,
            )
            for e in p.enrolments or ()
        ),
        responsibles=tuple(
            r.Responsible(x.person.id.lower(), x.relationType) for x in p.responsibles or ()
        ),
    )


def _duty(d: m.Duty, ref: r.RecordRef) -> r.Duty:
    return r.Duty(
        id=d.id.lower(),
        person_id=_ref(d.person),
        unit_id=d.dutyAt.id.lower(),
        role=d.dutyRole,
        ref=ref,
        signature=(d.signature or "").strip() or None,
        start_date=d.startDate,
        end_date=d.endDate,
        assignment_roles=tuple(
            r.AssignmentRole(a.group.id.lower(), a.assignmentRoleType, a.startDate, a.endDate)
            for a in d.assignmentRole or ()
        ),
    )


def _placement(p: m.Placement) -> r.Placement:
    return r.Placement(
        id=p.id.lower(),
        child_id=p.child.id.lower(),
        unit_id=p.placedAt.id.lower(),
        school_type=p.schoolType,
        start_date=p.startDate,
        end_date=p.endDate,
        group_id=_ref(p.group),
    )


def _group(g: m.Group, ref: r.RecordRef) -> r.Group:
    return r.Group(
        id=g.id.lower(),
        name=g.displayName,
        group_type=g.groupType,
        unit_id=g.organisation.id.lower(),
        ref=ref,
        start_date=g.startDate,
        end_date=g.endDate,
        school_type=g.schoolType,
        members=tuple(
            r.GroupMember(x.person.id.lower(), x.startDate, x.endDate)
            for x in g.groupMemberships or ()
        ),
    )


def _syllabus(s: m.Syllabus) -> r.Syllabus:
    return r.Syllabus(
        id=s.id.lower(),
        subject_name=s.subjectName,
        subject_code=s.subjectCode,
        subject_designation=s.subjectDesignation,
        course_code=s.courseCode,
        course_name=s.courseName,
    )


def _activity(a: m.Activity, ref: r.RecordRef) -> r.Activity:
    return r.Activity(
        id=a.id.lower(),
        name=a.displayName,
        unit_id=a.organisation.id.lower(),
        ref=ref,
        group_ids=tuple(g.id.lower() for g in a.groups),
        teachers=tuple(
            r.ActivityTeacher(t.duty.id.lower(), t.startDate, t.endDate) for t in a.teachers or ()
        ),
        syllabus_id=_ref(a.syllabus),
        start_date=a.startDate,
        end_date=a.endDate,
        activity_type=a.activityType,
    )
