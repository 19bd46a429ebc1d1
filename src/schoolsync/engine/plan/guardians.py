"""Guardians and the students they are responsible for (R9: vårdnadshavare and their links).

A guardianship joins a guardian's account to a student's account, with the relation the register
gives (Vårdnadshavare, God man, ...). It ends (never disappears) when the register stops naming
the guardian. When a student's record could not be used in a run, their guardians keep their
links at that student's schools: a record that cannot be read is not a student who left.
"""

from __future__ import annotations

from schoolsync.domain.directory import GuardianshipRow, is_open
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.people import People


def kept_guardian_links(ctx: PlanContext, frozen_users: set[str]) -> set[tuple[str, str, str]]:
    """Guardian links to leave open because the student they come through is frozen.

    Args:
        ctx: The plan context.
        frozen_users: User ids whose register record could not be used this run.

    Returns:
        ``(guardian user id, school id, "guardian")`` keys.
    """
    if not frozen_users:
        return set()
    open_schools: dict[str, set[str]] = {}
    for (user_id, school_id, role), link in ctx.directory.links.items():
        if user_id in frozen_users and role == "student" and is_open(link.end_date, ctx.today):
            open_schools.setdefault(user_id, set()).add(school_id)
    kept: set[tuple[str, str, str]] = set()
    for (guardian, student), row in ctx.directory.guardianships.items():
        if student in open_schools and is_open(row.end_date, ctx.today):
            kept.update((guardian, school, "guardian") for school in open_schools[student])
    return kept


def plan_guardianships(
    ctx: PlanContext, people: People, user_of: dict[str, str], frozen_users: set[str]
) -> None:
    """Create, update, end or reopen guardian–student links.

    Args:
        ctx: The plan context.
        people: The usable persons and their wanted links.
        user_of: Register person id to user id (existing or created in this run).
        frozen_users: User ids to leave as they are.
    """
    wanted: dict[tuple[str, str], str] = {}
    students = {pid for pid, mine in people.links.items() for _, role in mine if role == "student"}
    for sid, (student, _) in people.valid.items():
        if sid not in user_of or sid not in students:
            continue
        for responsible in student.responsibles:
            gid = responsible.person_id
            if gid in user_of and gid in people.links:
                wanted[(user_of[gid], user_of[sid])] = responsible.relation_type
    existing = ctx.directory.guardianships
    # Only what changes is sorted (into the order of the change log): at a re-sync, nothing.
    changing = sorted(
        key
        for key, relation in wanted.items()
        if (row := existing.get(key)) is None
        or row.relation != relation
        or row.end_date is not None
    )
    for key in changing:
        relation = wanted[key]
        row = existing.get(key)
        if row is None:
            gid = ctx.new_id()
            ctx.changes.guardianships.create(GuardianshipRow(gid, key[0], key[1], relation, None))
            ctx.changes.record("guardianship", gid, "created", user_id=key[0], student_id=key[1])
            continue
        changed: dict[str, object] = {}
        if row.relation != relation:
            changed["relation"] = relation
        if row.end_date is not None:
            changed["end_date"] = None
        action = "reactivated" if "end_date" in changed else "updated"
        ctx.changes.guardianships.update(row.id, changed)
        ctx.changes.record("guardianship", row.id, action, user_id=key[0], student_id=key[1])
    gone = sorted(
        key
        for key, row in existing.items()
        if key not in wanted and is_open(row.end_date, ctx.today)
    )
    for key in gone:
        if key[0] in frozen_users or key[1] in frozen_users:
            continue
        row = existing[key]
        ctx.changes.guardianships.update(row.id, {"end_date": ctx.yesterday})
        ctx.changes.record("guardianship", row.id, "ended", user_id=key[0], student_id=key[1])
