"""Load the directory's current state in a handful of queries (one per table)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import (
    Directory,
    GroupRow,
    GuardianshipRow,
    LessonRow,
    LinkRow,
    MembershipRow,
    SchoolRow,
    UnitRow,
    UserRow,
)
from schoolsync.store import schema as t


def load_directory(conn: Connection, lesson_sources: Collection[str] = ()) -> Directory:
    """Read schools, units, users, links, groups, memberships, and the lessons of some sources.

    Args:
        conn: An open connection.
        lesson_sources: The schedule sources whose lessons the run compares with.

    Returns:
        The directory state, keyed for the planner.
    """
    d = Directory()
    for row in conn.execute(select(t.schools.c.id, t.schools.c.key, t.schools.c.name)):
        d.schools[row.key] = SchoolRow(row.id, row.key, row.name)
    u = t.school_units.c
    for unit in conn.execute(select(u.register_id, u.school_id, u.code, u.name, u.school_types)):
        d.units[unit.register_id] = UnitRow(**unit._asdict())
    c = t.users.c
    cols = [
        c.id, c.civic_no, c.register_id, c.given_name, c.middle_name, c.family_name, c.birth_date,
        c.sex, c.email, c.mobile, c.addresses, c.identifiers, c.signature, c.status, c.protected,
        c.merged_into,
    ]  # fmt: skip
    for user in conn.execute(select(*cols)):
        d.users[user.id] = UserRow(**user._asdict())
        if user.merged_into:
            d.merged_from.setdefault(user.merged_into, []).append(user.id)
    s = t.user_schools.c
    link_cols = [s.id, s.user_id, s.school_id, s.role, s.start_date, s.end_date, s.signature]
    for link in conn.execute(select(*link_cols)):
        d.links[(link.user_id, link.school_id, link.role)] = LinkRow(**link._asdict())
    g = t.guardianships.c
    for gs in conn.execute(select(g.id, g.guardian_id, g.student_id, g.relation, g.end_date)):
        d.guardianships[(gs.guardian_id, gs.student_id)] = GuardianshipRow(**gs._asdict())
    gr = t.groups.c
    group_cols = [
        gr.id, gr.school_id, gr.kind, gr.name, gr.register_id, gr.register_type, gr.subject,
        gr.course, gr.activities, gr.start_date, gr.end_date, gr.status, gr.register_name,
    ]  # fmt: skip
    for group in conn.execute(select(*group_cols)):
        d.groups[group.id] = GroupRow(**group._asdict())
    m = t.memberships.c
    member_cols = (m.id, m.group_id, m.user_id, m.role, m.start_date, m.end_date)
    for mid, gid, uid, role, start, end in conn.execute(select(*member_cols)):
        d.memberships[(gid, uid, role)] = MembershipRow(mid, gid, uid, role, start, end)
    d.register_counts = last_register_counts(conn)
    ls = t.lessons.c
    for source, count in conn.execute(select(ls.source, func.count()).group_by(ls.source)):
        d.lesson_counts[source] = count
    if lesson_sources:
        lesson_cols = [
            ls.id, ls.source, ls.source_key, ls.school_id, ls.group_name, ls.group_id,
            ls.class_id, ls.subject, ls.teachers, ls.start, ls.end, ls.room, ls.cancelled,
            ls.removed, ls.problem,
        ]  # fmt: skip
        query = select(*lesson_cols).where(ls.source.in_(sorted(lesson_sources)))
        for lesson in conn.execute(query):
            d.lessons[(lesson.source, lesson.source_key)] = LessonRow(**lesson._asdict())
    return d


def last_register_counts(conn: Connection) -> dict[str, int]:
    """Records per kind of the newest applied sync that read a register (empty if none did)."""
    r = t.runs.c
    query = (
        select(r.sources)
        .where(r.kind == "sync", r.status == "applied")
        .order_by(r.id.desc())
        .limit(100)
    )
    for (sources,) in conn.execute(query):
        for source in sources or ():
            if isinstance(source, dict) and source.get("format") == "ss12000":
                records = source.get("records")
                return dict(records) if isinstance(records, dict) else {}
    return {}
