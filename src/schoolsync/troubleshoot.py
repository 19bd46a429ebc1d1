"""What the directory and the last run know about one group or one signature (R8.3).

Modelled on a platform's support tool: search by the EXACT name or signature, get the details and
the warnings, and where nothing matches exactly, the names that were probably meant. Each view is
one dict, rendered as text for a person or as JSON for a script.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import link_active
from schoolsync.domain.near import how_near, near_matches
from schoolsync.domain.personnummer import mask_civic_no
from schoolsync.export import visible
from schoolsync.store import schema as t
from schoolsync.store.queries import Schools, within

KIND_WORD = {
    "class": "class",
    "group": "teaching group",
    "mentor": "mentor group",
    "other": "group",
}


def last_sync_issues(conn: Connection, *subjects: str) -> tuple[int | None, list[dict[str, str]]]:
    """The newest applied or held sync run, and its issues about these subjects."""
    r = t.runs.c
    run_id = conn.execute(
        select(func.max(r.id)).where(r.kind == "sync", r.status.in_(("applied", "held")))
    ).scalar()
    if run_id is None:
        return None, []
    i = t.run_issues.c
    rows = conn.execute(
        select(i.id, i.code, i.severity, i.rule, i.message)
        .where(i.run_id == run_id, i.subject.in_(subjects))
        .order_by(i.id)
    )
    return int(run_id), [dict(row._mapping) for row in rows]


def _who(row: Any, today: date) -> str:
    return f"{row.given_name} {row.family_name} ({mask_civic_no(row.civic_no, today=today)})"


def troubleshoot_group(
    conn: Connection,
    name: str,
    today: date,
    lead_days: int,
    schools: Schools = None,
    only: str | None = None,
) -> dict[str, Any]:
    """Everything about the classes and groups named exactly ``name`` (at ``schools``, if given:
    a school-admin's view; ``only``: just the one with that id).

    Returns:
        ``{"query", "found": [...], "near": [...], "others": [...], "run_id", "issues"}``.
    """
    g, s, m, u = t.groups.c, t.schools.c, t.memberships.c, t.users.c
    found = []
    rows = conn.execute(
        select(t.groups, s.name.label("school"))
        .join(t.schools, s.id == g.school_id)
        .where(g.name == name, *within(g.school_id, schools))
        .where(*([g.id == only] if only is not None else []))
    ).all()
    for row in rows:
        members = conn.execute(
            select(m.role, m.start_date, m.end_date, u.id, u.given_name, u.family_name,
                   u.civic_no, u.signature)
            .join(t.users, u.id == m.user_id)
            .where(m.group_id == row.id)
            .order_by(m.role, u.family_name, u.given_name)
        ).all()  # fmt: skip
        active = Counter(x.role for x in members if link_active(x.start_date, x.end_date, today))
        found.append(
            {
                "id": row.id,
                "name": row.name,
                "school": row.school,
                "school_id": row.school_id,
                "kind": row.kind,
                "register_type": row.register_type,
                "status": "archived" if row.end_date and row.end_date < today else "active",
                "visible": visible(row.start_date, today, lead_days),
                "start_date": row.start_date.isoformat() if row.start_date else None,
                "end_date": row.end_date.isoformat() if row.end_date else None,
                "subject": row.subject,
                "course": row.course,
                "activities": row.activities,
                "active_counts": dict(active),
                "members": [
                    {
                        "user_id": x.id,
                        "role": x.role,
                        "who": _who(x, today),
                        "signature": x.signature if x.role in ("teacher", "mentor") else None,
                        "start_date": x.start_date.isoformat() if x.start_date else None,
                        "end_date": x.end_date.isoformat() if x.end_date else None,
                        "active": link_active(x.start_date, x.end_date, today),
                    }
                    for x in members
                ],
            }
        )
    known = conn.execute(select(g.name).where(*within(g.school_id, schools))).scalars()
    near, others = ([], []) if found else near_matches(name, known)
    lessons = group_lessons(conn, name, [row.id for row in rows], schools)
    written = {x["as_written"] for x in lessons["failed"]}
    subjects = [name] if found or schools is None else []
    run_id, issues = last_sync_issues(conn, *subjects, *sorted(written))
    return {
        "query": name,
        "found": found,
        "lessons": lessons,
        "near": [{"name": n, "difference": why} for n, why in near],
        "others": others,
        "run_id": run_id,
        "issues": issues,
    }


def troubleshoot_signature(
    conn: Connection, signature: str, today: date, schools: Schools = None
) -> dict[str, Any]:
    """Everything about the teacher signature ``signature``: who has it where, what they teach
    (at ``schools``, if given)."""
    u, ln, s, m, g = t.users.c, t.user_schools.c, t.schools.c, t.memberships.c, t.groups.c
    holders: dict[str, dict[str, Any]] = {}
    holding = sa.union(
        select(u.id).where(u.signature == signature),
        select(ln.user_id).where(ln.signature == signature),
    ).scalar_subquery()
    rows = conn.execute(
        select(u.id, u.given_name, u.family_name, u.civic_no, u.signature, s.name.label("school"),
               ln.role, ln.signature.label("unit_signature"), ln.start_date, ln.end_date)
        .join(t.user_schools, ln.user_id == u.id)
        .join(t.schools, s.id == ln.school_id)
        .where(u.id.in_(holding))  # by index: the OR below alone scans every link
        .where((u.signature == signature) | (ln.signature == signature))
        .where(*within(ln.school_id, schools))
        .order_by(u.family_name, u.given_name, s.name)
    ).all()  # fmt: skip
    for row in rows:
        holder = holders.setdefault(
            row.id,
            {
                "user_id": row.id,
                "who": _who(row, today),
                "directory_signature": row.signature,
                "schools": [],
                "groups": [],
            },
        )
        holder["schools"].append(
            {
                "school": row.school,
                "role": row.role,
                "signature_there": row.unit_signature,
                "active": link_active(row.start_date, row.end_date, today),
            }
        )
    for user_id, holder in holders.items():
        taught = conn.execute(
            select(g.id, g.name, g.kind, s.name.label("school"), m.role, m.start_date, m.end_date)
            .join(t.groups, g.id == m.group_id)
            .join(t.schools, s.id == g.school_id)
            .where(m.user_id == user_id, m.role.in_(("teacher", "mentor")))
            .where(*within(g.school_id, schools))
            .order_by(g.name)
        ).all()
        holder["groups"] = [
            {"id": x.id, "name": x.name, "kind": x.kind, "school": x.school, "role": x.role,
             "active": link_active(x.start_date, x.end_date, today)}
            for x in taught
        ]  # fmt: skip
    found = list(holders.values())
    near: list[tuple[str, str]] = []
    others: list[str] = []
    if not found:
        known = conn.execute(
            select(ln.signature)
            .where(ln.signature.is_not(None), *within(ln.school_id, schools))
            .distinct()
        ).scalars()
        near, others = near_matches(signature, known)
    lessons = signature_lessons(conn, signature, schools)
    subjects = [signature] if found or lessons or schools is None else []
    run_id, issues = last_sync_issues(conn, *subjects)
    return {
        "query": signature,
        "found": found,
        "lessons": lessons,
        "near": [{"name": n, "difference": why} for n, why in near],
        "others": others,
        "run_id": run_id,
        "issues": issues,
    }


def _group_names(conn: Connection, rows: list[Any]) -> dict[str, str]:
    """The names of the groups and classes the lesson rows are tied to."""
    g = t.groups.c
    ids = sorted({i for row in rows for i in (row.group_id, row.class_id) if i})
    names: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        names.update(
            (r.id, r.name) for r in conn.execute(select(g.id, g.name).where(g.id.in_(chunk)))
        )
    return names


def _lesson_summary(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    """Lessons grouped by (group, class, subject, teachers): how many, when, how many cancelled."""
    names = _group_names(conn, rows)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = (row.group_id, row.class_id, row.group_name, row.subject, tuple(row.teachers),
               row.problem, row.source)  # fmt: skip
        item = out.get(key)
        if item is None:
            item = out[key] = {
                "group": names.get(row.group_id or ""),
                "group_id": row.group_id,
                "class": names.get(row.class_id or ""),
                "as_written": row.group_name,
                "subject": row.subject,
                "teachers": list(row.teachers),
                "problem": row.problem,
                "source": row.source,
                "lessons": 0,
                "cancelled": 0,
                "first": row.start.isoformat(),
                "last": row.start.isoformat(),
            }
        item["lessons"] += 1
        item["cancelled"] += int(bool(row.cancelled or row.removed))
        item["first"] = min(item["first"], row.start.isoformat())
        item["last"] = max(item["last"], row.start.isoformat())
    return sorted(out.values(), key=lambda x: (x["problem"] or "", x["as_written"], x["first"]))


def _lesson_rows(conn: Connection, condition: Any, schools: Schools = None) -> list[Any]:
    ls = t.lessons.c
    cols = (ls.group_id, ls.class_id, ls.group_name, ls.subject, ls.teachers, ls.problem,
            ls.source, ls.start, ls.cancelled, ls.removed)  # fmt: skip
    return list(conn.execute(select(*cols).where(condition, *within(ls.school_id, schools))))


def group_lessons(
    conn: Connection, name: str, group_ids: list[str], schools: Schools = None
) -> dict[str, Any]:
    """The lessons tied to these groups, and the lessons that failed to tie to this name (at
    ``schools``, if given)."""
    ls = t.lessons.c
    tied = _lesson_rows(conn, ls.group_id.in_(group_ids)) if group_ids else []
    failed_names = {
        n
        for n in conn.execute(
            select(ls.group_name)
            .where(ls.group_id.is_(None), *within(ls.school_id, schools))
            .distinct()
        ).scalars()
        if n == name or how_near(name, n) is not None
    }
    failed = _lesson_rows(conn, ls.group_id.is_(None) & ls.group_name.in_(failed_names), schools)
    return {"tied": _lesson_summary(conn, tied), "failed": _lesson_summary(conn, failed)}


def signature_lessons(
    conn: Connection, signature: str, schools: Schools = None
) -> list[dict[str, Any]]:
    """The lessons that name this signature, tied or not (at ``schools``, if given)."""
    ls = t.lessons.c
    condition = sa.cast(ls.teachers, sa.Text).contains(signature, autoescape=True)
    rows = [r for r in _lesson_rows(conn, condition, schools) if signature in r.teachers]
    return _lesson_summary(conn, rows)
