"""Classes and groups in the directory: match, create, rename, archive (R5.3, R6.1–R6.4).

A class or group is found by its name within its school (R5.1, R6.1). When the register's stable
group id is the same and only the name changed, it is the same group, renamed (``group-renamed``).
When the name changed AND the id changed, the old group is archived and a new one created; if the
same students moved over, ``possible-rename`` names both and the command that would have kept it
(R5.3). A group that is past its end date, or gone from the register, is archived with its
members, never deleted (R6.4).

An administrator may rename a class or group in the directory first (``class rename``,
``group rename``); the directory then remembers the register's name in ``register_name``. While
the register still brings that old name under the same register id, the directory's name holds,
nothing is written, and ``rename-pending`` says which name the register should take. When the
register brings the directory's name, the name matches and ``register_name`` is cleared. When the
register instead renames it to a third name, the register's new name wins (``group-renamed``) and
``register_name`` is cleared: the register has been renamed on purpose, so it is the register's
choice that stands, as with any rename under a stable register id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schoolsync.domain.directory import GroupRow
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.wanted_groups import GroupKey, WantedGroup

ENTITY = {"class": "class", "group": "group", "mentor": "group", "other": "group"}
WORD = {"class": "class", "group": "group", "mentor": "mentor group", "other": "group"}


@dataclass
class GroupOutcome:
    """Which directory group each wanted group became, and which groups to leave alone.

    Attributes:
        group_of: Wanted key to directory group id (existing or created).
        archived: Directory group ids archived because the register no longer has them.
        frozen: Directory group ids whose register records could not be used this run.
    """

    group_of: dict[GroupKey, str]
    archived: set[str]
    frozen: set[str]


def status_of(end: Any, ctx: PlanContext) -> str:
    """``archived`` once the end date has passed (R6.4), else ``active``."""
    return "archived" if end is not None and end < ctx.today else "active"


def _frozen_groups(ctx: PlanContext, duplicate_keys: set[GroupKey]) -> set[str]:
    unreadable = ctx.snapshot.unreadable_ids.get("groups", set())
    bad_activities = ctx.snapshot.unreadable_ids.get("activities", set())
    frozen = set()
    for group in ctx.directory.groups.values():
        rid = group.register_id or ""
        parts = rid.split(":")
        if (
            (group.school_id, group.kind, group.name) in duplicate_keys
            or (group.school_id, group.kind, group.register_name) in duplicate_keys
            or rid in unreadable
            or (parts[0] == "gen" and (parts[1] in bad_activities or parts[2] in unreadable))
        ):
            frozen.add(group.id)
    return frozen


def plan_groups(
    ctx: PlanContext, wanted: dict[GroupKey, WantedGroup], duplicate_keys: set[GroupKey]
) -> GroupOutcome:
    """Plan every class and group change; memberships follow in their own step."""
    groups = ctx.directory.groups
    frozen = _frozen_groups(ctx, duplicate_keys)
    by_key = {(g.school_id, g.kind, g.name): g for g in groups.values()}
    by_register = {(g.school_id, g.kind, g.register_id): g for g in groups.values()}
    group_of: dict[GroupKey, str] = {}
    kept_name: dict[GroupKey, GroupRow] = {}  # renamed in the directory, not yet in the register
    used: set[str] = set()
    for key in sorted(wanted):
        if key in by_key:
            # A frozen group keeps its name: a readable copy of its unreadable record (or
            # another record of the name) is that group, left as it is, never a second one.
            group_of[key] = by_key[key].id
            used.add(by_key[key].id)
    for key in sorted(set(wanted) - set(group_of)):
        w = wanted[key]
        old = by_register.get((w.school_id, w.kind, w.register_id))
        if old is None or old.id in used or old.id in frozen:
            continue
        if (old.school_id, old.kind, old.name) in wanted:
            continue  # the old name is still in use by another register group
        group_of[key] = old.id
        used.add(old.id)
        if old.register_name is not None and old.register_name == w.name:
            kept_name[key] = old
            _report_pending(ctx, old)
            continue
        ctx.report(
            "group-renamed",
            f"The {WORD[w.kind]} {old.name!r} was renamed {w.name!r} in the register (same "
            f"register id), so it kept all its content and history. Nothing to do.",
            w.name,
        )

    for key in sorted(wanted):
        w = wanted[key]
        if key in kept_name:
            _update(ctx, kept_name[key], w, name=kept_name[key].name)
        elif key in group_of:
            if group_of[key] not in frozen:
                _update(ctx, groups[group_of[key]], w)
        else:
            group_of[key] = _create(ctx, w)
    archived = set()
    for group in sorted(groups.values(), key=lambda g: (g.school_id, g.kind, g.name)):
        if group.id in used or group.id in frozen:
            continue
        if "groups" in ctx.snapshot.unidentified:
            continue  # an unreadable group without id may be this one: archive nothing
        if _archive(ctx, group):
            archived.add(group.id)
    return GroupOutcome(group_of, archived, frozen)


def _report_pending(ctx: PlanContext, row: GroupRow) -> None:
    """R5.3: renamed in the directory first; the register still has the old name."""
    school = ctx.school_names().get(row.school_id, row.school_id)
    ctx.report(
        "rename-pending",
        f"The {WORD[row.kind]} {row.name!r} at {school} was renamed in the directory, but the "
        f"register still calls it {row.register_name!r}. The directory keeps the name "
        f"{row.name!r} and all its content. Rename it in the register too, to exactly "
        f"{row.name!r}.",
        row.name,
    )


def _values(w: WantedGroup, ctx: PlanContext, name: str | None = None) -> dict[str, Any]:
    """The directory columns a wanted group sets; ``name`` keeps a name renamed here first.

    ``register_name`` stays only while the name is kept; otherwise it is cleared.
    """
    return {
        "name": w.name if name is None else name,
        "register_name": None if name is None else w.name,
        "register_id": w.register_id,
        "register_type": w.register_type,
        "subject": w.subject,
        "course": w.course,
        "activities": list(w.activities),
        "start_date": w.start,
        "end_date": w.end,
        "status": status_of(w.end, ctx),
    }


def _create(ctx: PlanContext, w: WantedGroup) -> str:
    gid = ctx.new_id()
    ctx.changes.groups.create(
        GroupRow(id=gid, school_id=w.school_id, kind=w.kind, **_values(w, ctx))
    )
    ctx.changes.record(ENTITY[w.kind], gid, "created", group=w.name, kind=w.kind)
    return gid


def _update(ctx: PlanContext, row: GroupRow, w: WantedGroup, name: str | None = None) -> None:
    new = _values(w, ctx, name)
    changed = {k: v for k, v in new.items() if getattr(row, k) != v}
    if not changed:
        return
    ctx.changes.groups.update(row.id, changed)
    details = {k: [getattr(row, k), v] for k, v in changed.items()}
    if "name" in changed:
        action = "renamed"
    elif "status" in changed:
        action = "archived" if changed["status"] == "archived" else "reactivated"
    else:
        action = "updated"
    ctx.changes.record(
        ENTITY[row.kind], row.id, action, group=new["name"], kind=row.kind, **details
    )


def _archive(ctx: PlanContext, row: GroupRow) -> bool:
    """Archive a group the register no longer has: end it yesterday unless it ended already."""
    changed: dict[str, Any] = {}
    if row.end_date is None or row.end_date >= ctx.today:
        changed["end_date"] = ctx.yesterday
    if row.status != "archived":
        changed["status"] = "archived"
    if not changed:
        return False
    ctx.changes.groups.update(row.id, changed)
    details = {k: [getattr(row, k), v] for k, v in changed.items()}
    ctx.changes.record(
        ENTITY[row.kind], row.id, "archived", name=row.name, kind=row.kind, **details
    )
    return True
