"""The directory as it stands, in the export shape of INTERFACE.md (``export --json``).

``active`` and ``status`` are judged on the given day, so an export for another ``--today`` shows
what the platform would show then.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from schoolsync.engine.state import is_open
from schoolsync.store import schema as t


def link_active(start: date | None, end: date | None, today: date) -> bool:
    """True when a dated link holds on ``today`` (start and end inclusive)."""
    return (start is None or start <= today) and is_open(end, today)


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_directory(conn: Connection, today: date) -> dict[str, Any]:
    """Build the export document.

    Args:
        conn: An open connection.
        today: The day ``active`` and ``status`` are judged on.

    Returns:
        ``{"schools", "users", "classes", "groups", "lessons"}`` as INTERFACE.md shows.
    """
    school_names: dict[str, str] = {}
    units: dict[str, list[str]] = defaultdict(list)
    for school in conn.execute(select(t.schools.c.id, t.schools.c.name)):
        school_names[school.id] = school.name
    su = t.school_units.c
    for unit in conn.execute(select(su.school_id, su.code, su.register_id)):
        units[unit.school_id].append(unit.code or unit.register_id)
    schools = [
        {"name": name, "units": sorted(units.get(sid, []))}
        for sid, name in sorted(school_names.items(), key=lambda kv: kv[1])
    ]

    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    s = t.user_schools.c
    for link in conn.execute(
        select(s.user_id, s.school_id, s.role, s.start_date, s.end_date).order_by(
            s.user_id, s.start_date, s.role
        )
    ):
        links[link.user_id].append(
            {
                "school": school_names[link.school_id],
                "role": link.role,
                "start_date": _iso(link.start_date),
                "end_date": _iso(link.end_date),
                "active": link_active(link.start_date, link.end_date, today),
                "_open": is_open(link.end_date, today),
            }
        )
    civic_of = {r.id: r.civic_no for r in conn.execute(select(t.users.c.id, t.users.c.civic_no))}
    guardians: dict[str, list[dict[str, Any]]] = defaultdict(list)
    g = t.guardianships.c
    for gs in conn.execute(select(g.guardian_id, g.student_id, g.relation, g.end_date)):
        guardians[gs.student_id].append(
            {
                "civic_no": civic_of[gs.guardian_id],
                "relation": gs.relation,
                "active": is_open(gs.end_date, today),
            }
        )
    u = t.users.c
    users = []
    for row in conn.execute(
        select(
            u.id, u.civic_no, u.given_name, u.family_name, u.email, u.mobile, u.signature
        ).order_by(u.civic_no)
    ):
        mine = links.get(row.id, [])
        status = "active" if any([x.pop("_open") for x in mine]) else "ended"
        users.append(
            {
                "id": row.id,
                "civic_no": row.civic_no,
                "given_name": row.given_name,
                "family_name": row.family_name,
                "email": row.email,
                "mobile": row.mobile,
                "signature": row.signature,
                "status": status,
                "schools": sorted(mine, key=lambda x: (x["school"], x["role"])),
                "guardians": sorted(guardians.get(row.id, []), key=lambda x: x["civic_no"]),
            }
        )
    return {"schools": schools, "users": users, "classes": [], "groups": [], "lessons": []}
