"""Who is in which class and group, and when (R7), plus the warnings that come from it.

Students join by their membership dates, but only while they are students of the group's school:
leaving ends every membership (R3.2, R7.1). Teachers join through the duty an activity names; a
signature shared by two people in one school links nobody (R4.4). Mentors come from the register's
mentor assignments, as each school chooses (R7.3). Synced groups own their member lists: a member
the register no longer has is ended (R7.4).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from schoolsync.domain.directory import MembershipRow, is_open
from schoolsync.domain.records import Duty
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.groups import WORD, GroupOutcome
from schoolsync.engine.plan.people import Span
from schoolsync.engine.plan.users import UserOutcome
from schoolsync.engine.plan.wanted_groups import (
    GroupKey,
    Period,
    WantedGroup,
    cover,
    reused_message,
)

MemberKey = tuple[str, str, str]  # (group id, user id, role)

# A created membership's change-log details: its key (group, user, role) under these names.
_CREATED_NAMES = ("group_id", "user_id", "role")


def _min_end(a: date | None, b: date | None) -> date | None:
    if a is None:
        return b
    return a if b is None else min(a, b)


def teacher_of_duty(ctx: PlanContext, users: UserOutcome) -> dict[str, str]:
    """Duty id to the teacher's register person id, through the duty's signature (R7.2, R4.4).

    A signature that two different people have at one school links nobody through it, and is
    reported as ``signature-duplicate``.
    """
    valid = users.people.valid
    holders: dict[tuple[str, str], set[str]] = defaultdict(set)
    for duty in ctx.snapshot.duties:
        school = ctx.unit_school.get(duty.unit_id)
        if duty.signature and school and duty.person_id in valid:
            holders[(school, duty.signature)].add(duty.person_id)
    names = ctx.school_names()
    shared = {key for key, people in holders.items() if len(people) > 1}
    for school, signature in sorted(shared):
        who = ", ".join(
            sorted(
                f"{valid[p][0].given_name} {valid[p][0].family_name}"
                for p in holders[(school, signature)]
            )
        )
        ctx.report(
            "signature-duplicate",
            f"The signature {signature} is used by {len(holders[(school, signature)])} different "
            f"people at {names.get(school, school)} ({who}), so no teacher was linked to groups "
            f"through it. Give each teacher a signature of their own in the register.",
            signature,
            persons=tuple(sorted(holders[(school, signature)])),
        )
    out: dict[str, str] = {}
    for duty in ctx.snapshot.duties:
        school = ctx.unit_school.get(duty.unit_id)
        if duty.person_id not in valid or school is None:
            continue
        if duty.signature and (school, duty.signature) in shared:
            continue
        out[duty.id] = duty.person_id
    return out


def _mentors(ctx: PlanContext, users: UserOutcome) -> dict[str, list[tuple[str, Period]]]:
    """Register group id to mentor (person id, period), from Mentor assignment roles (R7.3)."""
    out: dict[str, list[tuple[str, Period]]] = defaultdict(list)
    duties: list[Duty] = ctx.snapshot.duties
    for duty in duties:
        if duty.person_id not in users.people.valid:
            continue
        for role in duty.assignment_roles:
            if role.role_type == "Mentor":
                period = (role.start_date or duty.start_date, role.end_date or duty.end_date)
                out[role.group_id].append((duty.person_id, period))
    return out


def wanted_memberships(
    ctx: PlanContext, wanted: dict[GroupKey, WantedGroup], groups: GroupOutcome, users: UserOutcome
) -> dict[MemberKey, Period]:
    """Every membership the register implies, keyed by (group id, user id, role)."""
    links = users.people.links
    teacher = teacher_of_duty(ctx, users)
    duty_end = {d.id: d.end_date for d in ctx.snapshot.duties}
    mentors = _mentors(ctx, users)
    out: dict[MemberKey, Period] = {}
    # The loops below run once per member (a million at the largest size): the lookups they
    # repeat are bound once.
    user_of = users.user_of
    get = out.get
    no_links: dict[tuple[str, str], Span] = {}

    def add(member: MemberKey, period: Period) -> None:
        old = get(member)
        out[member] = period if old is None else cover(old, period)

    for key, w in wanted.items():
        gid = groups.group_of[key]
        if gid in groups.frozen:
            continue
        role = w.member_role
        as_student = role == "student"
        school_link = (w.school_id, "student")
        for pid, period in w.students.items():
            uid = user_of.get(pid)
            if uid is None:
                continue
            if as_student:
                link = links.get(pid, no_links).get(school_link)
                if link is None:
                    continue  # not a student of this school (R3.2): no membership
                period = (period[0], _min_end(period[1], link.end))
            add((gid, uid, role), period)
        for duty_id, (start, end) in w.teachers:
            uid = user_of.get(teacher.get(duty_id, ""))
            if uid is not None:
                add((gid, uid, "teacher"), (start, _min_end(end, duty_end.get(duty_id))))
        source = ctx.mentor_source.get(w.school_id, ctx.settings.sync.mentor_source)
        if w.kind in ("class", "mentor") and w.register_id == w.source_id and source != "none":
            for pid, period in mentors.get(w.source_id, []):
                uid = user_of.get(pid)
                if uid is not None:
                    add((gid, uid, "mentor"), period)
    return out


def plan_memberships(
    ctx: PlanContext,
    wanted_groups: dict[GroupKey, WantedGroup],
    groups: GroupOutcome,
    users: UserOutcome,
) -> None:
    """Create, update, end and reopen memberships; then look for renames and reused names."""
    wanted = wanted_memberships(ctx, wanted_groups, groups, users)
    existing = ctx.directory.memberships
    keep_teachers = (
        bool(ctx.snapshot.unreadable_ids.get("activities"))
        or "activities" in ctx.snapshot.unidentified
        or bool(ctx.snapshot.partial.get("activities.teachers"))
    )
    # A duty that lost an unreadable assignment role keeps its person's mentor memberships.
    keep_mentors = {
        users.user_of[pid]
        for pid in ctx.snapshot.partial.get("duties.assignmentRole", ())
        if pid in users.user_of
    }
    today = ctx.today
    new_id = ctx.new_id
    create = ctx.changes.memberships.create
    log = ctx.changes.log.add
    # Only what changes is sorted (into the order of the change log): at a re-sync, nothing.
    get = existing.get
    changing: list[MemberKey] = []
    held = 0  # existing memberships the register still has
    for key, (start, end) in wanted.items():
        row = get(key)
        if row is None:
            changing.append(key)
            continue
        held += 1
        if row.start_date != start or row.end_date != end:
            changing.append(key)
    changing.sort()
    for key in changing:
        start, end = wanted[key]
        row = get(key)
        if row is None:
            mid = new_id()
            create(MembershipRow(mid, key[0], key[1], key[2], start, end))
            log("membership", mid, "created", _CREATED_NAMES, key)  # ``record``
            continue
        changed = {
            k: v for k, v in (("start_date", start), ("end_date", end)) if getattr(row, k) != v
        }
        was, now = is_open(row.end_date, today), is_open(end, today)
        action = "updated" if was == now else ("ended" if was else "reactivated")
        _update(ctx, row.id, key, changed, action, row.start_date, row.end_date)
    # Memberships the register no longer has are ended, in the directory's order; when the
    # register still has all of them (a re-sync, usually), there is nothing to look for.
    for key, row in existing.items() if held < len(existing) else ():
        if key in wanted or not is_open(row.end_date, today):
            continue
        if row.group_id in groups.frozen or row.user_id in users.frozen:
            continue
        if row.user_id in users.keep_memberships:
            continue
        if keep_teachers and row.role == "teacher":
            continue
        if row.role == "mentor" and row.user_id in keep_mentors:
            continue
        _update(
            ctx, row.id, key, {"end_date": ctx.yesterday}, "ended", row.start_date, row.end_date
        )
    _report_renames(ctx, wanted_groups, groups, wanted)
    _report_reused_names(ctx, wanted_groups, groups, wanted)


def _update(
    ctx: PlanContext,
    mid: str,
    key: MemberKey,
    changed: dict[str, date | None],
    action: str,
    old_start: date | None,
    old_end: date | None,
) -> None:
    ctx.changes.memberships.update(mid, changed)
    old = {"start_date": old_start, "end_date": old_end}
    details = {k: [old[k], v] for k, v in changed.items()}
    ctx.changes.record(
        "membership", mid, action, group_id=key[0], user_id=key[1], role=key[2], **details
    )


def _students_by_group(
    ctx: PlanContext, group_ids: set[str], wanted: dict[MemberKey, Period] | None = None
) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    keys = wanted if wanted is not None else ctx.directory.memberships
    for gid, uid, role in keys:
        if gid in group_ids and role == "student":
            out[gid].add(uid)
    return out


def _report_renames(
    ctx: PlanContext,
    wanted_groups: dict[GroupKey, WantedGroup],
    groups: GroupOutcome,
    wanted: dict[MemberKey, Period],
) -> None:
    """R5.3 done in the wrong order: a new group took over most students of an archived one."""
    if not groups.archived:
        return
    created = {row.id: row for row in ctx.changes.groups.created}
    if not created:
        return
    old_students = _students_by_group(ctx, groups.archived)
    new_students = _students_by_group(ctx, set(created), wanted)
    names = ctx.school_names()
    for new_id, row in sorted(created.items(), key=lambda kv: kv[1].name):
        new = new_students.get(new_id, set())
        if not new or row.kind not in ("class", "group"):
            continue
        best, overlap = None, 0
        for old_id in sorted(groups.archived):
            old = ctx.directory.groups[old_id]
            if (old.school_id, old.kind) != (row.school_id, row.kind):
                continue
            shared = len(new & old_students.get(old_id, set()))
            if shared > overlap:
                best, overlap = old, shared
        if best is None or overlap * 2 < len(new):
            continue
        school = names.get(best.school_id, best.school_id)
        command = "class" if best.kind == "class" else "group"
        ctx.report(
            "possible-rename",
            f"The {WORD[best.kind]} {best.name!r} at {school} was archived and a new "
            f"{WORD[best.kind]} {row.name!r} was created, but {overlap} of its {len(new)} "
            f"students come from {best.name!r}: it looks like a rename done in the register "
            f"first. The old content stays in the archived {WORD[best.kind]}. Next time, rename "
            f'in the directory first: schoolsync {command} rename "{best.name}" '
            f'"{row.name}" --school "{school}", then in the register, then sync.',
            row.name,
        )


def _report_reused_names(
    ctx: PlanContext,
    wanted_groups: dict[GroupKey, WantedGroup],
    groups: GroupOutcome,
    wanted: dict[MemberKey, Period],
) -> None:
    """R6.3: a group name used again for a new term with mostly new students."""
    reused: dict[str, tuple[WantedGroup, date]] = {}
    for key, w in wanted_groups.items():
        row = ctx.directory.groups.get(groups.group_of[key])
        if (
            row is not None
            and w.kind == "group"
            and row.end_date is not None
            and w.start is not None
            and row.end_date < w.start
        ):
            reused[row.id] = (w, row.end_date)
    if not reused:
        return
    old_students = _students_by_group(ctx, set(reused))
    new_students = _students_by_group(ctx, set(reused), wanted)
    told = {i.subject for i in ctx.changes.issues if i.code == "group-name-reused"}
    names = ctx.school_names()
    for gid, (w, ended) in sorted(reused.items(), key=lambda kv: kv[1][0].name):
        new, old = new_students.get(gid, set()), old_students.get(gid, set())
        if w.name in told or not new or not old or len(new & old) * 2 >= len(new):
            continue
        message = reused_message(
            w.name, names.get(w.school_id, w.school_id), ended, w.start, len(new & old), len(new)
        )
        ctx.report("group-name-reused", message, w.name)
