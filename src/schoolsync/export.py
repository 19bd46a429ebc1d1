"""The directory as it stands, in the export shape of INTERFACE.md (``export --json``).

The document is rendered from the directory picture (:func:`render_export`, pure), so a test can
export a directory that was planned and overlaid in memory exactly as one loaded from a database.

``active`` and ``status`` are judged on the given day, so an export for another ``--today`` shows
what the platform would show then.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import Directory, is_open, link_active
from schoolsync.domain.settings import Settings
from schoolsync.errors import NotFoundError
from schoolsync.rostering.model import Modified, Roster, Since, build_roster
from schoolsync.store import schema as t
from schoolsync.store.load import load_directory

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_directory(
    conn: Connection,
    today: date,
    lead_days: int = 15,
    lessons_from: date | None = None,
    lessons_to: date | None = None,
) -> dict[str, Any]:
    """Build the export document from the database: load the directory (every lesson source's
    lessons), then :func:`render_export`.

    Args:
        conn: An open connection.
        today: The day ``active``, ``status`` and ``visible`` are judged on.
        lead_days: How many days before its start a class or group is visible (R5.4).
        lessons_from: Only lessons on or after this date (default: all).
        lessons_to: Only lessons on or before this date (default: all).

    Returns:
        ``{"schools", "users", "classes", "groups", "lessons"}`` as INTERFACE.md shows.
    """
    return render_export(_load(conn), today, lead_days, lessons_from, lessons_to)


def _load(conn: Connection) -> Directory:
    """The whole directory, the lessons of every source included."""
    sources = [s for (s,) in conn.execute(select(t.lessons.c.source).distinct())]
    return load_directory(conn, sources)


def render_export(
    directory: Directory,
    today: date,
    lead_days: int = 15,
    lessons_from: date | None = None,
    lessons_to: date | None = None,
) -> dict[str, Any]:
    """The export document of a directory (pure).

    Args:
        directory: The directory, with the lessons of every source.
        today: The day ``active``, ``status`` and ``visible`` are judged on.
        lead_days: How many days before its start a class or group is visible (R5.4).
        lessons_from: Only lessons on or after this date (default: all).
        lessons_to: Only lessons on or before this date (default: all).

    Returns:
        ``{"schools", "users", "classes", "groups", "lessons"}`` as INTERFACE.md shows.
    """
    school_names = directory.school_names()
    units: dict[str, list[str]] = defaultdict(list)
    for unit in directory.units.values():
        units[unit.school_id].append(unit.code or unit.register_id)
    schools = [
        {"id": sid, "name": name, "units": sorted(units.get(sid, []))}
        for sid, name in sorted(school_names.items(), key=lambda kv: kv[1])
    ]

    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for link in directory.links.values():
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
    people = directory.users
    guardians: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for gs in directory.guardianships.values():
        if people[gs.student_id].protected or people[gs.guardian_id].protected:
            continue  # R11: a protected person's family would point back to them
        guardians[gs.student_id].append(
            {
                "civic_no": people[gs.guardian_id].civic_no,
                "relation": gs.relation,
                "active": is_open(gs.end_date, today),
            }
        )
    users = []
    for row in sorted(people.values(), key=lambda u: u.civic_no):
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
                **({"merged_into": row.merged_into} if row.merged_into else {}),
            }
        )
    classes, groups = _groups(directory, today, lead_days, school_names)
    lessons = render_lessons(directory, lessons_from, lessons_to, school_names)
    return {
        "schools": schools,
        "users": users,
        "classes": classes,
        "groups": groups,
        "lessons": lessons,
    }


def _lesson_order(x: dict[str, Any]) -> tuple[Any, ...]:
    """A total order over lessons by what they are, not by internal ids."""
    fields = ("start", "group", "class", "subject", "end", "teachers", "room", "cancelled")
    return tuple("" if x[f] is None else x[f] for f in fields)


def export_lessons(
    conn: Connection, start: date | None = None, end: date | None = None
) -> list[dict[str, Any]]:
    """The lessons of the database, as :func:`render_lessons` lists them."""
    return render_lessons(_load(conn), start, end)


def render_lessons(
    directory: Directory,
    start: date | None = None,
    end: date | None = None,
    school_names: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The lessons tied to a group, in time order, with Swedish local times (ISO with offset),
    each with its id, its school's name and its group's id (a group's name is one of several
    schools').

    Lessons the schedule cancelled, or that are gone from it, are listed with ``cancelled``.
    Lessons that could not be tied reach no one; ``troubleshoot`` shows them.
    """
    names = {g.id: g.name for g in directory.groups.values()}
    group_school = {g.id: g.school_id for g in directory.groups.values()}
    schools = school_names if school_names is not None else directory.school_names()
    first = datetime.combine(start, time.min) if start is not None else None
    after = (
        datetime.combine(end + timedelta(days=1), time.min)
        if end is not None and end < date.max
        else None
    )
    lessons = [
        {
            "id": row.id,
            "school": schools.get(row.school_id or group_school[row.group_id]),
            "group": names[row.group_id],
            "group_id": row.group_id,
            "class": names.get(row.class_id) if row.class_id else None,
            "subject": row.subject,
            "teachers": row.teachers,
            "start": row.start.replace(tzinfo=STOCKHOLM).isoformat(),
            "end": row.end.replace(tzinfo=STOCKHOLM).isoformat(),
            "room": row.room,
            "cancelled": bool(row.cancelled or row.removed),
        }
        for row in directory.lessons.values()
        if row.group_id is not None
        and (first is None or row.start >= first)
        and (after is None or row.start < after)
    ]
    lessons.sort(key=_lesson_order)
    return lessons


def visible(start: date | None, today: date, lead_days: int) -> bool:
    """R5.4: shown in the platform from ``lead_days`` before the start date."""
    return start is None or (start - today).days <= lead_days  # no date arithmetic to overflow


def _groups(
    directory: Directory, today: date, lead_days: int, school_names: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    people = directory.users
    members: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    for row in directory.memberships.values():
        user = people[row.user_id]
        if row.role in ("student", "member"):
            members[row.group_id]["students"].append(
                {
                    "civic_no": user.civic_no,
                    "start_date": _iso(row.start_date),
                    "end_date": _iso(row.end_date),
                    "active": link_active(row.start_date, row.end_date, today),
                }
            )
        elif user.signature and link_active(row.start_date, row.end_date, today):
            members[row.group_id][row.role + "s"].append(user.signature)
    classes: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for grp in directory.groups.values():
        if grp.kind not in ("class", "group"):
            continue
        mine = members.get(grp.id, {})
        doc: dict[str, Any] = {
            "id": grp.id,
            "name": grp.name,
            "school": school_names[grp.school_id],
            "start_date": _iso(grp.start_date),
            "end_date": _iso(grp.end_date),
            "visible": visible(grp.start_date, today, lead_days),
            "status": "active" if is_open(grp.end_date, today) else "archived",
            "students": sorted(mine.get("students", []), key=lambda x: x["civic_no"]),
            "teachers": sorted(set(mine.get("teachers", []))),
        }
        if grp.kind == "class":
            doc["mentors"] = sorted(set(mine.get("mentors", [])))
            classes.append(doc)
        else:
            doc["subject"], doc["course"] = grp.subject, grp.course
            groups.append(doc)
    key = lambda d: (d["school"], d["name"])  # noqa: E731
    return sorted(classes, key=key), sorted(groups, key=key)


def export_roster(
    conn: Connection,
    settings: Settings,
    today: date,
    since_run: int | None = None,
    *,
    everything: bool = False,
) -> Roster:
    """The directory as a OneRoster roster (:func:`~schoolsync.rostering.model.build_roster`):
    a bulk set, with ``since_run`` a delta of what changed after that run, with ``everything``
    what the OneRoster service serves (every record, active or to be deleted).

    Raises:
        NotFoundError: ``since_run`` is not a run of this directory, or did not apply.
    """
    since = None
    if since_run is not None:
        r = t.runs.c
        row = conn.execute(select(r.status, r.today).where(r.id == since_run)).first()
        if row is None or row.status != "applied":
            raise NotFoundError(
                f"The directory has no applied run {since_run} to export the changes since.",
                "See the runs with: schoolsync runs",
            )
        since = Since(since_run, row.today)
    directory = load_directory(conn)
    return build_roster(
        directory,
        _modified(conn),
        settings.rostering,
        today,
        settings.sync.visibility_lead_days,
        since,
        everything=everything,
    )


def roster_version(conn: Connection) -> tuple[int, int]:
    """What changes whenever a run changes the directory: the applied runs' count and last id
    (an approval turns a held run into an applied one)."""
    r = t.runs.c
    count, last = conn.execute(
        select(func.count(), func.max(r.id)).where(r.status == "applied")
    ).one()
    return int(count), int(last or 0)


def _modified(conn: Connection) -> Modified:
    """When each row of the roster's tables was last written: by which run, at what time."""
    r = t.runs.c
    times = {
        run_id: finished or started
        for run_id, started, finished in conn.execute(
            select(r.id, r.started_at, r.finished_at).where(r.status == "applied")
        )
    }
    rows: dict[str, tuple[int, datetime]] = {}
    for table in (t.schools, t.users, t.user_schools, t.guardianships, t.groups, t.memberships):
        updated = table.c.updated_run_id if "updated_run_id" in table.c else None
        cols = [table.c.id, table.c.created_run_id] + ([updated] if updated is not None else [])
        for row_id, created, *rest in conn.execute(select(*cols)):
            run_id = max((x for x in (created, *rest) if x is not None), default=None)
            if run_id is not None and run_id in times:
                rows[row_id] = (run_id, times[run_id])
    first = min(times.items()) if times else None
    return Modified(rows, first)
