"""The directory as it will be once the planned changes are applied: what lessons are tied to.

When the register and the schedule are synced in one run, a lesson must be tied to the groups and
teachers of the new state, not the old. This view overlays the change set on the loaded directory
without writing anything.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from schoolsync.domain.directory import Directory, is_open
from schoolsync.engine.plan.changeset import ChangeSet, EntityChanges


@dataclass
class GroupInfo:
    """What tying a lesson needs to know about one group."""

    id: str
    school_id: str
    kind: str
    name: str
    register_id: str | None
    subject: str | None
    students: set[str] = field(default_factory=set)  # user ids, open memberships
    teachers: set[str] = field(default_factory=set)  # user ids, open memberships


@dataclass
class DirectoryView:
    """Groups by school and name, signatures, schools by code and name, after the plan."""

    groups: dict[str, GroupInfo]
    by_name: dict[tuple[str, str, str], GroupInfo]  # (school, kind, name)
    by_register: dict[str, GroupInfo]
    signature_users: dict[str, set[str]]  # user-level signature -> user ids
    user_signature: dict[str, str]
    unit_signatures: dict[str, set[str]]  # signature on some unit's link -> user ids
    school_names: dict[str, str]
    schools_by_key: dict[str, str]  # lower-cased code or name -> school id


def _rows(base: dict[str, dict[str, Any]], changes: EntityChanges[Any], *names: str) -> None:
    """Overlay one entity's changes on its rows (``names``: the fields kept, the key first)."""
    for update in changes.updated:
        if update.key in base:
            base[update.key].update(update.values)
    for row in changes.created:
        base[getattr(row, names[0])] = {n: getattr(row, n) for n in names}


def build_view(directory: Directory, changes: ChangeSet, today: date) -> DirectoryView:
    """Overlay the planned changes on the directory."""
    groups: dict[str, dict[str, Any]] = {
        g.id: {"id": g.id, "school_id": g.school_id, "kind": g.kind, "name": g.name,
               "register_id": g.register_id, "subject": g.subject}
        for g in directory.groups.values()
    }  # fmt: skip
    _rows(groups, changes.groups, "id", "school_id", "kind", "name", "register_id", "subject")
    infos = {
        gid: GroupInfo(
            g["id"], g["school_id"], g["kind"], g["name"], g["register_id"], g["subject"]
        )
        for gid, g in groups.items()
    }
    members: dict[str, dict[str, Any]] = {
        m.id: {"id": m.id, "group_id": m.group_id, "user_id": m.user_id, "role": m.role,
               "end_date": m.end_date}
        for m in directory.memberships.values()
    }  # fmt: skip
    _rows(members, changes.memberships, "id", "group_id", "user_id", "role", "end_date")
    for m in members.values():
        info = infos.get(m["group_id"])
        if info is None or not is_open(m["end_date"], today):
            continue
        if m["role"] == "student":
            info.students.add(m["user_id"])
        elif m["role"] == "teacher":
            info.teachers.add(m["user_id"])
    users: dict[str, dict[str, Any]] = {
        u.id: {"id": u.id, "signature": u.signature} for u in directory.users.values()
    }
    _rows(users, changes.users, "id", "signature")
    signature_users: dict[str, set[str]] = defaultdict(set)
    for user in users.values():
        if user["signature"]:
            signature_users[user["signature"]].add(user["id"])
    links: dict[str, dict[str, Any]] = {
        ln.id: {"id": ln.id, "user_id": ln.user_id, "signature": ln.signature}
        for ln in directory.links.values()
    }
    _rows(links, changes.school_links, "id", "user_id", "signature")
    unit_signatures: dict[str, set[str]] = defaultdict(set)
    for link in links.values():
        if link["signature"]:
            unit_signatures[link["signature"]].add(link["user_id"])
    schools: dict[str, dict[str, Any]] = {
        s.id: {"id": s.id, "name": s.name} for s in directory.schools.values()
    }
    _rows(schools, changes.schools, "id", "name")
    units: dict[str, dict[str, Any]] = {
        u.register_id: {"register_id": u.register_id, "school_id": u.school_id, "code": u.code}
        for u in directory.units.values()
    }
    _rows(units, changes.units, "register_id", "school_id", "code")
    keys = {s["name"].lower(): s["id"] for s in schools.values()}
    keys.update({(u["code"] or "").lower(): u["school_id"] for u in units.values() if u["code"]})
    return DirectoryView(
        groups=infos,
        by_name={(g.school_id, g.kind, g.name): g for g in infos.values()},
        by_register={g.register_id: g for g in infos.values() if g.register_id},
        signature_users=dict(signature_users),
        user_signature={u["id"]: u["signature"] for u in users.values() if u["signature"]},
        unit_signatures=dict(unit_signatures),
        school_names={s["id"]: s["name"] for s in schools.values()},
        schools_by_key=keys,
    )
