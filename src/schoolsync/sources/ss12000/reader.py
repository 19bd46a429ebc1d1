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

The bundle is read one file at a time: every file is checked first (so the first unreadable file
stops the run before anything is parsed), then each endpoint's files are parsed and turned into
records in turn, and only the records are kept. A file whose every record follows the schema is
decoded by msgspec (:mod:`.fast`); any other file is read with the pydantic models, record by
record where it must be, with every tolerance rule.
"""

from __future__ import annotations

import gc
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter, ValidationError, create_model

from schoolsync.domain import records as r
from schoolsync.domain.issues import issue
from schoolsync.errors import InputError
from schoolsync.sources.ss12000 import fast
from schoolsync.sources.ss12000 import models as m
from schoolsync.sources.ss12000.events import LessonReader
from schoolsync.sources.ss12000.files import (
    DEFAULT_MAX_FILE_BYTES,
    BundleFile,
    check_page_chain,
    find_files,
    parse_json,
    records_of,
)
from schoolsync.sources.ss12000.note import read_note

M = TypeVar("M", bound=m.Entity)
_R = TypeVar("_R")

UNKNOWN_MARKING = "Okänd"
"""The security marking of a person an API read gave none (R11: handled as protected)."""

# The marking of a person whose record has none: "Ingen" in an export (producers leave the
# optional field out), UNKNOWN_MARKING in an API read (the client may lack the scope that shows
# it, and must not leak anyone).
_absent_marking: ContextVar[str] = ContextVar("absent_marking", default="Ingen")

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


def read_bundle(
    path: Path, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, label: str | None = None
) -> r.RegisterSnapshot:
    """Read every endpoint file of a bundle.

    A bundle an API read wrote (it holds ``fetch.json``) is read as that API read: a person
    without a ``securityMarking`` is handled as protected, and the endpoints the provider did
    not let the read have are reported.

    Args:
        path: The bundle directory.
        max_file_bytes: The largest file read (``[sources] max_file_mb``).
        label: What the run report names the source (default: the path).

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
    collecting = gc.isenabled()
    marking = None
    # A read makes millions of small objects and no reference cycles; while it runs, the cyclic
    # garbage collector would scan the growing snapshot again and again (most of the time of
    # the read it replaces).
    gc.disable()
    try:
        # Each file is parsed in _Reader.endpoint, called from here: as deep in the stack as
        # files always were parsed (how deeply nested a JSON file can be read depends on that).
        snap = r.RegisterSnapshot(source=label or str(path))
        note = read_note(path)
        if note is not None:
            snap.issues.extend(note.issues())
            snap.api = note.stats
            snap.withheld.update(note.withheld)
            if note.security_marking_required:
                marking = _absent_marking.set(UNKNOWN_MARKING)
        files = {endpoint: find_files(path, endpoint, max_file_bytes) for endpoint in _KIND_NAMES}
        snap.kinds = {endpoint for endpoint, found in files.items() if found}
        if not snap.kinds:
            raise InputError(
                "holds no SS 12000 files (organisations.json, persons.json, duties.json, ...).",
                "Give the folder the register export was written to.",
                path=str(path),
            )
        read = _Reader(snap, max_file_bytes)
        for unit in read.endpoint("organisations", files["organisations"], m.Organisation, _unit):
            snap.units[unit.id] = unit
        snap.persons = read.endpoint("persons", files["persons"], m.Person, _person, _quick_person)
        _report_unknown_markings(snap)
        persons = {x.id for x in snap.persons} | snap.unreadable_ids.get("persons", set())
        snap.duties = read.endpoint("duties", files["duties"], m.Duty, _duty)
        _unknown_persons_named(snap, "duties", persons)
        snap.placements = read.endpoint("placements", files["placements"], m.Placement, _placement)
        _unknown_persons_named(snap, "placements", persons)
        snap.groups = read.endpoint("groups", files["groups"], m.Group, _group, _quick_group)
        snap.syllabuses = {
            s.id: s for s in read.endpoint("syllabuses", files["syllabuses"], m.Syllabus, _syllabus)
        }
        activities = _Activities(snap)
        snap.activities = read.endpoint(
            "activities", files["activities"], m.Activity, activities.convert
        )
        activities.report()
        _report_assumed(snap)
        if "calendarEvents" in snap.kinds:
            rooms = {x.id: x.name for x in read.endpoint("rooms", files["rooms"], m.Room, _room)}
            lessons = LessonReader(snap, rooms)
            events = read.endpoint(
                "calendarEvents", files["calendarEvents"], m.CalendarEvent, lessons.convert
            )
            snap.lessons = lessons.snapshot(events)
        return snap
    finally:
        if marking is not None:
            _absent_marking.reset(marking)
        if collecting:
            if gc.get_freeze_count() == 0:
                # What the read made goes straight to the oldest generation, as long-lived
                # objects do, instead of being scanned as new ones by the next collections.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


class _Pending:
    """What turning an endpoint's records into the snapshot's does to the snapshot (assumptions
    counted, parts left out reported, ...), held back until the endpoint's duplicates are known:
    a record whose id occurs twice is not used, so nothing of it is reported.

    Attributes:
        snap: The snapshot read into.
        check: The read's checks of what the fast path decoded (and its shared dates).
        strings: The read's shared strings.
        at: The position of the record being turned, among the endpoint's.
    """

    __slots__ = ("at", "calls", "check", "snap", "strings")

    def __init__(self, snap: r.RegisterSnapshot, check: fast.Check) -> None:
        self.snap = snap
        self.check = check
        self.strings = check.strings
        self.at = 0
        self.calls: list[tuple[int, Callable[..., None], tuple[Any, ...]]] = []

    def later(self, call: Callable[..., None], *args: Any) -> None:
        """Do ``call(*args)`` for the current record, once it is known to be used."""
        self.calls.append((self.at, call, args))

    def run(self, unused: set[int]) -> None:
        """Do what was held back, in order, for every record but the unused ones."""
        for at, call, args in self.calls:
            if at not in unused:
                call(*args)
        self.calls.clear()


Convert = Callable[[_Pending, Any, r.RecordRef], _R]
Quick = Callable[[_Pending, Any, r.RecordRef], Any]


class _Reader:
    """Reads one endpoint at a time, one file at a time."""

    def __init__(self, snap: r.RegisterSnapshot, max_file_bytes: int) -> None:
        self.snap = snap
        self.max_file_bytes = max_file_bytes
        self.check = fast.Check(fast.Strings())

    def endpoint(
        self,
        endpoint: str,
        files: list[BundleFile],
        model: type[M],
        convert: Convert[_R],
        quick: Quick | None = None,
    ) -> list[_R]:
        """Every usable record of one endpoint, turned by ``convert``, in reading order; the
        records that cannot be read and those whose id occurs twice are reported.

        A file that msgspec decodes is turned by ``quick`` (by default: checked, then turned by
        ``convert``); one that it does not, or whose check fails, is read with the models.
        """
        snap = self.snap
        pending = _Pending(snap, self.check)
        turn: Quick = quick or _checked(getattr(self.check, _CHECKS[endpoint]), convert)
        out: list[_R] = []
        refs: list[r.RecordRef] = []
        pages: list[tuple[BundleFile, Any]] = []
        for f in files:
            # Every parser is called from here, at the depth it always was (see read_bundle).
            data = f.read(self.max_file_bytes)
            parsed = fast.decode(data)
            if parsed is not None:
                undecoded, page_token = parsed
                first, calls = len(out), len(pending.calls)
                try:
                    for i, record in enumerate(fast.records(endpoint, undecoded)):
                        ref = r.RecordRef(f.display, i)
                        pending.at = len(out)
                        out.append(turn(pending, record, ref))
                        refs.append(ref)
                except fast.Unfit:  # read the whole file the models' way instead
                    del out[first:], refs[first:], pending.calls[calls:]
                    parsed = None
                count = len(undecoded)
                del undecoded
            if parsed is None:
                typed = _parse_whole(model, data)
                found: list[tuple[Any, r.RecordRef]]
                if typed is not None:
                    items, page_token = typed
                    found = [(x, r.RecordRef(f.display, i)) for i, x in enumerate(items)]
                    count = len(items)
                    del items
                else:
                    raw, page_token, shape = records_of(
                        parse_json(data, f.display), f.display, endpoint
                    )
                    if shape:
                        snap.issues.append(
                            issue(
                                "assumed-value",
                                f"{f.display} is not in the SS 12000 page shape but holds "
                                f"{shape}; its records were read as if it were a page. Export "
                                f'the endpoint as {{"data": [...], "pageToken": null}} or a '
                                f"plain array.",
                                f.display,
                            )
                        )
                    found = _validate_each(snap, endpoint, f.display, raw, model)
                    count = len(raw)
                    del raw
                for record, ref in found:
                    pending.at = len(out)
                    out.append(convert(pending, record, ref))
                    refs.append(ref)
                del found, typed
            del data, parsed  # the file's parsed records are not needed any more
            snap.counts[endpoint] = snap.counts.get(endpoint, 0) + count
            pages.append((f, page_token))
        check_page_chain(endpoint, pages)
        unused = _without_duplicates(snap, endpoint, out, refs)
        pending.run(unused)
        return [x for at, x in enumerate(out) if at not in unused] if unused else out


_CHECKS = {  # the fast path's check of each endpoint read without a quick reader of its own
    "organisations": "organisation",
    "duties": "duty",
    "placements": "placement",
    "syllabuses": "syllabus",
    "activities": "activity",
    "calendarEvents": "calendar_event",
    "rooms": "room",
}


def _checked(check: Callable[[Any], Any], convert: Convert[_R]) -> Quick:
    """Turn a record the fast path decoded as the models' path turns it, once checked."""

    def turn(fx: _Pending, record: Any, ref: r.RecordRef) -> _R:
        return convert(fx, check(record), ref)

    return turn


_ADAPTERS: dict[type[Any], tuple[TypeAdapter[Any], TypeAdapter[Any]]] = {}


def _parse_whole(model: type[M], data: bytes) -> tuple[list[M], Any] | None:
    """Parse and validate a whole file with the models in one pass; None when anything in it
    does not fit.

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


def _unknown_persons_named(snap: r.RegisterSnapshot, endpoint: str, persons: set[str]) -> None:
    """After duties or placements are read: an unreadable one that names a person the register
    has no record of (its reference may be what is damaged) cannot be told to be anyone's, so
    the kind counts as unidentified, as if it named no one (nobody's links of it end)."""
    if not snap.unreadable_ids.get("persons", set()) <= persons:
        snap.unidentified.add(endpoint)
        persons.update(snap.unreadable_ids["persons"])


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
    if marking is None:
        marking = _absent_marking.get()
    return endpoint == "persons" and marking != "Ingen"


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
    snap: r.RegisterSnapshot, endpoint: str, found: list[Any], refs: list[r.RecordRef]
) -> set[int]:
    """The positions of every record whose id occurs more than once, which are reported."""
    kind = _KIND_NAMES[endpoint]
    counts = Counter(x.id for x in found)
    dupes = {rid for rid, n in counts.items() if n > 1}
    if not dupes:
        return set()
    if endpoint == "organisations":
        rid = min(dupes)
        where = "; ".join(str(ref) for x, ref in zip(found, refs, strict=True) if x.id == rid)
        raise InputError(
            f"The organisation id {rid} occurs {counts[rid]} times ({where}).",
            "Correct the export so each organisation occurs once.",
        )
    same: dict[str, list[int]] = defaultdict(list)
    for at, x in enumerate(found):
        if x.id in dupes:
            same[x.id].append(at)
    for rid in sorted(dupes):
        snap.mark_unreadable(endpoint, rid)
        named: list[str] = []
        protected = False
        for at in same[rid]:  # the persons these records are about stay as they are
            who, marked = _mark_duplicate(snap, endpoint, found[at])
            named.extend(who)
            protected = protected or marked
        where = "; ".join(str(refs[at]) for at in same[rid])
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
    return {at for ats in same.values() for at in ats}


def _mark_duplicate(
    snap: r.RegisterSnapshot, endpoint: str, x: Any
) -> tuple[tuple[str, ...], bool]:
    """Remember a record left out as a duplicate as :func:`_mark_unreadable` and
    :func:`_mark_protected` remember an unreadable one; the persons it names, and whether the
    person it is may be protected.

    The ids are taken from the record as read (lower case; an id has at most 100 characters and
    lower case commutes with stripping spaces), so they are what the record's own text gives.
    """
    if endpoint not in _PERSON_REF:
        snap.mark_unreadable(endpoint, x.id.strip() or None)
        return (), False
    if endpoint == "persons":
        who = x.id.strip() or None
    elif endpoint == "duties":
        who = (x.person_id or "").strip() or None
    else:
        who = x.child_id.strip() or None
    if who is None and endpoint != "persons":
        snap.unidentified.add(endpoint)
    else:
        snap.mark_unreadable("persons", who)
    protected = endpoint == "persons" and x.is_protected
    if protected:
        if who:
            snap.protected_ids.add(who)
        civic = x.civic_no
        if civic is not None and civic.strip():
            snap.protected_civics.add(civic.strip())
    return ((who,) if who else ()), protected


def _unit(fx: _Pending, org: m.Organisation, ref: r.RecordRef) -> r.Unit:
    code = (org.schoolUnitCode or "").strip() or None
    org_type: str
    if org.organisationType is not None:
        org_type = _enum(fx, "organisations", "organisationType", org.organisationType)
    else:  # Skolverket's DNP profile: a unit with a skolenhetskod is a school unit
        org_type = "Skolenhet" if code else "Övrigt"
        _assume(fx, "organisations", "organisationType", f"missing:{org_type}")
    return r.Unit(
        id=fx.strings[org.id.lower()],
        name=org.displayName.strip(),
        org_type=org_type,
        school_unit_code=code,
        school_types=tuple(
            _enum(fx, "organisations", "schoolTypes", t) for t in org.schoolTypes or ()
        ),
        parent_id=_ref(org.parentOrganisation, fx.strings),
        start_date=org.startDate,
        end_date=org.endDate,
    )


def _ref(ref: m.Ref | None, strings: fast.Strings | None = None) -> str | None:
    if ref is None:
        return None
    return ref.id.lower() if strings is None else strings[ref.id.lower()]


def _pick_email(emails: Sequence[m.Email | fast.Email]) -> str | None:
    if not emails:
        return None
    if len(emails) == 1:
        best = emails[0]
    else:
        best = min(emails, key=lambda e: _EMAIL_PREFERENCE.get(e.type, 3))
    return best.value.strip() or None


def _pick_mobile(phones: Sequence[m.PhoneNumber | fast.PhoneNumber]) -> str | None:
    for phone in phones:
        if phone.mobile and phone.value.strip():
            return phone.value.strip()
    return None


def _dump_all(items: list[Any]) -> list[dict[str, Any]]:
    """The elements as ``model_dump(exclude_none=True)`` gives them (the fast path gives an
    address as that dict already)."""
    return [i if isinstance(i, dict) else i.model_dump(exclude_none=True) for i in items]


# --- what real producers write: assumptions and dropped parts ---------------------------------


def _assume(fx: _Pending, endpoint: str, field: str, what: str) -> None:
    """Count one value read by assumption (reported once per run by :func:`_report_assumed`)."""
    fx.later(_count_assumed, fx.snap, (endpoint, field, what))


def _count_assumed(snap: r.RegisterSnapshot, key: tuple[str, str, str]) -> None:
    snap.assumed[key] = snap.assumed.get(key, 0) + 1


def _enum(fx: _Pending, endpoint: str, field: str, value: str) -> str:
    """An enum value as a plain string; one written in another case is counted."""
    if isinstance(value, m.Assumed):
        _assume(fx, endpoint, field, f"case:{value.given.strip()[:60]}\x1f{value}")
        return str(value)
    return value


def _opt_enum(fx: _Pending, endpoint: str, field: str, value: str | None) -> str | None:
    return None if value is None else _enum(fx, endpoint, field, value)


def _start(fx: _Pending, endpoint: str, field: str, value: date | None) -> date | None:
    """A start date that the standard requires; a missing one is read as open, and counted."""
    if value is None:
        _assume(fx, endpoint, field, "missing")
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
        fx: _Pending,
        endpoint: str,
        rid: str,
        ref: r.RecordRef,
        person: str | None,
        protected: bool = False,
    ) -> None:
        """One issue for the record, naming every part that was left out; and remember whose
        record lost which field, so that what came from it stays as it was (R3.1)."""
        if self.dropped:
            fx.later(self._report, fx.snap, endpoint, rid, ref, person, protected)

    def _report(
        self,
        snap: r.RegisterSnapshot,
        endpoint: str,
        rid: str,
        ref: r.RecordRef,
        person: str | None,
        protected: bool,
    ) -> None:
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


def _report_unknown_markings(snap: r.RegisterSnapshot) -> None:
    """R11 in an API read: persons the API gave no securityMarking are handled as protected;
    said once, without naming anyone."""
    count = sum(1 for p in snap.persons if p.security_marking == UNKNOWN_MARKING)
    if not count:
        return
    if count == len(snap.persons):
        snap.withheld.add("persons.securityMarking")
    snap.issues.append(
        issue(
            "security-marking-missing",
            f"{count} person record(s) of the API read have no securityMarking, so they were "
            f"handled as protected identity (R11): not synced, and masked if they have an "
            f"account. The API client most likely lacks the scope that shows the marking: ask "
            f"the register's administrator to give it that scope, then run again.",
            "persons: securityMarking",
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


def _person(fx: _Pending, p: m.Person, ref: r.RecordRef) -> r.Person:
    keep = fx.strings
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
        _enum(fx, "persons", "emails[].type", email.type)
    phones = parts.keep("phoneNumbers", p.phoneNumbers)
    addresses = parts.keep("addresses", p.addresses)
    middle = (p.middleName or "").strip()
    person = r.Person(
        id=keep[p.id.lower()],
        civic_no=p.civicNo.value if p.civicNo is not None else None,
        given_name=keep[p.givenName.strip()],
        family_name=keep[p.familyName.strip()],
        middle_name=keep[middle] if middle else None,
        ref=ref,
        birth_date=p.birthDate,
        sex=_opt_enum(fx, "persons", "sex", p.sex),
        email=_pick_email(emails),
        mobile=_pick_mobile(phones),
        addresses=r.json_text(_dump_all(addresses)),
        identifiers=r.json_text(identifiers),
        security_marking=(
            _absent_marking.get() if p.securityMarking is None else keep[p.securityMarking]
        ),
        person_status=_opt_enum(fx, "persons", "personStatus", p.personStatus) or "Aktiv",
        enrolments=tuple(
            [
                r.Enrolment(
                    unit_id=keep[e.enroledAt.id.lower()],
                    school_type=_enum(fx, "persons", "enrolments[].schoolType", e.schoolType),
                    start_date=_start(fx, "persons", "enrolments[].startDate", e.startDate),
                    end_date=e.endDate,
                    cancelled=bool(e.cancelled),
                    school_year=e.schoolYear,
                )
                for e in p.enrolments or ()
            ]
        ),
        responsibles=tuple(
            [
                r.Responsible(
                    keep[x.person.id.lower()],
                    _enum(fx, "persons", "responsibles[].relationType", x.relationType),
                )
                for x in p.responsibles or ()
            ]
        ),
    )
    parts.report(fx, "persons", p.id, ref, person.id, person.is_protected)
    return person


def _quick_person(fx: _Pending, p: fast.Person, ref: r.RecordRef) -> r.Person:
    """:func:`_person` for a record the fast path decoded, in one pass with its check: every
    value is spelt as the standard says, so there is no enum to count and no part to leave out.

    Raises:
        fast.Unfit: When a value is not one the fast path takes.
    """
    keep = fx.strings
    check = fx.check
    day = check.day
    identifiers: dict[str, Any] = {}
    if p.eduPersonPrincipalNames:
        identifiers["eduPersonPrincipalNames"] = p.eduPersonPrincipalNames
    if p.externalIdentifiers:
        identifiers["externalIdentifiers"] = [
            {"value": x.value, "context": keep[x.context], "globallyUnique": x.globallyUnique}
            for x in p.externalIdentifiers
        ]
    enrolments = []
    for e in p.enrolments or ():
        start = day(e.startDate)
        if start is None:
            _assume(fx, "persons", "enrolments[].startDate", "missing")
        check.number(e.schoolYear)
        enrolments.append(
            r.Enrolment(
                unit_id=keep[e.enroledAt.id.lower()],
                school_type=e.schoolType,
                start_date=start,
                end_date=day(e.endDate),
                cancelled=bool(e.cancelled),
                school_year=e.schoolYear,
            )
        )
    middle = (p.middleName or "").strip()
    return r.Person(
        id=keep[p.id.lower()],
        civic_no=p.civicNo.value if p.civicNo is not None else None,
        given_name=keep[p.givenName.strip()],
        family_name=keep[p.familyName.strip()],
        middle_name=keep[middle] if middle else None,
        ref=ref,
        birth_date=day(p.birthDate),
        sex=p.sex,
        email=_pick_email(p.emails) if p.emails else None,
        mobile=_pick_mobile(p.phoneNumbers) if p.phoneNumbers else None,
        addresses=r.json_text([check.address(a) for a in p.addresses]) if p.addresses else "[]",
        identifiers=r.json_text(identifiers) if identifiers else "{}",
        security_marking=(
            _absent_marking.get() if p.securityMarking is None else keep[p.securityMarking]
        ),
        person_status=p.personStatus or "Aktiv",
        enrolments=tuple(enrolments),
        responsibles=tuple(
            [r.Responsible(keep[x.person.id.lower()], x.relationType) for x in p.responsibles or ()]
        ),
    )


def _duty(fx: _Pending, d: m.Duty, ref: r.RecordRef) -> r.Duty:
    parts = _Parts()
    roles = parts.keep("assignmentRole", d.assignmentRole)
    parts.report(fx, "duties", d.id, ref, _ref(d.person))
    keep = fx.strings
    return r.Duty(
        id=keep[d.id.lower()],
        person_id=None if d.person is None else keep[d.person.id.lower()],
        unit_id=keep[d.dutyAt.id.lower()],
        role=_enum(fx, "duties", "dutyRole", d.dutyRole),
        ref=ref,
        signature=(d.signature or "").strip() or None,
        start_date=_start(fx, "duties", "startDate", d.startDate),
        end_date=d.endDate,
        assignment_roles=tuple(
            r.AssignmentRole(
                keep[a.group.id.lower()],
                _enum(fx, "duties", "assignmentRole[].assignmentRoleType", a.assignmentRoleType),
                a.startDate,
                a.endDate,
            )
            for a in roles
        ),
    )


def _placement(fx: _Pending, p: m.Placement, _: r.RecordRef) -> r.Placement:
    keep = fx.strings
    return r.Placement(
        id=p.id.lower(),
        child_id=keep[p.child.id.lower()],
        unit_id=keep[p.placedAt.id.lower()],
        school_type=_enum(fx, "placements", "schoolType", p.schoolType),
        start_date=p.startDate,
        end_date=p.endDate,
        group_id=None if p.group is None else keep[p.group.id.lower()],
    )


def _group(fx: _Pending, g: m.Group, ref: r.RecordRef) -> r.Group:
    keep = fx.strings
    return r.Group(
        id=keep[g.id.lower()],
        name=keep[g.displayName],
        group_type=_enum(fx, "groups", "groupType", g.groupType),
        unit_id=keep[g.organisation.id.lower()],
        ref=ref,
        start_date=_start(fx, "groups", "startDate", g.startDate),
        end_date=g.endDate,
        school_type=_opt_enum(fx, "groups", "schoolType", g.schoolType),
        members=tuple(
            [
                r.GroupMember(keep[x.person.id.lower()], x.startDate, x.endDate)
                for x in g.groupMemberships or ()
            ]
        ),
    )


def _quick_group(fx: _Pending, g: fast.Group, ref: r.RecordRef) -> r.Group:
    """:func:`_group` for a record the fast path decoded, in one pass with its check.

    Raises:
        fast.Unfit: When a value is not one the fast path takes.
    """
    keep = fx.strings
    day = fx.check.day
    start = day(g.startDate)
    if start is None:
        _assume(fx, "groups", "startDate", "missing")
    return r.Group(
        id=keep[g.id.lower()],
        name=keep[g.displayName],
        group_type=g.groupType,
        unit_id=keep[g.organisation.id.lower()],
        ref=ref,
        start_date=start,
        end_date=day(g.endDate),
        school_type=g.schoolType,
        members=tuple(
            [
                r.GroupMember(keep[x.person.id.lower()], day(x.startDate), day(x.endDate))
                for x in g.groupMemberships or ()
            ]
        ),
    )


def _syllabus(_: _Pending, s: m.Syllabus, __: r.RecordRef) -> r.Syllabus:
    return r.Syllabus(
        id=s.id.lower(),
        subject_name=s.subjectName,
        subject_code=s.subjectCode,
        subject_designation=s.subjectDesignation,
        course_code=s.courseCode,
        course_name=s.courseName,
    )


class _Activities:
    """Turns activities into records, with teachers given by person resolved to that person's
    duty; then reports the teachers that could not be."""

    def __init__(self, snap: r.RegisterSnapshot) -> None:
        self.snap = snap
        self.duties: dict[tuple[str, str], list[str]] = {}
        for duty in snap.duties:
            if duty.person_id is not None:
                self.duties.setdefault((duty.person_id, duty.unit_id), []).append(duty.id)
        self.unresolved: dict[tuple[str, str], list[r.Activity]] = {}

    def convert(self, fx: _Pending, a: m.Activity, ref: r.RecordRef) -> r.Activity:
        return _activity(fx, a, ref, self.duties, self.unresolved)

    def report(self) -> None:
        _report_unresolved(self.snap, self.duties, self.unresolved)


def _unresolved(
    unresolved: dict[tuple[str, str], list[r.Activity]], key: tuple[str, str], a: r.Activity
) -> None:
    unresolved.setdefault(key, []).append(a)


def _activity(
    fx: _Pending,
    a: m.Activity,
    ref: r.RecordRef,
    duties: dict[tuple[str, str], list[str]],
    unresolved: dict[tuple[str, str], list[r.Activity]],
) -> r.Activity:
    keep = fx.strings
    unit_id = keep[a.organisation.id.lower()]
    teachers = []
    by_person = []
    parts = _Parts()
    for index, t in enumerate(a.teachers or ()):
        if t.duty is not None:
            teachers.append(r.ActivityTeacher(keep[t.duty.id.lower()], t.startDate, t.endDate))
            continue
        if t.person is None:
            parts.dropped.append(f"teachers[{index}] (names neither a duty nor a person)")
            continue
        person_id = t.person.id.lower()
        _assume(fx, "activities", "teachers[].person", "person")
        found = duties.get((person_id, unit_id), [])
        if len(found) == 1:
            teachers.append(r.ActivityTeacher(found[0], t.startDate, t.endDate))
        else:
            by_person.append(person_id)
    activity = r.Activity(
        id=keep[a.id.lower()],
        name=a.displayName,
        unit_id=unit_id,
        ref=ref,
        group_ids=tuple([keep[g.id.lower()] for g in a.groups]),
        teachers=tuple(teachers),
        syllabus_id=_ref(a.syllabus, keep),
        start_date=a.startDate,
        end_date=a.endDate,
        activity_type=_opt_enum(fx, "activities", "activityType", a.activityType),
    )
    for person_id in by_person:
        fx.later(_unresolved, unresolved, (person_id, unit_id), activity)
    parts.report(fx, "activities", a.id, ref, None)
    return activity


class _Room(NamedTuple):
    id: str
    name: str


def _room(_: _Pending, x: m.Room, __: r.RecordRef) -> _Room:
    return _Room(x.id.lower(), x.displayName)


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
