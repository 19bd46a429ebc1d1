"""Read an SS 12000 bundle directory into a :class:`RegisterSnapshot`.

File-level problems (unreadable file, invalid JSON, wrong shape, a cut-off page chain, an
organisation that cannot be read) raise :class:`InputError`: the run stops and nothing is applied.
Record-level problems (a person or duty with a wrong type, an unknown enum value, a missing required
field) skip that record with an ``invalid-record`` issue, and the record's id is remembered so that
the person is not treated as gone.
What real producers write outside the schema but can be read safely is read: an unreadable element
of an optional list is left out (``invalid-element``, one issue per record), and values taken by
assumption (an enum in another case, a missing ``startDate`` or ``organisationType``, an activity
teacher given by person) are reported once per field (``assumed-value``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError, create_model

from schoolsync.domain import records as r
from schoolsync.domain.issues import issue
from schoolsync.errors import InputError
from schoolsync.sources.ss12000 import models as m
from schoolsync.sources.ss12000.events import calendar_lessons
from schoolsync.sources.ss12000.files import (
    DEFAULT_MAX_FILE_BYTES,
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


def read_bundle(path: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES) -> r.RegisterSnapshot:
    """Read every endpoint file of a bundle.

    Args:
        path: The bundle directory.
        max_file_bytes: The largest file read (``[sources] max_file_mb``).

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
    files = {endpoint: read_files(path, endpoint, max_file_bytes) for endpoint in _KIND_NAMES}
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
        _person(snap, p, ref) for p, ref in _records(snap, "persons", files["persons"], m.Person)
    ]
    snap.duties = [
        _duty(snap, d, ref) for d, ref in _records(snap, "duties", files["duties"], m.Duty)
    ]
    snap.placements = [
        _placement(snap, p)
        for p, _ in _records(snap, "placements", files["placements"], m.Placement)
    ]
    snap.groups = [
        _group(snap, g, ref) for g, ref in _records(snap, "groups", files["groups"], m.Group)
    ]
    snap.syllabuses = {
        s.id.lower(): _syllabus(s)
        for s, _ in _records(snap, "syllabuses", files["syllabuses"], m.Syllabus)
    }
    snap.activities = _activities(
        snap, _records(snap, "activities", files["activities"], m.Activity)
    )
    _report_assumed(snap)
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
    pages: list[tuple[EndpointFile, Any]] = []
    for f in files:
        fast = _fast_parse(model, f.data)
        if fast is not None:
            items, page_token = fast
            good.extend((item, r.RecordRef(f.display, i)) for i, item in enumerate(items))
            found = len(items)
        else:
            raw, page_token, shape = records_of(parse_json(f.data, f.display), f.display, endpoint)
            if shape:
                snap.issues.append(
                    issue(
                        "assumed-value",
                        f"{f.display} is not in the SS 12000 page shape but holds {shape}; its "
                        f"records were read as if it were a page. Export the endpoint as "
                        f'{{"data": [...], "pageToken": null}} or a plain array.',
                        f.display,
                    )
                )
            good.extend(_validate_each(snap, endpoint, f.display, raw, model))
            found = len(raw)
        snap.counts[endpoint] = snap.counts.get(endpoint, 0) + found
        pages.append((f, page_token))
    check_page_chain(endpoint, pages)
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
    """A record's or reference's id, if it has one that could be a real id (at most 100
    characters, as every SS 12000 id read); else None, so that it counts as unidentified."""
    if isinstance(value, dict):
        raw = value.get("id")
        if isinstance(raw, str) and raw.strip() and len(raw.strip()) <= 100:
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


def _persons_named(endpoint: str, value: Any) -> tuple[str, ...]:
    """The register ids of the persons a record is about (for scrubbing, R11)."""
    field = _PERSON_REF.get(endpoint, "")
    if endpoint not in _PERSON_REF:
        return ()
    rid = _raw_id(value) if field is None else _raw_id(_get(value, field))
    return (rid.lower(),) if rid else ()


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _may_be_protected(endpoint: str, value: Any) -> bool:
    """Fail-safe R11: an unreadable person record is protected unless its ``securityMarking`` is
    exactly ``Ingen``: a misspelt, padded, differently cased or unreadable marking (a number, a
    list) is taken as protected. A marking left out (or null) means none, as in a readable
    record: producers often leave the optional field out."""
    marking = _get(value, "securityMarking")
    return endpoint == "persons" and marking is not None and marking != "Ingen"


def _mark_protected(snap: r.RegisterSnapshot, value: Any) -> None:
    """Remember a person who is, or may be, protected: by register id and by number."""
    rid = _raw_id(value)
    if rid:
        snap.protected_ids.add(rid.lower())
    civic = _get(_get(value, "civicNo"), "value")
    if isinstance(civic, str) and civic.strip():
        snap.protected_civics.add(civic.strip())


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
            if _may_be_protected(endpoint, value):
                _mark_protected(snap, value)
                message = (
                    f"A {kind} record whose securityMarking is not Ingen cannot be read "
                    f"({_error_text(exc)}), so it was skipped and the person is handled as "
                    f"protected identity (R11): their account, if any, is masked. Correct the "
                    f"record in the register and export again."
                )
                persons: tuple[str, ...] = ()  # the message names nobody: it stays
            else:
                what = f"The {kind} record {index + 1} of {display}" + (
                    f" (id {rid})" if rid else ""
                )
                message = (
                    f"{what} cannot be read ({_error_text(exc)}), so it was skipped and nothing "
                    f"about it was changed. Correct it in the register and export again."
                )
                persons = _persons_named(endpoint, value)
            snap.issues.append(issue("invalid-record", message, str(ref), persons))
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
    same: dict[str, list[tuple[M, r.RecordRef]]] = defaultdict(list)
    for obj, ref in good:
        if obj.id.lower() in dupes:
            same[obj.id.lower()].append((obj, ref))
    for rid in sorted(dupes):
        snap.mark_unreadable(endpoint, rid)
        named: list[str] = []
        protected = False
        for obj, _ in same[rid]:  # the persons these records are about stay as they are
            raw = obj.model_dump(mode="json")
            _mark_unreadable(snap, endpoint, raw)
            named.extend(_persons_named(endpoint, raw))
            if _may_be_protected(endpoint, raw):
                _mark_protected(snap, raw)
                protected = True
        where = "; ".join(str(ref) for _, ref in same[rid])
        snap.issues.append(
            issue(
                "duplicate-id",
                f"The {kind} id {rid} occurs {counts[rid]} times ({where}), so none of those "
                f"records was used and nothing about them was changed. Each id must be unique: "
                f"correct the export.",
                rid,
                () if protected else tuple(named),
            )
        )
    return [(obj, ref) for obj, ref in good if obj.id.lower() not in dupes]


def _add_unit(snap: r.RegisterSnapshot, org: m.Organisation, ref: r.RecordRef) -> None:
    code = (org.schoolUnitCode or "").strip() or None
    org_type: str
    if org.organisationType is not None:
        org_type = _enum(snap, "organisations", "organisationType", org.organisationType)
    else:  # Skolverket's DNP profile: a unit with a skolenhetskod is a school unit
        org_type = "Skolenhet" if code else "Övrigt"
        _assume(snap, "organisations", "organisationType", f"missing:{org_type}")
    snap.units[org.id.lower()] = r.Unit(
        id=org.id.lower(),
        name=org.displayName.strip(),
        org_type=org_type,
        school_unit_code=code,
        school_types=tuple(
            _enum(snap, "organisations", "schoolTypes", t) for t in org.schoolTypes or ()
        ),
        parent_id=_ref(org.parentOrganisation),
        start_date=org.startDate,
        end_date=org.endDate,
    )


def _ref(ref: m.Ref | None) -> str | None:
    return ref.id.lower() if ref is not None else None


def _pick_email(emails: list[m.Email]) -> str | None:
    if not emails:
        return None
    best = min(emails, key=lambda e: _EMAIL_PREFERENCE.get(e.type, 3))
    return best.value.strip() or None


def _pick_mobile(phones: list[m.PhoneNumber]) -> str | None:
    for phone in phones:
        if phone.mobile and phone.value.strip():
            return phone.value.strip()
    return None


def _dump_all(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(exclude_none=True) for i in items]


# --- what real producers write: assumptions and dropped parts ---------------------------------


def _assume(snap: r.RegisterSnapshot, endpoint: str, field: str, what: str) -> None:
    """Count one value read by assumption (reported once per run by :func:`_report_assumed`)."""
    key = (endpoint, field, what)
    snap.assumed[key] = snap.assumed.get(key, 0) + 1


def _enum(snap: r.RegisterSnapshot, endpoint: str, field: str, value: str) -> str:
    """An enum value as a plain string; one written in another case is counted."""
    if isinstance(value, m.Assumed):
        _assume(snap, endpoint, field, f"case:{value.given.strip()[:60]}\x1f{value}")
        return str(value)
    return value


def _opt_enum(snap: r.RegisterSnapshot, endpoint: str, field: str, value: str | None) -> str | None:
    return None if value is None else _enum(snap, endpoint, field, value)


def _start(snap: r.RegisterSnapshot, endpoint: str, field: str, value: date | None) -> date | None:
    """A start date that the standard requires; a missing one is read as open, and counted."""
    if value is None:
        _assume(snap, endpoint, field, "missing")
    return value


_I = TypeVar("_I")


class _Parts:
    """The parts of one record that could not be read and were left out (``invalid-element``)."""

    def __init__(self) -> None:
        self.dropped: list[str] = []

    def keep(self, name: str, items: list[_I | m.Dropped] | None) -> list[_I]:
        """The readable elements of an optional list; the others are noted by position."""
        if items is None:
            return []
        if isinstance(items, m.DroppedList):
            self.dropped.append(f"{name} ({items.error})")
            return []
        kept: list[_I] = []
        for index, item in enumerate(items):
            if isinstance(item, m.Dropped):
                self.dropped.append(f"{name}[{index}] ({item.error})")
            else:
                kept.append(item)
        return kept

    def report(
        self,
        snap: r.RegisterSnapshot,
        endpoint: str,
        rid: str,
        ref: r.RecordRef,
        person: str | None,
        protected: bool = False,
    ) -> None:
        """One issue for the record, naming every part that was left out; and remember whose
        record lost which field, so that what came from it stays as it was (R3.1)."""
        if not self.dropped:
            return
        for part in self.dropped:
            field = re.split(r"[\[ ]", part, maxsplit=1)[0]
            owner = (person or "").lower() if endpoint != "activities" else rid.lower()
            if owner:
                snap.partial.setdefault(f"{endpoint}.{field}", set()).add(owner)
        kind = _KIND_NAMES[endpoint]
        what = (
            f"A {kind} record with protected identity"
            if protected
            else f"The {kind} record {ref.index + 1} of {ref.path} (id {rid})"
        )
        snap.issues.append(
            issue(
                "invalid-element",
                f"{what} has parts that cannot be read: {'; '.join(self.dropped)}. Those parts "
                f"were left out and the rest of the record was used. Correct them in the "
                f"register and export again.",
                str(ref),
                (person.lower(),) if person and not protected else (),
            )
        )


def _report_assumed(snap: r.RegisterSnapshot) -> None:
    """One ``assumed-value`` issue per field and kind of assumption made in this read."""
    grouped: dict[tuple[str, str, str], dict[str, int]] = {}
    for (endpoint, field, what), count in snap.assumed.items():
        grouped.setdefault((endpoint, field, what.split(":")[0]), {})[what] = count
    for (endpoint, field, how), seen in sorted(grouped.items()):
        snap.issues.append(
            issue(
                "assumed-value",
                _assumed_message(endpoint, field, how, seen),
                f"{endpoint}.json: {field}",
            )
        )


_PLURALS = {
    "organisation": "organisations",
    "person": "persons",
    "enrolment": "enrolments",
    "duty": "duties",
    "placement": "placements",
    "group": "groups",
    "activity": "activities",
    "activity teacher": "activity teachers",
}


def _n(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else _PLURALS.get(word, word + 's')}"


def _assumed_message(endpoint: str, field: str, how: str, seen: dict[str, int]) -> str:
    total = sum(seen.values())
    file = f"{endpoint}.json"
    if how == "person":
        return (
            f"{_n(total, 'activity teacher')} in {file} are given by person (teachers[].person) "
            f"instead of by duty (teachers[].duty); each was read as that person's duty at the "
            f"activity's organisation. Where the register can, export teachers[].duty."
        )
    have = "has" if total == 1 else "have"
    if how == "missing" and field == "organisationType":
        schools, others = seen.get("missing:Skolenhet", 0), seen.get("missing:Övrigt", 0)
        taken = []
        if schools:
            taken.append(
                f"{_n(schools, 'organisation')} with a schoolUnitCode read as "
                f"{'a school unit' if schools == 1 else 'school units'} (Skolenhet)"
            )
        if others:
            taken.append(f"{others} without one read as Övrigt (feeding no school)")
        return (
            f"{_n(total, 'organisation')} in {file} {have} no organisationType, which the "
            f"standard requires: {' and '.join(taken)}. If that is wrong, add "
            f"organisationType in the register."
        )
    word = "value" if "[]" in field else _KIND_NAMES[endpoint]
    if how == "missing":
        word = "enrolment" if field.startswith("enrolments") else word
        return (
            f"{_n(total, word)} in {file} {have} no {field.rsplit('.', 1)[-1]}, which the "
            f"standard requires; read as open from the start (no start date). Add the start "
            f"date in the register if it matters."
        )
    spellings = []
    for what in sorted(seen):
        given, _, canonical = what.removeprefix("case:").partition("\x1f")
        spellings.append(f"{given!r} as {canonical!r}")
    return (
        f"{field} is written in another case than the standard's in {_n(total, word)} of "
        f"{file}: read {', '.join(spellings)}. Nothing was skipped; the register's export "
        f"should use the standard spelling."
    )


def _person(snap: r.RegisterSnapshot, p: m.Person, ref: r.RecordRef) -> r.Person:
    parts = _Parts()
    identifiers: dict[str, Any] = {}
    principals = parts.keep("eduPersonPrincipalNames", p.eduPersonPrincipalNames)
    if principals:
        identifiers["eduPersonPrincipalNames"] = principals
    external = parts.keep("externalIdentifiers", p.externalIdentifiers)
    if external:
        identifiers["externalIdentifiers"] = _dump_all(external)
    emails = parts.keep("emails", p.emails)
    for email in emails:
        _enum(snap, "persons", "emails[].type", email.type)
    phones = parts.keep("phoneNumbers", p.phoneNumbers)
    addresses = parts.keep("addresses", p.addresses)
    person = r.Person(
        id=p.id.lower(),
        civic_no=p.civicNo.value if p.civicNo is not None else None,
        given_name=p.givenName.strip(),
        family_name=p.familyName.strip(),
        middle_name=(p.middleName or "").strip() or None,
        ref=ref,
        birth_date=p.birthDate,
        sex=_opt_enum(snap, "persons", "sex", p.sex),
        email=_pick_email(emails),
        mobile=_pick_mobile(phones),
        addresses=tuple(_dump_all(addresses)),
        identifiers=identifiers,
        security_marking="Ingen" if p.securityMarking is None else p.securityMarking,
        person_status=_opt_enum(snap, "persons", "personStatus", p.personStatus) or "Aktiv",
        enrolments=tuple(
            r.Enrolment(
                unit_id=e.enroledAt.id.lower(),
                school_type=_enum(snap, "persons", "enrolments[].schoolType", e.schoolType),
                start_date=_start(snap, "persons", "enrolments[].startDate", e.startDate),
                end_date=e.endDate,
                cancelled=bool(e.cancelled),
                school_year=e.schoolYear,
            )
            for e in p.enrolments or ()
        ),
        responsibles=tuple(
            r.Responsible(
                x.person.id.lower(),
                _enum(snap, "persons", "responsibles[].relationType", x.relationType),
            )
            for x in p.responsibles or ()
        ),
    )
    parts.report(snap, "persons", p.id, ref, person.id, person.is_protected)
    return person


def _duty(snap: r.RegisterSnapshot, d: m.Duty, ref: r.RecordRef) -> r.Duty:
    parts = _Parts()
    roles = parts.keep("assignmentRole", d.assignmentRole)
    parts.report(snap, "duties", d.id, ref, _ref(d.person))
    return r.Duty(
        id=d.id.lower(),
        person_id=_ref(d.person),
        unit_id=d.dutyAt.id.lower(),
        role=_enum(snap, "duties", "dutyRole", d.dutyRole),
        ref=ref,
        signature=(d.signature or "").strip() or None,
        start_date=_start(snap, "duties", "startDate", d.startDate),
        end_date=d.endDate,
        assignment_roles=tuple(
            r.AssignmentRole(
                a.group.id.lower(),
                _enum(snap, "duties", "assignmentRole[].assignmentRoleType", a.assignmentRoleType),
                a.startDate,
                a.endDate,
            )
            for a in roles
        ),
    )


def _placement(snap: r.RegisterSnapshot, p: m.Placement) -> r.Placement:
    return r.Placement(
        id=p.id.lower(),
        child_id=p.child.id.lower(),
        unit_id=p.placedAt.id.lower(),
        school_type=_enum(snap, "placements", "schoolType", p.schoolType),
        start_date=p.startDate,
        end_date=p.endDate,
        group_id=_ref(p.group),
    )


def _group(snap: r.RegisterSnapshot, g: m.Group, ref: r.RecordRef) -> r.Group:
    return r.Group(
        id=g.id.lower(),
        name=g.displayName,
        group_type=_enum(snap, "groups", "groupType", g.groupType),
        unit_id=g.organisation.id.lower(),
        ref=ref,
        start_date=_start(snap, "groups", "startDate", g.startDate),
        end_date=g.endDate,
        school_type=_opt_enum(snap, "groups", "schoolType", g.schoolType),
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


def _activities(
    snap: r.RegisterSnapshot, found: list[tuple[m.Activity, r.RecordRef]]
) -> list[r.Activity]:
    """The activities, with teachers given by person resolved to that person's duty."""
    duties: dict[tuple[str, str], list[str]] = {}
    for duty in snap.duties:
        if duty.person_id is not None:
            duties.setdefault((duty.person_id, duty.unit_id), []).append(duty.id)
    unresolved: dict[tuple[str, str], list[r.Activity]] = {}
    out = [_activity(snap, a, ref, duties, unresolved) for a, ref in found]
    _report_unresolved(snap, duties, unresolved)
    return out


def _activity(
    snap: r.RegisterSnapshot,
    a: m.Activity,
    ref: r.RecordRef,
    duties: dict[tuple[str, str], list[str]],
    unresolved: dict[tuple[str, str], list[r.Activity]],
) -> r.Activity:
    unit_id = a.organisation.id.lower()
    teachers = []
    by_person = []
    parts = _Parts()
    for index, t in enumerate(a.teachers or ()):
        if t.duty is not None:
            teachers.append(r.ActivityTeacher(t.duty.id.lower(), t.startDate, t.endDate))
            continue
        if t.person is None:
            parts.dropped.append(f"teachers[{index}] (names neither a duty nor a person)")
            continue
        person_id = t.person.id.lower()
        _assume(snap, "activities", "teachers[].person", "person")
        found = duties.get((person_id, unit_id), [])
        if len(found) == 1:
            teachers.append(r.ActivityTeacher(found[0], t.startDate, t.endDate))
        else:
            by_person.append(person_id)
    activity = r.Activity(
        id=a.id.lower(),
        name=a.displayName,
        unit_id=unit_id,
        ref=ref,
        group_ids=tuple(g.id.lower() for g in a.groups),
        teachers=tuple(teachers),
        syllabus_id=_ref(a.syllabus),
        start_date=a.startDate,
        end_date=a.endDate,
        activity_type=_opt_enum(snap, "activities", "activityType", a.activityType),
    )
    for person_id in by_person:
        unresolved.setdefault((person_id, unit_id), []).append(activity)
    parts.report(snap, "activities", a.id, ref, None)
    return activity


def _report_unresolved(
    snap: r.RegisterSnapshot,
    duties: dict[tuple[str, str], list[str]],
    unresolved: dict[tuple[str, str], list[r.Activity]],
) -> None:
    """One issue per person and organisation whose activity teaching could not be resolved."""
    if not unresolved:
        return
    protected = {p.id for p in snap.persons if p.is_protected} | snap.protected_ids
    units_of: dict[str, list[str]] = {}
    for person_id, unit_id in duties:
        units_of.setdefault(person_id, []).append(unit_id)
    for (person_id, unit_id), activities in sorted(unresolved.items()):
        where = _unit_name(snap, unit_id)
        found = len(duties.get((person_id, unit_id), []))
        elsewhere = sorted(_unit_name(snap, other) for other in units_of.get(person_id, ()))
        why = f"has {found} duties there" if found else "has no duty there"
        if not found and elsewhere:
            why += f" (only at {', '.join(elsewhere)})"
        hidden = person_id in protected
        who = "a person with protected identity" if hidden else f"the person id {person_id}"
        first = activities[0]
        more = f" and {len(activities) - 1} more" if len(activities) > 1 else ""
        name = "name" if more else "names"
        snap.issues.append(
            issue(
                "unknown-reference",
                f"The activity {first.name!r} ({first.ref}){more} at {where} {name} {who} as "
                f"teacher, but that person {why}, so no teacher was linked through it. Export "
                f"teachers[].duty, or give the person one duty (dutyAt) at that organisation.",
                "" if hidden else person_id,
                (person_id,),
            )
        )


def _unit_name(snap: r.RegisterSnapshot, unit_id: str) -> str:
    unit = snap.units.get(unit_id)
    return f"{unit.name} ({unit.key})" if unit else f"the organisation id {unit_id}"
