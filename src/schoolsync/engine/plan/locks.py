"""Safety locks (spärrar, R10): hold a run that would change too much, before it applies anything.

Two kinds of signal hold a run:

- a source in the run lacks a kind of data it delivered before: no (or empty) persons, groups or
  calendar events in the register bundle, or an empty schedule, while the directory holds users,
  classes and groups, or lessons from it. Most often the export ran too early or failed half-way:
  do not unlock, export again;
- more than the share AND more than the number allowed of a school's active users, or of its
  active memberships, would end.

A first sync into an empty directory is never held. ``--allow-mass-changes`` or
``schoolsync runs approve ID`` applies a held run on purpose, and that is recorded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date

from schoolsync.domain.directory import Directory, is_open
from schoolsync.domain.issues import Issue, issue
from schoolsync.domain.records import RegisterSnapshot
from schoolsync.domain.schedule import ScheduleSnapshot
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan.changeset import ChangeSet, school_names_after


def _is_empty(directory: Directory) -> bool:
    return not directory.users and not directory.groups and not directory.lesson_counts


# What the directory holds from each kind of register data, for the lock's sentence.
_HOLDS = {
    "organisations": "school units",
    "persons": "users",
    "duties": "teacher and staff links",
    "placements": "förskola and fritidshem placements",
    "groups": "classes and groups",
    "activities": "teachers of groups",
    "syllabuses": "subjects of groups",
    "rooms": "rooms of lessons",
}


def _held_before(directory: Directory) -> dict[str, int]:
    """Records per kind the directory has data from: the last applied register read's counts,
    else (a directory synced before counts were kept) what its rows show."""
    before = dict(directory.register_counts)
    before.pop("calendarEvents", None)  # lessons are checked per schedule source below
    if before:
        return before
    if directory.users:
        before.setdefault("persons", len(directory.users))
    holds_groups = sum(1 for g in directory.groups.values() if g.kind in ("class", "group"))
    if holds_groups:
        before.setdefault("groups", holds_groups)
    staff = sum(1 for link in directory.links.values() if link.role in ("teacher", "staff"))
    if staff:
        before.setdefault("duties", staff)
    teachers = sum(1 for m in directory.memberships.values() if m.role == "teacher")
    if teachers:
        before.setdefault("activities", teachers)
    return before


def missing_data(
    register: RegisterSnapshot | None, schedules: Sequence[ScheduleSnapshot], directory: Directory
) -> list[Issue]:
    """Kinds of data a source of this run delivered before but not now (R3.1, R10).

    A kind is missing when its file is absent or holds no records at all (readable or not); a
    record that cannot be read is not a missing one.
    """
    found: list[Issue] = []
    if register is not None:
        for kind, held in sorted(_held_before(directory).items()):
            if kind == "rooms" and "calendarEvents" not in register.kinds:
                continue  # rooms are read with calendar events only (checked below)
            if held and not register.counts.get(kind):
                where = f"{register.source}/{kind}.json"
                found.append(_missing(kind, where, held, _HOLDS.get(kind, "records")))
    if register is not None and "persons.securityMarking" in register.withheld and directory.users:
        found.append(
            issue(
                "lock-missing-data",
                f"{register.source} gave no securityMarking for any person: the API client "
                f"most likely lacks the scope that shows it. Every person was handled as "
                f"protected identity (R11), which would end or mask every account, so the run "
                f"was held and nothing was applied. Do not unlock: ask the register's "
                f"administrator to give the client that scope, then run the sync again.",
                "securityMarking",
            )
        )
    for snap in schedules:
        held = directory.lesson_counts.get(snap.source, 0)
        if not snap.lessons and held:
            what = "calendarEvents" if snap.source == "ss12000" else "Lesson (7100) rows"
            found.append(_missing(what, snap.path, held, "lessons"))
    return found


def _missing(kind: str, where: str, held: int, what: str) -> Issue:
    return issue(
        "lock-missing-data",
        f"{where} has no {kind} (the file is missing or holds no records), but the directory "
        f"holds {what} from them ({held} in the last read). The export most likely ran too "
        f"early or failed half-way, so the run was held and nothing was applied. Do not unlock: "
        f"export again and run the sync. Only if the register really has no {kind} any more, "
        f"apply it with --allow-mass-changes.",
        kind,
    )


def mass_changes(
    changes: ChangeSet,
    directory: Directory,
    settings: Settings,
    school_names: dict[str, str],
    today: date,
) -> list[Issue]:
    """Schools where too many active users or memberships would end."""
    group_school = {g.id: g.school_id for g in directory.groups.values()}
    ended_users: dict[str, set[str]] = defaultdict(set)
    ended_members: Counter[str] = Counter()
    ended_by_group: Counter[str] = Counter()
    for change in changes.log:
        if change.action != "ended":
            continue
        if change.entity == "user_school":
            ended_users[change.details["school_id"]].add(change.details["user_id"])
        elif change.entity == "membership" and change.details["group_id"] in group_school:
            ended_members[group_school[change.details["group_id"]]] += 1
            ended_by_group[change.details["group_id"]] += 1
    found: list[Issue] = []
    if not ended_users and not ended_members:
        return found  # nothing ends (a re-sync, usually): no need to count what is active
    active_users: dict[str, set[str]] = defaultdict(set)
    for (user_id, school_id, _), link in directory.links.items():
        if is_open(link.end_date, today):
            active_users[school_id].add(user_id)
    active_members: Counter[str] = Counter(
        group_school[m.group_id]
        for m in directory.memberships.values()
        if is_open(m.end_date, today) and m.group_id in group_school
    )
    for school_id in sorted(set(ended_users) | set(ended_members)):
        name = school_names.get(school_id, school_id)
        pct_u, cnt_u, pct_m, cnt_m = settings.locks.limits(name)
        users, members = len(ended_users[school_id]), ended_members[school_id]
        total_u, total_m = len(active_users[school_id]), active_members[school_id]
        reasons = []
        if users > cnt_u and users * 100 > pct_u * max(total_u, 1):
            reasons.append(f"{users} of its {total_u} active users would end")
        if members > cnt_m and members * 100 > pct_m * max(total_m, 1):
            reasons.append(f"{members} of its {total_m} active memberships would end")
        if not reasons:
            continue
        biggest = [
            f"{directory.groups[gid].name} ({n} of its members)"
            for gid, n in ended_by_group.most_common()
            if directory.groups[gid].school_id == school_id
        ][:5]
        found.append(
            issue(
                "lock-mass-change",
                f"At {name}, {' and '.join(reasons)} (the limit is more than "
                f"{pct_u:g}% and more than {cnt_u} users, or {pct_m:g}% and {cnt_m} "
                f"memberships). "
                + (f"The biggest losses: {', '.join(biggest)}. " if biggest else "")
                + "The run was held and nothing was applied. Check the export; if the change is "
                "real (e.g. a new school year), apply it with schoolsync runs approve ID.",
                name,
            )
        )
    return found


def check_locks(
    changes: ChangeSet,
    register: RegisterSnapshot | None,
    schedules: Sequence[ScheduleSnapshot],
    directory: Directory,
    settings: Settings,
    today: date,
) -> list[Issue]:
    """Every lock the planned changes trip; empty when they may be applied (or the directory is
    empty)."""
    if _is_empty(directory):
        return []
    names = school_names_after(directory, changes)
    return missing_data(register, schedules, directory) + mass_changes(
        changes, directory, settings, names, today
    )
