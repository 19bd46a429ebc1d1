"""Writes the Novaschem/Skola24 schedule exports that go with a generated bundle.

One ``schedule/<skolenhetskod>.txt`` per school unit with lessons, in the "Textfil" layout of
``SKOLA24.md``: Room, Subject, Teacher, Group, PeriodGeneral, Period and Lesson tables. Teachers
are written without personnummer and groups without pupils.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from .context import MUNICIPALITY, Context
from .ids import NAMESPACE
from .model import Person
from .novaschem import (
    GROUP,
    LESSON,
    PERIOD,
    PERIOD_GENERAL,
    ROOM,
    SUBJECT,
    TEACHER,
    Head,
    Table,
    render,
)
from .schedule_faults import MarkedRow, ScheduleFaults
from .schedule_view import UnitView, unit_views
from .schools import Unit
from .timetable import Lesson, Timetable
from .weeks import TeachingWeeks

SCHEDULE_SEED_SALT = 0x5C4E_D017
SCHEDULE_FAULT_SALT = 0x5C4E_FA17
SCHEDULE_DIR = "schedule"
PERIODS = (("Ht", "Hösttermin"), ("Vt", "Vårtermin"))
ROOM_SEATS = {"Aula": "200", "Idrottshallen": "60", "Biblioteket": "40"}
SUBSTITUTE_NAME = "Vikarie"
"""Family name the timetable program gives a signature the register does not know."""


@dataclass(frozen=True)
class ScheduleResult:
    """What :func:`write_schedules` wrote.

    Attributes:
        paths: The files, sorted.
        lesson_rows: Lesson rows over all files.
        dated_lessons: Lessons with a date: rows times their weeks (a period's weeks for rows
            that give only a period); placeholder rows are not counted.
        faults: Descriptions of the deliberate faults.
    """

    paths: tuple[Path, ...]
    lesson_rows: int
    dated_lessons: int
    faults: tuple[str, ...]


@dataclass
class _Export:
    """The parts of one unit's export, and how to make its GUIDs."""

    view: UnitView
    lessons: list[Lesson]
    weeks: TeachingWeeks
    seed: int
    subjects: dict[str, str]
    unknown: list[str]

    def guid(self, kind: str, key: str) -> str:
        """Return a deterministic ``{8-4-4-4-12}`` GUID for ``kind`` and ``key`` in this file."""
        value = uuid.uuid5(NAMESPACE, f"{self.seed}:schedule:{self.view.code}:{kind}:{key}")
        return f"{{{str(value).upper()}}}"

    def dated(self, lesson: Lesson) -> int:
        """Return how many dated lessons a row holds."""
        if lesson.placeholder:
            return 0
        return len(lesson.weeks or self.weeks.term(lesson.period))


def write_schedules(
    ctx: Context, units: list[Unit], out_dir: Path, seed: int, faults: bool
) -> ScheduleResult:
    """Write one schedule export per school unit with lessons into ``out_dir/schedule``.

    Earlier exports in that folder are replaced. The same arguments give the same bytes.

    Args:
        ctx: The run's context, with every record made (register faults included).
        units: The municipality's units.
        out_dir: The bundle directory.
        seed: The generation seed.
        faults: Whether to write the deliberate schedule faults (in the first grundskola unit).

    Returns:
        The files written, their counts and the faults.
    """
    folder = out_dir / SCHEDULE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("*.txt")):
        old.unlink()
    weeks = TeachingWeeks.of(ctx.year)
    rng = random.Random(seed ^ SCHEDULE_SEED_SALT)
    fault_rng = random.Random(seed ^ SCHEDULE_FAULT_SALT)
    known = {d.signature for d in ctx.duties}
    views = unit_views(ctx, units)
    persons = {p.id: p for p in ctx.persons}
    faulty = next((v for v in views if v.unit.kind == "GR"), None) if faults else None
    paths: list[Path] = []
    rows = dated = 0
    notes: list[str] = []
    for view in views:
        timetable = Timetable(rng, view, weeks)
        lessons = timetable.build()
        revision = rng.randint(3, 240)
        if not lessons:
            continue
        export = _Export(view, lessons, weeks, seed, timetable.subjects, [])
        if view is faulty:
            maker = ScheduleFaults(view, lessons, fault_rng, known, weeks.all)
            notes.extend(_describe(export, maker.apply()))
            export.unknown.extend(maker.unknown)
        path = folder / f"{view.code}.txt"
        path.write_bytes(render(_head(ctx, view, revision), _tables(export, persons)))
        paths.append(path)
        rows += len(lessons)
        dated += sum(export.dated(lesson) for lesson in lessons)
    return ScheduleResult(tuple(sorted(paths)), rows, dated, tuple(notes))


def _describe(export: _Export, marked: list[MarkedRow]) -> list[str]:
    position = {id(lesson): pk for pk, lesson in enumerate(export.lessons, start=1)}
    org = export.view.unit.org
    return [
        f"{row.code}: lesson {position[id(row.lesson)]} in schedule {export.view.code}.txt "
        f"({org.display_name}) {row.detail}"
        for row in marked
    ]


def _head(ctx: Context, view: UnitView, revision: int) -> Head:
    return Head(
        school_id=view.code,
        school=view.unit.org.display_name,
        county=f"{MUNICIPALITY} kommun",
        first_year=ctx.year.first_year,
        created=ctx.year.start - timedelta(days=7),
        revision=revision,
        gymnasium=view.gymnasium,
    )


def _tables(export: _Export, persons: dict[str, Person]) -> list[Table]:
    return [
        _rooms(export),
        _subjects(export),
        _teachers(export, persons),
        _groups(export),
        *_periods(export),
        _lessons(export),
    ]


def _rooms(export: _Export) -> Table:
    table = Table.of(ROOM)
    for name in sorted({lesson.room for lesson in export.lessons}):
        table.add(name, export.guid("room", name), "", ROOM_SEATS.get(name, "30"))
    return table


def _subjects(export: _Export) -> Table:
    table = Table.of(SUBJECT)
    for code, full_text in sorted(export.subjects.items()):
        if code:
            table.add(code, export.guid("subject", code), "", full_text)
    return table


def _teachers(export: _Export, persons: dict[str, Person]) -> Table:
    """Teachers of the unit's activities and mentors of its groups, by signature."""
    view = export.view
    duty_ids = {t.duty for a in view.activities for t in a.teachers}
    duty_ids.update(d for ids in view.mentors.values() for d in ids)
    duties = sorted((view.duties[d] for d in duty_ids), key=lambda d: (d.signature, d.id))
    table = Table.of(TEACHER)
    for duty in duties:
        person = persons[duty.person]
        guid = export.guid("teacher", duty.id)
        table.add(
            duty.signature, guid, "", "", person.family, "", person.given, "", person.email or ""
        )
    for signature in export.unknown:
        table.add(signature, export.guid("teacher", signature), "", "", SUBSTITUTE_NAME)
    return table


def _groups(export: _Export) -> Table:
    """Every class (Class 1, mentors as teachers) and teaching group (Class 0)."""
    view = export.view
    teachers = {a.groups[0]: view.signatures(a) for a in view.activities}
    table = Table.of(GROUP)
    for group in view.classes:
        mentors = [view.duties[d].signature for d in view.mentors.get(group.id, [])]
        table.add(group.display_name, export.guid("group", group.id), "1", ",".join(mentors))
    for group in view.groups:
        signatures = ",".join(teachers.get(group.id, []))
        classes = ",".join(view.drawn_from[group.id])
        guid = export.guid("group", group.id)
        table.add(group.display_name, guid, "0", signatures, classes, "")
    return table


def _periods(export: _Export) -> list[Table]:
    weeks = export.weeks
    general = Table.of(PERIOD_GENERAL)
    general.add(weeks.date_ranges(weeks.all))
    periods = Table.of(PERIOD)
    for name, text in PERIODS:
        calendar = weeks.date_ranges(weeks.term(name))
        periods.add(name, export.guid("period", name), text, "", calendar)
    return [general, periods]


def _lessons(export: _Export) -> Table:
    table = Table.of(LESSON)
    week_texts: dict[tuple[int, ...], str] = {}
    for pk, lesson in enumerate(export.lessons, start=1):
        weeks = week_texts.get(lesson.weeks)
        if weeks is None:
            weeks = week_texts[lesson.weeks] = export.weeks.week_ranges(lesson.weeks)
        table.add(
            str(pk),
            export.guid("lesson", str(pk)),
            lesson.day,
            lesson.starttime,
            str(lesson.length),
            lesson.course,
            lesson.subject,
            ",".join(lesson.teachers),
            lesson.group,
            lesson.room,
            lesson.period,
            "",
            weeks,
        )
    return table
