"""What the directory and the last run know about one group or one signature (R8.3).

Modelled on a platform's support tool: search by the EXACT name or signature, get the details and
the warnings, and where nothing matches exactly, the names that were probably meant. Each view is
one dict, rendered as text for a person or as JSON for a script.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.near import near_matches
from schoolsync.domain.personnummer import mask_civic_no
from schoolsync.export import link_active, visible
from schoolsync.store import schema as t

KIND_WORD = {
    "class": "class",
    "group": "teaching group",
    "mentor": "mentor group",
    "other": "group",
}


def last_sync_issues(conn: Connection, subject: str) -> tuple[int | None, list[dict[str, str]]]:
    """The newest applied or held sync run, and its issues about ``subject``."""
    r = t.runs.c
    run_id = conn.execute(
        select(func.max(r.id)).where(r.kind == "sync", r.status.in_(("applied", "held")))
    ).scalar()
    if run_id is None:
        return None, []
    i = t.run_issues.c
    rows = conn.execute(
        select(i.code, i.severity, i.rule, i.message)
        .where(i.run_id == run_id, i.subject == subject)
        .order_by(i.id)
    )
    return int(run_id), [dict(row._mapping) for row in rows]


def _who(row: Any) -> str:
    return f"{row.given_name} {row.family_name} ({mask_civic_no(row.civic_no)})"


def troubleshoot_group(conn: Connection, name: str, today: date, lead_days: int) -> dict[str, Any]:
    """Everything about the classes and groups named exactly ``name``.

    Returns:
        ``{"query", "found": [...], "near": [...], "others": [...], "run_id", "issues"}``.
    """
    g, s, m, u = t.groups.c, t.schools.c, t.memberships.c, t.users.c
    found = []
    rows = conn.execute(
        select(t.groups, s.name.label("school"))
        .join(t.schools, s.id == g.school_id)
        .where(g.name == name)
    ).all()
    for row in rows:
        members = conn.execute(
            select(m.role, m.start_date, m.end_date, u.given_name, u.family_name, u.civic_no,
                   u.signature)
            .join(t.users, u.id == m.user_id)
            .where(m.group_id == row.id)
            .order_by(m.role, u.family_name, u.given_name)
        ).all()  # fmt: skip
        active = Counter(x.role for x in members if link_active(x.start_date, x.end_date, today))
        found.append(
            {
                "name": row.name,
                "school": row.school,
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
                        "role": x.role,
                        "who": _who(x),
                        "signature": x.signature if x.role in ("teacher", "mentor") else None,
                        "start_date": x.start_date.isoformat() if x.start_date else None,
                        "end_date": x.end_date.isoformat() if x.end_date else None,
                        "active": link_active(x.start_date, x.end_date, today),
                    }
                    for x in members
                ],
            }
        )
    near, others = ([], []) if found else near_matches(name, conn.execute(select(g.name)).scalars())
    run_id, issues = last_sync_issues(conn, name)
    return {
        "query": name,
        "found": found,
        "near": [{"name": n, "difference": why} for n, why in near],
        "others": others,
        "run_id": run_id,
        "issues": issues,
    }


def troubleshoot_signature(conn: Connection, signature: str, today: date) -> dict[str, Any]:
    """Everything about the teacher signature ``signature``: who has it where, what they teach."""
    u, ln, s, m, g = t.users.c, t.user_schools.c, t.schools.c, t.memberships.c, t.groups.c
    holders: dict[str, dict[str, Any]] = {}
    rows = conn.execute(
        select(u.id, u.given_name, u.family_name, u.civic_no, u.signature, s.name.label("school"),
               ln.role, ln.signature.label("unit_signature"), ln.start_date, ln.end_date)
        .join(t.user_schools, ln.user_id == u.id)
        .join(t.schools, s.id == ln.school_id)
        .where((u.signature == signature) | (ln.signature == signature))
        .order_by(u.family_name, u.given_name, s.name)
    ).all()  # fmt: skip
    for row in rows:
        holder = holders.setdefault(
            row.id,
            {"who": _who(row), "directory_signature": row.signature, "schools": [], "groups": []},
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
            select(g.name, g.kind, s.name.label("school"), m.role, m.start_date, m.end_date)
            .join(t.groups, g.id == m.group_id)
            .join(t.schools, s.id == g.school_id)
            .where(m.user_id == user_id, m.role.in_(("teacher", "mentor")))
            .order_by(g.name)
        ).all()
        holder["groups"] = [
            {"name": x.name, "kind": x.kind, "school": x.school, "role": x.role,
             "active": link_active(x.start_date, x.end_date, today)}
            for x in taught
        ]  # fmt: skip
    found = list(holders.values())
    near: list[tuple[str, str]] = []
    others: list[str] = []
    if not found:
        known = conn.execute(select(u.signature).where(u.signature.is_not(None))).scalars()
        near, others = near_matches(signature, known)
    run_id, issues = last_sync_issues(conn, signature)
    return {
        "query": signature,
        "found": found,
        "near": [{"name": n, "difference": why} for n, why in near],
        "others": others,
        "run_id": run_id,
        "issues": issues,
    }
