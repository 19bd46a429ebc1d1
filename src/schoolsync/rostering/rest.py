"""The roster as the OneRoster 1.2 REST binding shows it (pure: no web framework, no database).

- :class:`Catalogue` holds a roster with what the endpoints look up (a school's classes, a
  class's enrollments, a user's roles), built once per directory state.
- :func:`render` makes one record's JSON object, with references (``href``, ``sourcedId``,
  ``type``) to the records it names.
- :func:`parse_query` reads ``filter``, ``sort``, ``orderBy`` and ``fields`` as the binding
  defines them, and :class:`Query` applies them; what cannot be read raises :class:`QueryError`
  with the binding's code (``invalid_filter_field``, ``invalid_sort_field``,
  ``invalid_selection_field``, ``invaliddata``).

The filter grammar: ``field op 'value'`` with ``op`` one of ``= != > >= < <= ~`` (``~``:
contains, ignoring case), joined by `` AND `` and `` OR `` (AND binds first). A field may be a
path into a reference (``school.sourcedId``); on a list (``roles.role``, ``agents.sourcedId``) a
predicate holds when it holds for one element. Values compare as text; ``true``/``false`` match
booleans, and dates and times compare in their ISO order.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from schoolsync.rostering.model import (
    Change,
    Course,
    Enrollment,
    Klass,
    Org,
    Person,
    Role,
    Roster,
    Session,
)

Record = Org | Session | Course | Klass | Person | Enrollment
Json = dict[str, Any]


class QueryError(Exception):
    """A query parameter the binding does not allow: ``code`` is its imsx code minor."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@functools.lru_cache(maxsize=4096)  # a directory has a handful of run times
def stamp(value: datetime | None) -> str:
    """dateLastModified: UTC with milliseconds and ``Z``."""
    if value is None:
        return "1970-01-01T00:00:00.000Z"
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=65536)  # and a few thousand dates
def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


# The collection each kind of reference points into.
_COLLECTION = {
    "org": "orgs",
    "academicSession": "academicSessions",
    "course": "courses",
    "class": "classes",
    "user": "users",
    "enrollment": "enrollments",
}


@dataclass
class Catalogue:
    """A roster with the lookups the endpoints need, and the base of every ``href``."""

    roster: Roster
    orgs: dict[str, Org] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    courses: dict[str, Course] = field(default_factory=dict)
    classes: dict[str, Klass] = field(default_factory=dict)
    users: dict[str, Person] = field(default_factory=dict)
    enrollments: dict[str, Enrollment] = field(default_factory=dict)
    roles_of: dict[str, list[Role]] = field(default_factory=lambda: defaultdict(list))
    roles_by_user: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    children: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    classes_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    enrollments_of: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def of(cls, roster: Roster) -> Catalogue:
        c = cls(roster)
        c.orgs = {o.sourced_id: o for o in roster.orgs}
        c.sessions = {s.sourced_id: s for s in roster.sessions}
        c.courses = {x.sourced_id: x for x in roster.courses}
        c.classes = {k.sourced_id: k for k in roster.classes}
        c.users = {u.sourced_id: u for u in roster.users}
        c.enrollments = {e.sourced_id: e for e in roster.enrollments}
        for o in roster.orgs:
            if o.parent:
                c.children[o.parent].append(("org", o.sourced_id))
        for s in roster.sessions:
            if s.parent:
                c.children[s.parent].append(("academicSession", s.sourced_id))
        for r in roster.roles:
            c.roles_of[r.user].append(r)
            c.roles_by_user[r.user].add(r.role)
        for k in roster.classes:
            for key in (k.school, k.course, *k.terms):
                c.classes_of[key].append(k.sourced_id)
        for e in roster.enrollments:
            for key in (e.klass, e.user, e.school):
                c.enrollments_of[key].append(e.sourced_id)
        return c

    def has_role(self, user_id: str, role: str) -> bool:
        return role in self.roles_by_user.get(user_id, set())


@dataclass(frozen=True)
class Refs:
    """Makes references: ``{"href", "sourcedId", "type"}``, the href under ``base``."""

    base: str

    def __call__(self, kind: str, sourced_id: str | None) -> Json | None:
        if sourced_id is None:
            return None
        return {
            "href": f"{self.base}/{_COLLECTION[kind]}/{sourced_id}",
            "sourcedId": sourced_id,
            "type": kind,
        }

    def many(self, kind: str, ids: Iterable[str]) -> list[Json]:
        return [
            {"href": f"{self.base}/{_COLLECTION[kind]}/{i}", "sourcedId": i, "type": kind}
            for i in ids
        ]


def _base(record: Record) -> Json:
    change: Change = record.change
    return {
        "sourcedId": record.sourced_id,
        "status": change.status,
        "dateLastModified": stamp(change.modified),
    }


def _org(o: Org, c: Catalogue, ref: Refs) -> Json:
    return _base(o) | {
        "name": o.name,
        "type": o.type,
        "identifier": o.identifier,
        "parent": ref("org", o.parent),
        "children": ref.many("org", (i for k, i in c.children.get(o.sourced_id, []) if k == "org")),
    }


def _session(s: Session, c: Catalogue, ref: Refs) -> Json:
    kids = (i for k, i in c.children.get(s.sourced_id, []) if k == "academicSession")
    return _base(s) | {
        "title": s.title,
        "startDate": _day(s.start),
        "endDate": _day(s.end),
        "type": s.type,
        "parent": ref("academicSession", s.parent),
        "children": ref.many("academicSession", kids),
        "schoolYear": s.school_year,
    }


def _course(x: Course, c: Catalogue, ref: Refs) -> Json:
    return _base(x) | {
        "title": x.title,
        "schoolYear": None,
        "courseCode": x.code,
        "grades": [],
        "subjects": list(x.subjects),
        "org": ref("org", x.org),
        "subjectCodes": [],
    }


def _class(k: Klass, c: Catalogue, ref: Refs) -> Json:
    return _base(k) | {
        "title": k.title,
        "classCode": k.title,
        "classType": k.class_type,
        "location": "",
        "grades": [],
        "subjects": list(k.subjects),
        "course": ref("course", k.course),
        "school": ref("org", k.school),
        "terms": ref.many("academicSession", k.terms),
        "subjectCodes": [],
        "periods": [],
    }


def _user(u: Person, c: Catalogue, ref: Refs) -> Json:
    return _base(u) | {
        "userMasterIdentifier": "",
        "username": u.username,
        "userIds": [{"type": kind, "identifier": value} for kind, value in u.user_ids],
        "enabledUser": u.enabled,
        "givenName": u.given_name,
        "familyName": u.family_name,
        "middleName": u.middle_name,
        "roles": [
            {
                "roleType": r.role_type,
                "role": r.role,
                "org": ref("org", r.org),
                "beginDate": _day(r.begin),
                "endDate": _day(r.end),
            }
            for r in c.roles_of.get(u.sourced_id, [])
        ],
        "userProfiles": [],
        "primaryOrg": ref("org", u.primary_org),
        "identifier": "",
        "email": u.email,
        "sms": u.sms,
        "phone": "",
        "agents": ref.many("user", u.agents),
        "grades": [],
    }


def _enrollment(e: Enrollment, c: Catalogue, ref: Refs) -> Json:
    return _base(e) | {
        "user": ref("user", e.user),
        "class": ref("class", e.klass),
        "school": ref("org", e.school),
        "role": e.role,
        "primary": e.primary,
        "beginDate": _day(e.begin),
        "endDate": _day(e.end),
    }


def _demographics(u: Person, c: Catalogue, ref: Refs) -> Json:
    return _base(u) | {"birthDate": _day(u.birth_date), "sex": u.sex or "unspecified"}


Render = Callable[[Any, Catalogue, Refs], Json]


@dataclass(frozen=True)
class Kind:
    """One kind of record: its JSON keys (one record, a collection) and its rendering."""

    single: str
    plural: str
    render: Render


ORG = Kind("org", "orgs", _org)
SESSION = Kind("academicSession", "academicSessions", _session)
COURSE = Kind("course", "courses", _course)
CLASS = Kind("class", "classes", _class)
USER = Kind("user", "users", _user)
ENROLLMENT = Kind("enrollment", "enrollments", _enrollment)
DEMOGRAPHICS = Kind("demographics", "demographics", _demographics)

# The fields of each kind, for the checks of filter, sort and fields (those of render's output).
FIELDS: dict[str, frozenset[str]] = {
    "org": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "name",
            "type",
            "identifier",
            "parent",
            "children",
        ]
    ),
    "academicSession": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "startDate",
            "endDate",
            "type",
            "parent",
            "children",
            "schoolYear",
        ]
    ),
    "course": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "schoolYear",
            "courseCode",
            "grades",
            "subjects",
            "org",
            "subjectCodes",
        ]
    ),
    "class": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "title",
            "classCode",
            "classType",
            "location",
            "grades",
            "subjects",
            "course",
            "school",
            "terms",
            "subjectCodes",
            "periods",
        ]
    ),
    "user": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "userMasterIdentifier",
            "username",
            "userIds",
            "enabledUser",
            "givenName",
            "familyName",
            "middleName",
            "roles",
            "userProfiles",
            "primaryOrg",
            "identifier",
            "email",
            "sms",
            "phone",
            "agents",
            "grades",
        ]
    ),
    "enrollment": frozenset(
        [
            "sourcedId",
            "status",
            "dateLastModified",
            "user",
            "class",
            "school",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ]
    ),
    "demographics": frozenset(["sourcedId", "status", "dateLastModified", "birthDate", "sex"]),
}


def render(kind: Kind, record: Any, c: Catalogue, ref: Refs, fields: Sequence[str] = ()) -> Json:
    """One record's JSON object; with ``fields``, only those."""
    doc = kind.render(record, c, ref)
    return {f: doc[f] for f in fields} if fields else doc


# -- filter, sort, fields --------------------------------------------------------------------

_PREDICATE = re.compile(
    r"\s*(?P<field>[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)*)\s*"
    r"(?P<op>!=|>=|<=|=|>|<|~)\s*'(?P<value>(?:[^']|'')*)'\s*"
)
_JOIN = re.compile(r"\s+(AND|OR)\s+")


@dataclass(frozen=True)
class Predicate:
    path: tuple[str, ...]
    op: str
    value: str

    def holds(self, doc: Json) -> bool:
        return any(self._compare(v) for v in _values(doc, self.path))

    def _compare(self, got: Any) -> bool:
        if isinstance(got, bool):
            text = "true" if got else "false"
        elif got is None:
            text = ""
        else:
            text = str(got)
        want = self.value
        if self.op == "~":
            return want.casefold() in text.casefold()
        if self.path[-1] in _TIMES:  # 2025-08-18T02:00:00Z is ...00.000Z
            when, asked = _moment(text), _moment(want)
            if when is not None and asked is not None:
                return _holds(self.op, when, asked)
        return _holds(self.op, text, want)


def _holds(op: str, a: Any, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    return bool({">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op])


# The fields that hold dates and times: compared as times, others as text.
_TIMES = frozenset({"dateLastModified", "startDate", "endDate", "beginDate", "birthDate"})

_ISO = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
)


def _moment(text: str) -> datetime | None:
    """An ISO date or date-time as a UTC time (a date is its midnight; no offset is UTC), so
    that ``dateLastModified>'2025-08-18T02:00:00Z'`` compares times, not texts."""
    if not _ISO.match(text):
        return None
    try:
        value = datetime.fromisoformat(text)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):  # not a date, or beyond year 1 or 9999 in UTC
        return None


def _values(value: Any, path: tuple[str, ...]) -> list[Any]:
    """The values at ``path`` (a list along the way gives one value per element)."""
    if not path:
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        return [v for item in value for v in _values(item, path)]
    if isinstance(value, dict):
        return _values(value.get(path[0]), path[1:]) if path[0] in value else []
    return []


@dataclass(frozen=True)
class Query:
    """A request's filter (alternatives of conjunctions), sort and field selection."""

    any_of: tuple[tuple[Predicate, ...], ...] = ()
    sort: str | None = None
    descending: bool = False
    fields: tuple[str, ...] = ()

    def keep(self, doc: Json) -> bool:
        return not self.any_of or any(all(p.holds(doc) for p in part) for part in self.any_of)

    def order(self, docs: list[Json]) -> list[Json]:
        if self.sort is None:
            return docs
        path = tuple(self.sort.split("."))

        def key(doc: Json) -> tuple[int, str]:
            found = _values(doc, path)
            first = found[0] if found else None
            return (first is None, "" if first is None else str(first).casefold())

        return sorted(docs, key=key, reverse=self.descending)


def parse_filter(text: str, known: frozenset[str]) -> tuple[tuple[Predicate, ...], ...]:
    """``field op 'value' [AND|OR …]`` as alternatives of conjunctions (AND binds first)."""
    parts: list[list[Predicate]] = [[]]
    pos, n = 0, len(text)
    while True:
        m = _PREDICATE.match(text, pos)
        if m is None:
            raise QueryError(
                "invaliddata",
                f"The filter {text!r} cannot be read at character {pos + 1}: write "
                f"field<op>'value' (op one of = != > >= < <= ~), joined by AND or OR.",
            )
        path = tuple(m["field"].split("."))
        if path[0] not in known:
            raise QueryError(
                "invalid_filter_field",
                f"The filter names {m['field']!r}, which is not a field here. The fields: "
                f"{', '.join(sorted(known))}.",
            )
        parts[-1].append(Predicate(path, m["op"], m["value"].replace("''", "'")))
        pos = m.end()
        if pos >= n:
            return tuple(tuple(p) for p in parts)
        join = _JOIN.match(text, pos - 1) or _JOIN.match(text, pos)
        if join is None:
            raise QueryError(
                "invaliddata",
                f"The filter {text!r} cannot be read at character {pos + 1}: expected AND or OR.",
            )
        if join[1] == "OR":
            parts.append([])
        pos = join.end()


def parse_query(
    known: frozenset[str],
    filter_: str | None,
    sort: str | None,
    order_by: str | None,
    fields: str | None,
) -> Query:
    """The query parameters of a collection request, checked against the kind's fields."""
    any_of = parse_filter(filter_, known) if filter_ else ()
    if sort is not None and sort.split(".")[0] not in known:
        raise QueryError(
            "invalid_sort_field",
            f"sort={sort!r} is not a field here. The fields: {', '.join(sorted(known))}.",
        )
    if order_by not in (None, "asc", "desc"):
        raise QueryError("invaliddata", f"orderBy={order_by!r}: use asc or desc.")
    chosen = tuple(f.strip() for f in fields.split(",") if f.strip()) if fields else ()
    unknown = [f for f in chosen if f not in known]
    if unknown:
        raise QueryError(
            "invalid_selection_field",
            f"fields names {', '.join(map(repr, unknown))}, which "
            f"{'is not a field' if len(unknown) == 1 else 'are not fields'} here. The fields: "
            f"{', '.join(sorted(known))}.",
        )
    return Query(any_of, sort, order_by == "desc", chosen)
