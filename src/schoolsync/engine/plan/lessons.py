"""Lessons in the directory: tie, create, move, cancel, remove (R8).

A re-sync of the same schedule changes nothing; a changed one changes only the lessons that
changed. A future lesson that is gone from the schedule is marked removed, unless its row is
still there but could not be read (a ``schedule-bad-row``); lessons that have already happened
are history and are never changed. A run without a schedule source leaves the lessons alone.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import fields
from operator import attrgetter, itemgetter
from typing import Any

from schoolsync.domain.directory import LessonRow
from schoolsync.domain.schedule import DatedLesson, ScheduleSnapshot
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.ties import Finding, Linker, Tie
from schoolsync.engine.plan.view import DirectoryView

_COMPARED = ("school_id", "group_name", "group_id", "class_id", "subject", "teachers", "start",
             "end", "room", "cancelled", "removed", "problem")  # fmt: skip
# A lesson's fields after its id, source and key, in LessonRow's order: from a wanted row (to
# make a LessonRow positionally) and from a directory row (to compare the two in one step).
assert tuple(f.name for f in fields(LessonRow))[3:] == _COMPARED
_wanted_values = itemgetter(*_COMPARED)
_held_values = attrgetter(*_COMPARED)
_LINE_SUFFIX = re.compile(r"@line[0-9]+$")


def plan_lessons(
    ctx: PlanContext,
    schedules: list[ScheduleSnapshot],
    view: DirectoryView,
    duty_user: dict[str, str],
) -> None:
    """Plan every lesson change of the schedule sources in this run.

    Args:
        ctx: The plan context.
        schedules: The schedule sources read in this run.
        view: The directory as it will be after this run's other changes.
        duty_user: Register duty id to user id (for SS 12000 lessons' teachers).
    """
    linker = Linker(view)
    held = _by_source(ctx.directory.lessons)
    for snap in schedules:
        ctx.changes.issues.extend(snap.issues)
        wanted: dict[str, dict[str, Any]] = {}
        school = None
        if snap.source != "ss12000":
            school = linker.school_for(snap.school_code, snap.school_name)
        for lesson in snap.lessons:
            if lesson.group_ids:
                tie = linker.tie_by_id(lesson)
                teachers = sorted(
                    {sig for d in lesson.duty_ids if (sig := view.user_signature.get(
                        duty_user.get(d, ""), "")) }
                )  # fmt: skip
            else:
                tie = linker.tie_by_name(school, lesson)
                teachers = list(lesson.teachers)
            wanted[lesson.key] = _row(lesson, tie, teachers)
        _diff(ctx, snap.source, held.get(snap.source, []), wanted, snap.bad_bases)
    _report(ctx, linker)


def _row(lesson: DatedLesson, tie: Tie, teachers: list[str]) -> dict[str, Any]:
    return {
        "school_id": tie.school_id,
        "group_name": lesson.group_name,
        "group_id": tie.group_id,
        "class_id": tie.class_id,
        "subject": lesson.subject,
        "teachers": teachers,
        "start": lesson.start,
        "end": lesson.end,
        "room": lesson.room,
        "cancelled": lesson.cancelled,
        "removed": False,
        "problem": tie.problem,
    }


def _of_bad_row(key: str, bad_bases: set[str]) -> bool:
    """Whether a lesson key (``base|week|group``) belongs to a row that could not be read.

    The base may itself hold ``|`` (a hostile GUID), so every prefix before a ``|`` is tried; a
    base made unique with ``@line<n>`` counts as its row's GUID.
    """
    if not bad_bases:
        return False
    pos = key.find("|")
    while pos != -1:
        base = _LINE_SUFFIX.sub("", key[:pos])
        if base in bad_bases:
            return True
        pos = key.find("|", pos + 1)
    return False


def _by_source(lessons: dict[tuple[str, str], LessonRow]) -> dict[str, list[LessonRow]]:
    """The directory's lessons grouped by source (one pass per run, not one per source)."""
    held: dict[str, list[LessonRow]] = defaultdict(list)
    for row in lessons.values():
        held[row.source].append(row)
    return held


def _diff(
    ctx: PlanContext,
    source: str,
    existing: list[LessonRow],
    wanted: dict[str, dict[str, Any]],
    bad_bases: set[str],
) -> None:
    """Plan the changes of one source (``existing``: the directory's lessons of it)."""
    lessons = ctx.directory.lessons
    today = ctx.today
    for key in sorted(wanted):
        new = wanted[key]
        row = lessons.get((source, key))
        if row is None:
            lid = ctx.new_id()
            ctx.changes.lessons.create(LessonRow(lid, source, key, *_wanted_values(new)))
            ctx.changes.record("lesson", lid, "created", group=new["group_name"])
            continue
        if row.start.date() < today:
            continue  # a lesson that has happened is history
        if _wanted_values(new) == _held_values(row):
            continue  # unchanged (the common case, told in one comparison)
        changed = {k: v for k, v in new.items() if getattr(row, k) != v}
        if changed:
            _update(ctx, row, changed)
    for row in existing:
        key = row.source_key
        gone = key not in wanted and not row.removed and row.start.date() >= today
        if gone and not _of_bad_row(key, bad_bases):  # a row that cannot be read is not gone
            _update(ctx, row, {"removed": True})


def _update(ctx: PlanContext, row: LessonRow, changed: dict[str, Any]) -> None:
    if "start" in changed or "end" in changed:
        action = "moved"
    elif "removed" in changed:
        action = "removed" if changed["removed"] else "restored"
    elif "cancelled" in changed:
        action = "cancelled" if changed["cancelled"] else "restored"
    else:
        action = "updated"
    ctx.changes.lessons.update(row.id, changed)
    details = {k: [getattr(row, k), v] for k, v in changed.items()}
    ctx.changes.record("lesson", row.id, action, group=row.group_name, **details)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _report(ctx: PlanContext, linker: Linker) -> None:
    """One issue per missed name, with how many rows and lessons it concerns."""
    for finding in sorted(linker.findings.values(), key=lambda f: (f.code, f.subject, f.detail)):
        school = linker.view.school_names.get(finding.school_id or "", "")
        at = f" at {school}" if school else ""
        rows = sorted(finding.rows)
        extent = (
            f"{_plural(len(rows), 'lesson row')} ({_plural(finding.lessons, 'dated lesson')}, "
            f"e.g. {rows[0]})"
        )
        ctx.report(finding.code, _message(finding, linker, at, extent), finding.subject)


def _message(finding: Finding, linker: Linker, at: str, extent: str) -> str:
    name, code = finding.subject, finding.code
    if code == "schedule-unknown-group" and finding.detail == "register id":
        return (
            f"{extent} belong to an activity of the group id {name}, which the directory does "
            f"not have (it is not in groups.json), so they reach no one. Include every group in "
            f"the export."
        )
    if code == "schedule-unknown-group":
        hint = linker.group_hint(name, finding.school_id)
        return (
            f"{extent} are for the group {name!r}, but{at or ' the directory'} there is no "
            f"teaching group or class named exactly that, so they reach no one. "
            f"{hint + ' ' if hint else ''}Names must match exactly (case, spaces, punctuation, "
            f"å/ä/ö): correct the name in the schedule or in the register."
        )
    if code == "schedule-unknown-signature":
        hint = linker.signature_hint(name)
        return (
            f"{extent} name the teacher signature {name!r}, which no teacher in the directory "
            f"has, so no teacher gets those lessons. {hint + ' ' if hint else ''}Use the "
            f"register's signature in the schedule, or add it in the register."
        )
    if code == "schedule-teacher-not-in-group":
        return (
            f"{extent} have the teacher {name} in the group {finding.detail!r}{at}, but the "
            f"register does not say that {name} teaches it. The lessons are tied to the group; "
            f"if {name} teaches it, add them to the group's activity in the register."
        )
    subject = finding.detail or "(none)"
    if code == "schedule-class-mixed":
        return (
            f"{extent} are for the class {name!r} with the subject {subject!r}, but every "
            f"teaching group{at} with exactly that subject also has students from other "
            f"classes, so the lessons cannot be tied through the class. Put them on the teaching "
            f"group in the schedule instead."
        )
    return (
        f"{extent} are for the class {name!r} with the subject {subject!r}, but{at or ''} no "
        f"teaching group has exactly that subject code, so they reach no one. Add an activity "
        f"for the class and subject in the register, or correct the subject code in the schedule."
    )
