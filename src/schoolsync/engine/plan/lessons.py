"""Lessons in the directory: tie, create, move, cancel, remove (R8).

A re-sync of the same schedule changes nothing; a changed one changes only the lessons that
changed. A future lesson that is gone from the schedule is marked removed, unless its row is
still there but could not be read (a ``schedule-bad-row``); lessons that have already happened
are history and are never changed. A run without a schedule source leaves the lessons alone.
The change log has one entry for the lessons a run creates for one group (with how many they
are; each lesson row names the run that created it), and one per lesson changed.

Each lesson row holds a digest of its values: a lesson whose digest is the one it had is
unchanged, and the directory's rows are read only of those that may have changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from operator import attrgetter
from typing import Any

import msgspec

from schoolsync.domain.directory import HeldLessons, LessonRow
from schoolsync.domain.schedule import DatedLesson, RowLessons, ScheduleSnapshot
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.ties import Finding, Linker, Tie
from schoolsync.engine.plan.view import DirectoryView

_COMPARED = ("school_id", "group_name", "group_id", "class_id", "subject", "teachers", "start",
             "end", "room", "cancelled", "removed", "problem")  # fmt: skip
# A lesson's fields after its id, source and key, in LessonRow's order. A wanted lesson is a
# tuple of them (a source's lessons are all held at once while it is planned: a tuple is a
# fraction of a dict), which makes a LessonRow positionally (with its digest after) and compares
# with a directory row's values in one step.
assert tuple(f.name for f in fields(LessonRow))[3:-1] == _COMPARED
_GROUP_NAME = _COMPARED.index("group_name")
_REMOVED = _COMPARED.index("removed")
_GROUP_ID = _COMPARED.index("group_id")
_held_values = attrgetter(*_COMPARED)
Wanted = tuple[Any, ...]  # a lesson's values in _COMPARED order
# The change log's details of the lessons a run creates for one group: one entry per group and
# source (each lesson row carries the run that created it), not one per lesson.
_CREATED_NAMES = ("group", "lessons")
_LINE_SUFFIX = re.compile(r"@line[0-9]+$")
_encode = msgspec.json.Encoder().encode
_blake2b = hashlib.blake2b


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
    shared = _Shared()
    for snap in schedules:
        ctx.changes.issues.extend(snap.issues)
        wanted: dict[str, Wanted] = {}
        school = None
        if snap.source != "ss12000":
            school = linker.school_for(snap.school_code, snap.school_name)
        for lesson in snap.lessons.parts():
            if isinstance(lesson, RowLessons):
                _row_lessons(linker, school, lesson, shared, wanted)
                continue
            if lesson.group_ids:
                tie = linker.tie_by_id(lesson)
                teachers = shared.names(sorted(
                    {sig for d in lesson.duty_ids if (sig := view.user_signature.get(
                        duty_user.get(d, ""), "")) }
                ))  # fmt: skip
            else:
                tie = linker.tie_by_name(school, lesson)
                teachers = shared.names(lesson.teachers)
            wanted[lesson.key] = _row(lesson, tie, teachers, shared.value)
        held = ctx.directory.lessons_of(snap.source)  # one source's at a time, then let go
        _diff(ctx, snap.source, held, wanted, snap.bad_bases)
    _report(ctx, linker)


class _Shared:
    """Values that many planned lessons hold alike, one object each: start and end times (a
    school's lessons begin at a few hours of a few hundred days) and lists of signatures. The
    lessons a run creates (a schedule's first sync creates them all) are held until they are
    written, so they hold these once, as the loaded lessons do (:mod:`schoolsync.store.load`).
    Lesson rows are never changed in place (an update replaces a value), so they may share them.
    """

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        self._lists: dict[tuple[str, ...], list[str]] = {}

    def value(self, value: Any) -> Any:
        """The one object of a value (equal, hashable)."""
        return self._values.setdefault(value, value)

    def names(self, names: Iterable[str]) -> list[str]:
        """The one list of these names, in this order."""
        key = tuple(names)
        found = self._lists.get(key)
        if found is None:
            found = self._lists[key] = list(key)
        return found


def _row_lessons(
    linker: Linker, school: str | None, row: RowLessons, shared: _Shared, wanted: dict[str, Wanted]
) -> None:
    """A timetable row's lessons (each of its groups on each of its dates), tied once per group
    for all its dates alike and made straight into their values (laid out by :func:`_around`, as
    :func:`_row` lays out a single lesson's)."""
    if not row.days or not row.groups:
        return
    teachers = shared.names(row.teachers)
    share = shared.value
    midnight, week = row.days[0]
    around = []  # each group's values before and after its start and end
    for group in row.groups:
        first = DatedLesson(
            f"{row.base}|{week}|{group}", group, row.subject, row.teachers,
            midnight + row.begin, midnight + row.begin + row.length, row.room, row.where,
        )  # fmt: skip
        tie = linker.tie_by_name(school, first, len(row.days))
        around.append(_around(tie, group, row.subject, teachers, row.room, False))
    begin, length = row.begin, row.length
    for midnight, week in row.days:
        start = share(midnight + begin)
        end = share(start + length)
        prefix = f"{row.base}|{week}|"
        for group, (before, after) in zip(row.groups, around, strict=True):
            wanted[prefix + group] = (*before, start, end, *after)


def _around(
    tie: Tie,
    group: str,
    subject: str | None,
    teachers: list[str],
    room: str | None,
    cancelled: bool,
) -> tuple[Wanted, Wanted]:
    """A lesson's values in _COMPARED order, but for its start and end: those before them and
    those after (a row's lessons differ only in their start and end)."""
    return (
        (tie.school_id, group, tie.group_id, tie.class_id, subject, teachers),
        (room, cancelled, False, tie.problem),
    )


def _row(lesson: DatedLesson, tie: Tie, teachers: list[str], share: Callable[[Any], Any]) -> Wanted:
    """A lesson's values as the directory would hold them, in _COMPARED order."""
    before, after = _around(
        tie, lesson.group_name, lesson.subject, teachers, lesson.room, lesson.cancelled
    )
    return (*before, share(lesson.start), share(lesson.end), *after)


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


def _diff(
    ctx: PlanContext,
    source: str,
    held: HeldLessons,
    wanted: dict[str, Wanted],
    bad_bases: set[str],
) -> None:
    """Plan the changes of one source (``held``: the directory's lessons of it).

    A lesson whose digest is the one held is unchanged, told without its row; the rows are read
    only of the lessons that may change (another digest, or gone from the schedule).
    """
    today = ctx.today
    brief = held.brief
    created: dict[tuple[str, str | None], int] = {}
    differs: dict[str, int] = {}  # key -> the wanted lesson's digest, where the held one differs
    for key in sorted(wanted):
        new = wanted[key]
        digest = lesson_digest(new)
        seen = brief.get(key)
        if seen is None:
            row = LessonRow(ctx.new_id(), source, key, *new)
            row.digest = digest
            ctx.changes.lessons.create(row)
            tied = (new[_GROUP_NAME], new[_GROUP_ID])
            created[tied] = created.get(tied, 0) + 1
        elif seen[0] != digest and seen[1].date() >= today:  # what has happened is history
            differs[key] = digest
    for (group, group_id), count in sorted(created.items(), key=lambda c: (c[0][0], c[0][1] or "")):
        ctx.changes.log.add("lesson", group_id or "", "created", _CREATED_NAMES, (group, count))
    gone = [
        key
        for key, (_, start, removed) in brief.items()
        if key not in wanted and not removed and start.date() >= today
        and not _of_bad_row(key, bad_bases)  # a row that cannot be read is not gone
    ]  # fmt: skip
    rows = held.rows([*differs, *gone])
    for key, digest in differs.items():
        row, new = rows[key], wanted[key]
        changed = {k: v for k, v in zip(_COMPARED, new, strict=True) if getattr(row, k) != v}
        if changed:
            _update(ctx, row, changed, digest)
        elif row.digest != digest:  # written before lessons had digests: only the digest
            ctx.changes.lessons.update(row.id, {"digest": digest})
    for key in gone:
        row = rows[key]
        values = list(_held_values(row))
        values[_REMOVED] = True
        _update(ctx, row, {"removed": True}, lesson_digest(tuple(values)))


def lesson_digest(values: Wanted) -> int:
    """A lesson's digest: 64 bits of BLAKE2b over its values (in _COMPARED order) as JSON, as a
    signed integer (a database's BIGINT). Equal values give equal digests in every process."""
    digest = _blake2b(_encode(values), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _update(ctx: PlanContext, row: LessonRow, changed: dict[str, Any], digest: int) -> None:
    if "start" in changed or "end" in changed:
        action = "moved"
    elif "removed" in changed:
        action = "removed" if changed["removed"] else "restored"
    elif "cancelled" in changed:
        action = "cancelled" if changed["cancelled"] else "restored"
    else:
        action = "updated"
    ctx.changes.lessons.update(row.id, {**changed, "digest": digest})
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
