"""The directory as a roster for other platforms: OneRoster 1.2's entities, built in memory.

One mapping feeds the OneRoster CSV set, the SDS CSV set and (through the same records) the
OneRoster service, so every platform sees the same schools, classes, people and dates:

- the huvudman is one org of type ``district`` (its name from ``[rostering] organisation_name``),
  each directory school an org of type ``school`` under it;
- the school years (läsår, 1 July to 30 June) and their terms (HT: July to December, VT: January
  to June) are academic sessions, with one grading period per term;
- a class (``Klass``) is a class of type ``homeroom``, a teaching group one of type ``scheduled``;
  each belongs to a course: the group's course code (gymnasium), else its subject code, else
  ``Klass`` for classes and ``Grupp`` for the rest, one course per school;
- users keep the directory's ids as sourcedIds; their school links are roles, their memberships
  enrollments (with begin and end dates); a guardian's children and a child's guardians are each
  other's agents;
- ``status`` and ``dateLastModified`` follow the directory: a record is ``tobedeleted`` once it
  has ended (a user with no open school link, an ended link or membership, an archived class).

Protected persons (R11) are in the directory only under their pseudonym (no contact data, no
birth date, no guardians), and their family links are never exported.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from schoolsync.domain.directory import (
    Directory,
    GroupRow,
    LinkRow,
    MembershipRow,
    UserRow,
    is_open,
)
from schoolsync.domain.settings import RosteringSettings

# sourcedIds of what the directory does not hold as rows (the district, sessions, courses) are
# UUIDs derived from their names, so they are the same in every export and in the service.
_NAMESPACE = uuid.UUID("6f0f3c1e-2b4c-5d8e-9a7b-1c2d3e4f5a6b")

ACTIVE, TO_BE_DELETED = "active", "tobedeleted"

# The directory's roles as OneRoster 1.2 roles (staff who do not teach: ``aide``).
ROLE = {"student": "student", "teacher": "teacher", "staff": "aide", "guardian": "guardian"}
_ROLE_ORDER = {"student": 0, "teacher": 1, "staff": 2, "guardian": 3}


def derived_id(kind: str, *parts: str) -> str:
    """A stable sourcedId for something the directory has no row for."""
    return str(uuid.uuid5(_NAMESPACE, "/".join((kind, *parts))))


@dataclass(frozen=True, slots=True)
class Change:
    """What a record's ``status`` and ``dateLastModified`` say."""

    status: str
    modified: datetime | None


@dataclass(frozen=True, slots=True)
class Org:
    sourced_id: str
    change: Change
    name: str
    type: str  # district | school
    identifier: str  # the school's skolenhetskod(er)
    parent: str | None


@dataclass(frozen=True, slots=True)
class Session:
    sourced_id: str
    change: Change
    title: str
    type: str  # schoolYear | term | gradingPeriod
    start: date
    end: date
    parent: str | None
    school_year: str  # the year the läsår ends, as OneRoster counts it


@dataclass(frozen=True, slots=True)
class Course:
    sourced_id: str
    change: Change
    title: str
    code: str
    org: str
    subjects: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Klass:
    """A OneRoster class: a directory class (homeroom) or teaching group (scheduled)."""

    sourced_id: str
    change: Change
    title: str
    course: str
    class_type: str  # homeroom | scheduled
    school: str
    terms: tuple[str, ...]
    subjects: tuple[str, ...]
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class Person:
    """A OneRoster user."""

    sourced_id: str
    change: Change
    enabled: bool
    username: str
    user_ids: tuple[tuple[str, str], ...]  # (type, identifier)
    given_name: str
    family_name: str
    middle_name: str
    email: str
    sms: str
    agents: tuple[str, ...]
    primary_org: str | None
    primary_role: str | None  # the OneRoster role of the primary org's link
    birth_date: date | None
    sex: str | None  # female | male


@dataclass(frozen=True, slots=True)
class Role:
    """A user's role at a school (the directory's school link)."""

    sourced_id: str
    change: Change
    user: str
    role_type: str  # primary | secondary
    role: str
    org: str
    begin: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class Enrollment:
    sourced_id: str
    change: Change
    klass: str
    school: str
    user: str
    role: str  # student | teacher
    primary: bool
    begin: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class Relationship:
    """A guardian of a student (SDS relationships.csv; OneRoster agents)."""

    student: str
    guardian: str
    relation: str  # the register's relation type: Vårdnadshavare, God man, ...


@dataclass
class Roster:
    orgs: list[Org] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    courses: list[Course] = field(default_factory=list)
    classes: list[Klass] = field(default_factory=list)
    users: list[Person] = field(default_factory=list)
    roles: list[Role] = field(default_factory=list)
    enrollments: list[Enrollment] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Modified:
    """When each directory row last changed: row id to (run id, the run's time).

    Rows no run wrote (made before runs were recorded) are taken as written by the first run.
    """

    rows: dict[str, tuple[int, datetime]]
    first: tuple[int, datetime] | None

    def of(self, row_id: str) -> tuple[int, datetime] | None:
        return self.rows.get(row_id, self.first)


@dataclass(frozen=True, slots=True)
class Since:
    """A delta's starting point: the run it follows (what changed after it is in the delta)."""

    run_id: int
    today: date  # that run's day: what ended from then to today is in the delta too


def _year_of(day: date) -> int:
    """The year a läsår starts in (1 July to 30 June)."""
    return day.year if day.month >= 7 else day.year - 1


def _terms(year: int) -> list[tuple[str, date, date]]:
    return [
        (f"HT {year}", date(year, 7, 1), date(year, 12, 31)),
        (f"VT {year + 1}", date(year + 1, 1, 1), date(year + 1, 6, 30)),
    ]


class _Builder:
    def __init__(
        self,
        directory: Directory,
        modified: Modified,
        settings: RosteringSettings,
        lead_days: int,
        today: date,
        since: Since | None,
        everything: bool,
    ) -> None:
        self.d, self.modified, self.settings = directory, modified, settings
        self.lead_days, self.today, self.since = lead_days, today, since
        self.everything = everything
        self.roster = Roster()
        self.district = derived_id("district", settings.organisation_name)
        self.first = modified.first[1] if modified.first else None
        self._changes: dict[tuple[bool, datetime | None], Change] = {}
        self.years: set[int] = set()  # the läsår the sent classes' terms are in
        self.shown: set[str] = set()  # classes a delta sends because they became visible
        self.emitted: set[str] = set()  # the classes sent

    # -- what a record says about itself ------------------------------------------------------

    def changed(self, *row_ids: str) -> bool:
        """Whether a delta holds the record (always, for a bulk set): one of its rows was
        written after the run the delta follows."""
        if self.since is None:
            return True
        return any(
            (m := self.modified.of(r)) is not None and m[0] > self.since.run_id for r in row_ids
        )

    def ended_lately(self, end: date | None) -> bool:
        """Ended after the day of the run the delta follows (no row changed: the date passed)."""
        return self.since is not None and end is not None and self.since.today <= end < self.today

    def change(self, is_active: bool, *row_ids: str) -> Change:
        """The record's status and its rows' latest change (records share equal ones: a
        directory has a handful of run times for a million records)."""
        get, first = self.modified.rows.get, self.modified.first
        latest = self.first
        for row_id in row_ids:
            m = get(row_id, first)
            if m is not None and (latest is None or m[1] > latest):
                latest = m[1]
        key = (is_active, latest)
        found = self._changes.get(key)
        if found is None:
            found = self._changes[key] = Change(ACTIVE if is_active else TO_BE_DELETED, latest)
        return found

    def wanted(self, is_active: bool, end: date | None, *row_ids: str) -> bool:
        """A bulk set holds what is active; a delta what changed or ended since; the service
        everything."""
        if self.since is None:
            return is_active or self.everything
        return self.changed(*row_ids) or self.ended_lately(end)

    def shown_lately(self, g: GroupRow) -> bool:
        """Became visible (R5.4) after the day of the run the delta follows."""
        if self.since is None or g.start_date is None:
            return False
        return self.since.today < g.start_date - timedelta(days=self.lead_days) <= self.today

    # -- the entities ------------------------------------------------------------------------

    def orgs(self) -> None:
        codes: dict[str, list[str]] = defaultdict(list)
        for unit in self.d.units.values():
            codes[unit.school_id].append(unit.code or unit.register_id)
        schools = sorted(self.d.schools.values(), key=lambda s: s.name)
        if self.since is None or any(self.changed(s.id) for s in schools):
            self.roster.orgs.append(
                Org(
                    self.district,
                    Change(ACTIVE, self.first),
                    self.settings.organisation_name,
                    "district",
                    "",
                    None,
                )
            )
        for s in schools:
            if self.changed(s.id):
                ident = ",".join(sorted(codes.get(s.id, [])))
                self.roster.orgs.append(
                    Org(s.id, self.change(True, s.id), s.name, "school", ident, self.district)
                )

    def sessions(self, classes: list[Klass]) -> None:
        if self.since is not None and not classes:
            return
        for year in sorted(self.years | {_year_of(self.today)}):
            label = f"{year}/{(year + 1) % 100:02d}"
            sy = derived_id("schoolYear", str(year))
            end_year = str(year + 1)
            change = Change(ACTIVE, self.first)
            self.roster.sessions.append(
                Session(
                    sy,
                    change,
                    f"Läsår {label}",
                    "schoolYear",
                    date(year, 7, 1),
                    date(year + 1, 6, 30),
                    None,
                    end_year,
                )
            )
            for title, start, end in _terms(year):
                term = derived_id("term", title)
                self.roster.sessions.append(
                    Session(term, change, title, "term", start, end, sy, end_year)
                )
                self.roster.sessions.append(
                    Session(
                        derived_id("gradingPeriod", title),
                        change,
                        f"Betygsperiod {title}",
                        "gradingPeriod",
                        start,
                        end,
                        term,
                        end_year,
                    )
                )

    def term_ids(self, start: date | None, end: date | None) -> tuple[str, ...]:
        """The terms a class's dates overlap, at most five läsår either side of today's (an
        open-ended group of 2012 is in this year's terms, not in 2012's ten); a class whose
        dates lie wholly outside that gets the terms of its nearest läsår."""
        now = _year_of(self.today)
        first = start or date(now, 7, 1)
        last = end or date(max(_year_of(first), now) + 1, 6, 30)
        years = range(max(_year_of(first), now - 5), min(_year_of(last), now + 5) + 1)
        if not years:
            years = range(_year_of(last), _year_of(last) + 1)
            if _year_of(first) > now:
                years = range(_year_of(first), _year_of(first) + 1)
            first, last = date(years[0], 7, 1), date(years[0] + 1, 6, 30)
        out = []
        for year in years:
            for title, t_start, t_end in _terms(year):
                if t_start <= last and first <= t_end:
                    out.append(derived_id("term", title))
                    self.years.add(year)
        return tuple(out)

    def classes(self) -> dict[str, Klass]:
        """Add the classes and their courses (a bulk set: those active on ``today``); returns
        the classes and groups visible on ``today`` (R5.4) by id, for the enrollments."""
        courses: dict[str, tuple[Course, list[str]]] = {}
        out: dict[str, Klass] = {}
        for g in sorted(self.d.groups.values(), key=lambda g: (g.school_id, g.name)):
            if g.kind not in ("class", "group"):
                continue
            if not _visible(g, self.today, self.lead_days):
                continue  # not shown yet: nothing about it leaves the directory
            active = is_open(g.end_date, self.today)
            code = g.course or g.subject or ("Klass" if g.kind == "class" else "Grupp")
            course_id = derived_id("course", g.school_id, code)
            subjects = tuple(x for x in (g.subject,) if x)
            entry = courses.setdefault(
                course_id,
                (Course(course_id, Change(ACTIVE, None), code, code, g.school_id, subjects), []),
            )
            entry[1].append(g.id)
            klass = Klass(
                g.id,
                self.change(active, g.id),
                g.name,
                course_id,
                "homeroom" if g.kind == "class" else "scheduled",
                g.school_id,
                (),
                subjects,
                g.start_date,
                g.end_date,
            )
            out[g.id] = klass
            if self.shown_lately(g):
                self.shown.add(g.id)
            if self.wanted(active, g.end_date, g.id) or g.id in self.shown:
                self.emitted.add(g.id)
        for gid in self.emitted:  # the terms of what is sent only: their läsår are sent too
            g = self.d.groups[gid]
            out[gid] = replace(out[gid], terms=self.term_ids(g.start_date, g.end_date))
        emitted = [k for k in out.values() if k.sourced_id in self.emitted]
        used = {k.course for k in emitted}
        for course_id, (course, group_ids) in sorted(courses.items(), key=lambda kv: kv[1][0].code):
            if course_id in used:
                self.roster.courses.append(replace(course, change=self.change(True, *group_ids)))
        self.roster.classes.extend(emitted)
        return out

    def people(self) -> set[str]:
        """Add the users, their roles and their families; returns the ids of the users whose
        enrollments may be exported (a bulk set: the active users; otherwise every account)."""
        d, today = self.d, self.today
        links: dict[str, list[LinkRow]] = defaultdict(list)
        for link in d.links.values():
            links[link.user_id].append(link)
        active_ids = {
            u.id
            for u in d.users.values()
            if not u.merged_into and any(is_open(x.end_date, today) for x in links.get(u.id, []))
        }
        family: dict[str, list[str]] = defaultdict(list)
        family_rows: dict[str, list[str]] = defaultdict(list)
        family_ended: set[str] = set()  # users with a guardianship that ended since (a delta)
        for gs in sorted(d.guardianships.values(), key=lambda g: (g.student_id, g.guardian_id)):
            # Its change changes both users' records, also when it is one nobody is shown (a
            # child who became protected: the guardian's agents must lose them).
            family_rows[gs.student_id].append(gs.id)
            family_rows[gs.guardian_id].append(gs.id)
            if self.ended_lately(gs.end_date):
                family_ended.update((gs.student_id, gs.guardian_id))
            guardian, student = d.users.get(gs.guardian_id), d.users.get(gs.student_id)
            if guardian is None or student is None or guardian.protected or student.protected:
                continue  # R11: nothing points from a protected person to their family
            if not is_open(gs.end_date, today):
                continue
            if gs.student_id not in active_ids or gs.guardian_id not in active_ids:
                continue  # only between users every set and the service hold as active
            family[gs.student_id].append(gs.guardian_id)
            family[gs.guardian_id].append(gs.student_id)
            self.roster.relationships.append(
                Relationship(gs.student_id, gs.guardian_id, gs.relation)
            )
        exported: set[str] = set()
        for user in sorted(d.users.values(), key=lambda u: (u.family_name, u.given_name, u.id)):
            if user.merged_into:
                self.merged(user)  # the account kept carries the person
                continue
            if self.since is not None or self.everything:
                exported.add(user.id)
            mine = sorted(links.get(user.id, []), key=_link_order)
            current = [x for x in mine if is_open(x.end_date, today)]
            active = user.id in active_ids
            rows = (user.id, *(x.id for x in mine), *family_rows.get(user.id, ()))
            if active and self.since is None:
                exported.add(user.id)
            shown = self.wanted(active, None, *rows) or self.ended_any(mine)
            if not shown and user.id not in family_ended:
                continue
            primary = current[0] if current else (mine[-1] if mine else None)
            self.roster.users.append(
                Person(
                    user.id,
                    self.change(active, *rows),  # its roles and agents are part of it
                    active,
                    self.username(user),
                    _user_ids(user),
                    user.given_name,
                    user.family_name,
                    user.middle_name or "",
                    user.email or "",
                    e164(user.mobile),
                    tuple(sorted(set(family.get(user.id, [])))),
                    primary.school_id if primary else None,
                    ROLE[primary.role] if primary else None,
                    None if user.protected else user.birth_date,
                    _sex(user.sex),
                )
            )
            for link in mine:
                link_is_open = is_open(link.end_date, today)
                # A user in a delta comes with all their roles: which one is primary may have
                # moved to a role that did not change.
                if self.since is None and not self.wanted(link_is_open, link.end_date, link.id):
                    continue
                self.roster.roles.append(
                    Role(
                        link.id,
                        self.change(link_is_open, link.id),
                        user.id,
                        "primary" if link is primary else "secondary",
                        ROLE[link.role],
                        link.school_id,
                        link.start_date,
                        link.end_date,
                    )
                )
        return exported

    def merged(self, user: UserRow) -> None:
        """An account merged into another (``user merge``): to be deleted, in a delta that
        follows the merge and in the service; never in a bulk set."""
        if self.since is None and not self.everything:
            return
        if self.since is not None and not self.changed(user.id):
            return
        self.roster.users.append(
            Person(user.id, self.change(False, user.id), False, "", (), user.given_name,
                   user.family_name, user.middle_name or "", "", "", (), None, None, None, None)
        )  # fmt: skip

    def ended_any(self, links: Iterable[LinkRow]) -> bool:
        return any(self.ended_lately(x.end_date) for x in links)

    def enrollments(self, classes: dict[str, Klass], users: set[str]) -> None:
        today = self.today
        rows: list[MembershipRow] = sorted(
            (
                m
                for m in self.d.memberships.values()
                if m.group_id in classes and m.user_id in users
            ),
            key=lambda m: (m.group_id, _MEMBER_ORDER.get(m.role, 9), m.user_id),
        )
        for m in rows:
            klass = classes[m.group_id]
            active = is_open(m.end_date, today) and klass.change.status == ACTIVE
            # In a delta, a class that was shown or archived since comes with its members.
            whole = m.group_id in self.shown or (
                m.group_id in self.emitted and klass.change.status != ACTIVE
            )
            if not self.wanted(active, m.end_date, m.id) and not (
                whole and self.since is not None and is_open(m.end_date, today)
            ):
                continue
            homeroom = klass.class_type == "homeroom"
            role = "student" if m.role in ("student", "member") else "teacher"
            primary = (m.role == "mentor") if homeroom else (m.role == "teacher")
            self.roster.enrollments.append(
                Enrollment(
                    m.id,
                    self.change(active, m.id),
                    m.group_id,
                    klass.school,
                    m.user_id,
                    role,
                    primary,
                    m.start_date,
                    m.end_date,
                )
            )

    def username(self, user: UserRow) -> str:
        how = self.settings.username
        if how == "email":
            return user.email or ""
        if how == "id":
            return user.id
        ids = _identifiers(user)
        if how == "eppn":
            names = ids.get("eduPersonPrincipalNames") or []
            return str(names[0]) if names else ""
        context = how.removeprefix("external:")
        for ext in ids.get("externalIdentifiers") or []:
            if isinstance(ext, dict) and ext.get("context") == context and ext.get("value"):
                return str(ext["value"])
        return ""


_MEMBER_ORDER = {"mentor": 0, "teacher": 1, "student": 2, "member": 3}


def _link_order(link: LinkRow) -> tuple[int, date, str]:
    return (_ROLE_ORDER.get(link.role, 9), link.start_date or date.min, link.school_id)


def _visible(g: GroupRow, today: date, lead_days: int) -> bool:
    """R5.4: a class or group is shown from ``lead_days`` before its start."""
    return g.start_date is None or (g.start_date - today).days <= lead_days


def _identifiers(user: UserRow) -> dict[str, list[object]]:
    try:
        value = json.loads(user.identifiers or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _user_ids(user: UserRow) -> tuple[tuple[str, str], ...]:
    """The register's external identifiers, typed by their context's last segment."""
    out = []
    for ext in _identifiers(user).get("externalIdentifiers") or []:
        if isinstance(ext, dict) and ext.get("value") and ext.get("context"):
            context = str(ext["context"]).rstrip("/")
            out.append((context.rsplit("/", 1)[-1], str(ext["value"])))
    return tuple(sorted(out))


def e164(number: str | None) -> str:
    """A Swedish phone number as platforms send SMS to it: ``070-174 06 95`` is
    ``+46701740695``; a number already international keeps its country; anything else that is
    not digits, spaces, dashes or brackets is left as the register wrote it."""
    if not number:
        return ""
    plain = "".join(ch for ch in number if ch not in " -()")
    digits = plain.removeprefix("+")
    if not digits.isdigit() or not digits.isascii():
        return number.strip()
    if plain.startswith("+"):
        return plain
    if plain.startswith("00"):
        return "+" + plain[2:]
    if plain.startswith("0"):
        return "+46" + plain[1:]
    return plain


def _sex(value: str | None) -> str | None:
    return {"Kvinna": "female", "Man": "male"}.get(value or "")


def build_roster(
    directory: Directory,
    modified: Modified,
    settings: RosteringSettings,
    today: date,
    lead_days: int = 15,
    since: Since | None = None,
    *,
    everything: bool = False,
) -> Roster:
    """The roster of a directory (pure): a bulk set (what is active on ``today``), or with
    ``since`` a delta (what changed after that run, ``tobedeleted`` what ended).

    Args:
        directory: The directory (its lessons are not needed).
        modified: When each row last changed.
        settings: The ``[rostering]`` settings.
        today: The day ``status`` is judged on.
        lead_days: R5.4's visibility lead: a class is exported from this many days before it
            starts.
        since: The run a delta follows; None for a bulk set.
        everything: Not a set but what the OneRoster service serves: every record, active or
            to be deleted (``since`` must then be None).
    """
    b = _Builder(directory, modified, settings, lead_days, today, since, everything)
    b.orgs()
    classes = b.classes()
    b.sessions(b.roster.classes)
    users = b.people()
    b.enrollments(classes, users)
    return b.roster
