"""Pages of the directory for the REST API, in the shapes of ``export --json``.

Each list is read a page at a time with SQL (ordered by the stable id, continued after the last
id of the page before), never by loading the whole directory, and only within the schools a
caller may see: a ``school-admin`` sees the schools of its token, and the users, classes and
groups of them (a user's links to other schools are left out).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import is_open, link_active
from schoolsync.store import schema as t

Schools = frozenset[str] | None  # the school ids visible; None: all
_Q = TypeVar("_Q", bound=sa.Select[Any])
_STOCKHOLM = ZoneInfo("Europe/Stockholm")  # lessons are kept in Swedish wall-clock time


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def within(column: Any, schools: Schools) -> list[Any]:
    """The condition that ``column`` (a school id) is one of ``schools`` (none for every school),
    for ``.where(*within(...))``."""
    return [] if schools is None else [column.in_(schools)]


def _changed_since(table: sa.Table, since: datetime) -> sa.ColumnElement[bool]:
    """Rows of ``table`` a run that began at or after ``since`` created or changed."""
    recent = sa.select(t.runs.c.id).where(t.runs.c.started_at >= since)
    return sa.or_(table.c.created_run_id.in_(recent), table.c.updated_run_id.in_(recent))


def _narrowed(
    query: _Q,
    id_column: sa.ColumnElement[Any],
    school_column: sa.ColumnElement[Any],
    *,
    after: str | None,
    schools: Schools,
    school: str | None,
) -> _Q:
    """A page's query in id order after the cursor, within the schools visible (and the one
    school asked for, if any)."""
    query = query.order_by(id_column)
    if after is not None:
        query = query.where(id_column > after)
    if schools is not None:
        query = query.where(school_column.in_(schools))
    if school is not None:
        query = query.where(school_column == school)
    return query


def _school_names(conn: Connection) -> dict[str, str]:
    return dict(conn.execute(sa.select(t.schools.c.id, t.schools.c.name)).all())


def schools_page(
    conn: Connection, schools: Schools, limit: int, after: str | None
) -> list[dict[str, Any]]:
    """Schools by id: ``{id, name, units}``."""
    s = t.schools.c
    query = sa.select(s.id, s.name).limit(limit)
    query = _narrowed(query, s.id, s.id, after=after, schools=schools, school=None)
    rows = conn.execute(query).all()
    units: dict[str, list[str]] = defaultdict(list)
    u = t.school_units.c
    ids = [r.id for r in rows]
    for school_id, code, register_id in conn.execute(
        sa.select(u.school_id, u.code, u.register_id).where(u.school_id.in_(ids))
    ):
        units[school_id].append(code or register_id)
    return [{"id": r.id, "name": r.name, "units": sorted(units[r.id])} for r in rows]


def users_page(
    conn: Connection,
    schools: Schools,
    today: date,
    limit: int,
    after: str | None = None,
    only: str | None = None,
    school: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Users by id, each with their links (to the visible schools) and guardians, as ``export
    --json`` shows a user; ``only``: just that user (if visible); ``school``: those linked to
    it; ``status``: ``active`` (an open link) or ``ended``."""
    u, ln = t.users.c, t.user_schools.c
    query = sa.select(t.users).order_by(u.id).limit(limit)
    if after is not None:
        query = query.where(u.id > after)
    if only is not None:
        query = query.where(u.id == only)
    if school is not None and schools is not None and school not in schools:
        return []  # another school's: as if it were not there
    visible = ln.school_id.in_(schools) if schools is not None else sa.true()
    if schools is not None:
        query = query.where(sa.exists().where(ln.user_id == u.id, visible))
    if school is not None:
        query = query.where(sa.exists().where(ln.user_id == u.id, ln.school_id == school))
    if since is not None:  # the user, or one of their links the caller may see
        query = query.where(
            sa.or_(
                _changed_since(t.users, since),
                sa.exists().where(
                    ln.user_id == u.id, visible, _changed_since(t.user_schools, since)
                ),
            )
        )
    if status is not None:  # judged on the links the caller may see, as ``status`` is
        linked = sa.exists().where(
            ln.user_id == u.id, visible, sa.or_(ln.end_date.is_(None), ln.end_date >= today)
        )
        query = query.where(linked if status == "active" else sa.not_(linked))
    rows = conn.execute(query).mappings().all()
    ids = [r["id"] for r in rows]
    names = _school_names(conn)
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    open_link: set[str] = set()
    for link in conn.execute(sa.select(t.user_schools).where(ln.user_id.in_(ids))).mappings():
        if schools is not None and link["school_id"] not in schools:
            continue  # another school's link: not shown, and not counted in the status
        if is_open(link["end_date"], today):
            open_link.add(link["user_id"])
        links[link["user_id"]].append(
            {
                "school": names[link["school_id"]],
                "school_id": link["school_id"],
                "role": link["role"],
                "start_date": _iso(link["start_date"]),
                "end_date": _iso(link["end_date"]),
                "active": link_active(link["start_date"], link["end_date"], today),
            }
        )
    guardians = _guardians(conn, ids, today)
    return [
        {
            "id": r["id"],
            "civic_no": r["civic_no"],
            "given_name": r["given_name"],
            "family_name": r["family_name"],
            "email": r["email"],
            "mobile": r["mobile"],
            "signature": r["signature"],
            "status": "active" if r["id"] in open_link else "ended",
            "schools": sorted(links[r["id"]], key=lambda x: (x["school"], x["role"])),
            "guardians": guardians.get(r["id"], []),
            **({"merged_into": r["merged_into"]} if r["merged_into"] else {}),
        }
        for r in rows
    ]


def _guardians(conn: Connection, students: Collection[str], today: date) -> dict[str, list[Any]]:
    """Each student's guardians (neither of them protected: R11)."""
    g = t.guardianships.c
    guardian, student = t.users.alias("guardian"), t.users.alias("student")
    query = (
        sa.select(g.student_id, guardian.c.civic_no, g.relation, g.end_date)
        .join(guardian, guardian.c.id == g.guardian_id)
        .join(student, student.c.id == g.student_id)
        .where(
            g.student_id.in_(students),
            sa.not_(guardian.c.protected),
            sa.not_(student.c.protected),
        )
    )
    out: dict[str, list[Any]] = defaultdict(list)
    for student_id, civic_no, relation, end in conn.execute(query):
        out[student_id].append(
            {"civic_no": civic_no, "relation": relation, "active": is_open(end, today)}
        )
    for found in out.values():
        found.sort(key=lambda x: x["civic_no"])
    return out


def groups_page(
    conn: Connection,
    schools: Schools,
    kind: str,
    today: date,
    lead_days: int,
    limit: int,
    after: str | None = None,
    only: str | None = None,
    school: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Classes (``kind`` class) or teaching groups (group) by id, with their students, teachers
    (and a class's mentors) by signature, as ``export --json`` shows them; ``school``: of that
    school; ``status``: ``active`` or ``archived`` (judged on ``today``)."""
    g = t.groups.c
    query = sa.select(t.groups).where(g.kind == kind).limit(limit)
    query = _narrowed(query, g.id, g.school_id, after=after, schools=schools, school=school)
    if only is not None:
        query = query.where(g.id == only)
    if since is not None:  # the class or group, or one of its memberships
        m = t.memberships.c
        query = query.where(
            sa.or_(
                _changed_since(t.groups, since),
                sa.exists().where(m.group_id == g.id, _changed_since(t.memberships, since)),
            )
        )
    if status is not None:
        current = sa.or_(g.end_date.is_(None), g.end_date >= today)
        query = query.where(current if status == "active" else sa.not_(current))
    rows = conn.execute(query).mappings().all()
    names = _school_names(conn)
    members = _members(conn, [r["id"] for r in rows], today)
    out = []
    for r in rows:
        mine = members.get(r["id"], {})
        start = r["start_date"]
        doc: dict[str, Any] = {
            "id": r["id"],
            "name": r["name"],
            "school": names[r["school_id"]],
            "school_id": r["school_id"],
            "start_date": _iso(start),
            "end_date": _iso(r["end_date"]),
            "visible": start is None or (start - today).days <= lead_days,
            "status": "active" if is_open(r["end_date"], today) else "archived",
            "students": sorted(mine.get("students", []), key=lambda x: x["civic_no"]),
            "teachers": sorted(set(mine.get("teachers", []))),
        }
        if kind == "class":
            doc["mentors"] = sorted(set(mine.get("mentors", [])))
        else:
            doc["subject"], doc["course"] = r["subject"], r["course"]
        out.append(doc)
    return out


def _members(
    conn: Connection, groups: Collection[str], today: date
) -> dict[str, dict[str, list[Any]]]:
    m, u = t.memberships.c, t.users.c
    query = (
        sa.select(m.group_id, m.role, m.start_date, m.end_date, u.civic_no, u.signature)
        .join(t.users, u.id == m.user_id)
        .where(m.group_id.in_(groups))
    )
    out: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for group_id, role, start, end, civic_no, signature in conn.execute(query):
        if role in ("student", "member"):
            out[group_id]["students"].append(
                {
                    "civic_no": civic_no,
                    "start_date": _iso(start),
                    "end_date": _iso(end),
                    "active": link_active(start, end, today),
                }
            )
        elif signature and link_active(start, end, today):
            out[group_id][role + "s"].append(signature)
    return out


def runs_page(
    conn: Connection, limit: int, before: int | None = None, only: int | None = None
) -> list[dict[str, Any]]:
    """Runs, newest first: ``{id, kind, status, started_at, finished_at, today, changes,
    sources}``; ``only``: just that run."""
    r = t.runs.c
    query = sa.select(t.runs).order_by(r.id.desc()).limit(limit)
    if before is not None:
        query = query.where(r.id < before)
    if only is not None:
        query = query.where(r.id == only)
    return [
        {
            "id": str(row["id"]),
            "kind": row["kind"],
            "status": row["status"],
            "started_at": row["started_at"].isoformat() if row["started_at"] else None,
            "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
            "today": _iso(row["today"]),
            "changes": row["summary"],
            "sources": row["sources"],
        }
        for row in conn.execute(query).mappings()
    ]


def issues_page(
    conn: Connection, run_id: int, limit: int, after: int | None = None
) -> list[dict[str, Any]]:
    """A run's issues in the order they were written: ``{id, code, severity, rule, subject,
    message}`` (messages never name a protected person: R11, as written)."""
    i = t.run_issues.c
    query = (
        sa.select(i.id, i.code, i.severity, i.rule, i.subject, i.message)
        .where(i.run_id == run_id)
        .order_by(i.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(i.id > after)
    return [dict(row) for row in conn.execute(query).mappings()]


def last_sync_run(conn: Connection) -> int | None:
    """The newest sync run that was applied or held (the one whose issues stand)."""
    r = t.runs.c
    return conn.execute(
        sa.select(sa.func.max(r.id)).where(r.kind == "sync", r.status.in_(("applied", "held")))
    ).scalar()


def memberships_page(
    conn: Connection,
    schools: Schools,
    today: date,
    limit: int,
    after: str | None = None,
    school: str | None = None,
    group: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Who is in which class or group and when, by id: ``{id, group_id, user_id, role,
    start_date, end_date, active}``, of the visible schools' classes and teaching groups."""
    m, g = t.memberships.c, t.groups.c
    query = (
        sa.select(m.id, m.group_id, m.user_id, m.role, m.start_date, m.end_date)
        .join(t.groups, g.id == m.group_id)
        .where(g.kind.in_(("class", "group")))
        .limit(limit)
    )
    query = _narrowed(query, m.id, g.school_id, after=after, schools=schools, school=school)
    if group is not None:
        query = query.where(m.group_id == group)
    if since is not None:
        query = query.where(_changed_since(t.memberships, since))
    return [
        {
            "id": r.id,
            "group_id": r.group_id,
            "user_id": r.user_id,
            "role": r.role,
            "start_date": _iso(r.start_date),
            "end_date": _iso(r.end_date),
            "active": link_active(r.start_date, r.end_date, today),
        }
        for r in conn.execute(query)
    ]


def lessons_page(
    conn: Connection,
    schools: Schools,
    limit: int,
    after: str | None = None,
    school: str | None = None,
    group: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Lessons tied to a group, by id, as ``export --json`` lists them (Swedish local times,
    ISO with offset), each with its school and its group's id."""
    ls, g = t.lessons.c, t.groups.c
    klass = t.groups.alias("klass")
    query = (
        sa.select(
            ls.id,
            g.school_id,
            g.name,
            ls.group_id,
            klass.c.name.label("class_name"),
            ls.subject,
            ls.teachers,
            ls.start,
            ls.end,
            ls.room,
            ls.cancelled,
            ls.removed,
        )
        .join(t.groups, g.id == ls.group_id)
        .outerjoin(klass, klass.c.id == ls.class_id)
        .limit(limit)
    )
    # A tied lesson's school is its group's (the tie sets both), held on the lesson itself.
    query = _narrowed(query, ls.id, ls.school_id, after=after, schools=schools, school=school)
    if group is not None:
        query = query.where(ls.group_id == group)
    if since is not None:
        query = query.where(_changed_since(t.lessons, since))
    names = _school_names(conn)
    return [
        {
            "id": r.id,
            "school": names[r.school_id],
            "school_id": r.school_id,
            "group": r.name,
            "group_id": r.group_id,
            "class": r.class_name,
            "subject": r.subject,
            "teachers": r.teachers,
            "start": r.start.replace(tzinfo=_STOCKHOLM).isoformat(),
            "end": r.end.replace(tzinfo=_STOCKHOLM).isoformat(),
            "room": r.room,
            "cancelled": bool(r.cancelled or r.removed),
        }
        for r in conn.execute(query)
    ]
