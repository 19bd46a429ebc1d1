"""The directory as it will be once the planned changes are applied: what lessons are tied to.

When the register and the schedule are synced in one run, a lesson must be tied to the groups and
teachers of the new state, not the old. This view overlays the change set on the loaded directory
without writing anything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from operator import attrgetter
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


def _overlaid(
    rows: Iterable[Any], changes: EntityChanges[Any], *names: str
) -> Iterator[tuple[Any, ...]]:
    """One entity's rows as they will be: the loaded rows with their updates, then the created
    rows, each as the values of ``names`` (the key first). No row is copied: a million
    memberships are read through, not held twice."""
    updates: dict[str, Mapping[str, Any]] = {}
    for update in changes.updated:  # a row updated twice (R11 masking, say) gets both
        held = updates.get(update.key)
        updates[update.key] = update.values if held is None else {**held, **update.values}
    pick = attrgetter(*names)
    for row in rows:
        values = updates.get(getattr(row, names[0])) if updates else None
        if values is None:
            yield pick(row)
        else:
            yield tuple(values[n] if n in values else getattr(row, n) for n in names)
    yield from map(pick, changes.created)


def build_view(directory: Directory, changes: ChangeSet, today: date) -> DirectoryView:
    """Overlay the planned changes on the directory."""
    infos = {
        gid: GroupInfo(gid, school_id, kind, name, register_id, subject)
        for gid, school_id, kind, name, register_id, subject in _overlaid(
            directory.groups.values(), changes.groups,
            "id", "school_id", "kind", "name", "register_id", "subject",
        )
    }  # fmt: skip
    members = _overlaid(
        directory.memberships.values(), changes.memberships,
        "id", "group_id", "user_id", "role", "end_date",
    )  # fmt: skip
    for _, group_id, user_id, role, end_date in members:
        info = infos.get(group_id)
        if info is None or not is_open(end_date, today):
            continue
        if role == "student":
            info.students.add(user_id)
        elif role == "teacher":
            info.teachers.add(user_id)
    signature_users: dict[str, set[str]] = defaultdict(set)
    user_signature: dict[str, str] = {}
    for user_id, signature in _overlaid(directory.users.values(), changes.users, "id", "signature"):
        if signature:
            signature_users[signature].add(user_id)
            user_signature[user_id] = signature
    unit_signatures: dict[str, set[str]] = defaultdict(set)
    links = _overlaid(directory.links.values(), changes.school_links, "id", "user_id", "signature")
    for _, user_id, signature in links:
        if signature:
            unit_signatures[signature].add(user_id)
    school_names = dict(_overlaid(directory.schools.values(), changes.schools, "id", "name"))
    units = _overlaid(directory.units.values(), changes.units, "register_id", "school_id", "code")
    keys = {name.lower(): school_id for school_id, name in school_names.items()}
    keys.update({code.lower(): school_id for _, school_id, code in units if code})
    return DirectoryView(
        groups=infos,
        by_name={(g.school_id, g.kind, g.name): g for g in infos.values()},
        by_register={g.register_id: g for g in infos.values() if g.register_id},
        signature_users=dict(signature_users),
        user_signature=user_signature,
        unit_signatures=dict(unit_signatures),
        school_names=school_names,
        schools_by_key=keys,
    )
