"""Schedule records: dated lessons as a timetable source gives them, before they are tied.

A Novaschem/Skola24 lesson row becomes one dated lesson per week and per group it names; an
SS 12000 calendar event is one dated lesson per group of its activity. Times are Swedish wall-clock
times (Europe/Stockholm) without an offset.

A big school year has millions of dated lessons, and a run holds its schedules until the plan is
made. So a row's lessons are held as the row (:class:`RowLessons`: its values once, its dates
shared) and become :class:`DatedLesson` objects only while they are iterated; a snapshot's
:class:`Lessons` hold rows and single lessons (SS 12000 events) alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class DatedLesson:
    """One lesson on one date, as the schedule source gives it.

    Attributes:
        key: Unique within its source (row GUID + week + group, or event id + group).
        group_name: The group or class name exactly as written (Novaschem), else "".
        group_ids: Register group ids (SS 12000 events), tied by id rather than by name.
        teachers: Teacher signatures (Novaschem).
        duty_ids: Teacher duty ids (SS 12000 events, after substitutes).
        activity_id: The SS 12000 activity (for class–subject groups it generated).
        where: The row or record, for messages.
    """

    key: str
    group_name: str
    subject: str | None
    teachers: tuple[str, ...]
    start: datetime
    end: datetime
    room: str | None
    where: str
    cancelled: bool = False
    group_ids: tuple[str, ...] = ()
    duty_ids: tuple[str, ...] = ()
    activity_id: str | None = None


# One date of a row: its midnight and its ISO week as the key writes it (``2025-W07``). Rows on
# the same weeks and weekday share one tuple of them (see the Novaschem reader).
LessonDay = tuple[datetime, str]


@dataclass(frozen=True, slots=True)
class RowLessons:
    """The dated lessons of one timetable row: one per date and per group, made when iterated.

    Held this way a lesson costs nothing of its own (its row's dates are shared with the rows on
    the same weeks) instead of an object, a key and two datetimes. The lessons come in the order
    the row gives them: date by date, and the groups of each date in the row's order.

    Attributes:
        base: The row's key (its GUID, else PK), the start of each lesson's key.
        groups: The groups or classes the row names.
        days: The row's dates.
        begin: The start, after midnight.
        length: How long each lesson lasts.
    """

    base: str
    groups: tuple[str, ...]
    subject: str | None
    teachers: tuple[str, ...]
    room: str | None
    where: str
    days: tuple[LessonDay, ...]
    begin: timedelta
    length: timedelta

    def __len__(self) -> int:
        return len(self.days) * len(self.groups)

    def __iter__(self) -> Iterator[DatedLesson]:
        base, subject, teachers, room, where = (
            self.base, self.subject, self.teachers, self.room, self.where
        )  # fmt: skip
        for midnight, week in self.days:
            start = midnight + self.begin
            end = start + self.length
            for group in self.groups:
                yield DatedLesson(
                    f"{base}|{week}|{group}", group, subject, teachers, start, end, room, where
                )


class Lessons:
    """A schedule's dated lessons, in the order the source gives them.

    Behaves as a list of :class:`DatedLesson` for what a run does with it (append, extend, len,
    iterate, compare); a Novaschem row's lessons are added as one :class:`RowLessons`
    (:meth:`add_row`) and made only while iterated, so iterating makes new objects each time.
    """

    __slots__ = ("_count", "_parts")

    def __init__(self, lessons: Iterable[DatedLesson] = ()) -> None:
        self._parts: list[DatedLesson | RowLessons] = []
        self._count = 0
        self.extend(lessons)

    def append(self, lesson: DatedLesson) -> None:
        """Add one lesson."""
        self._parts.append(lesson)
        self._count += 1

    def extend(self, lessons: Iterable[DatedLesson]) -> None:
        """Add lessons."""
        for lesson in lessons:
            self.append(lesson)

    def add_row(self, row: RowLessons) -> None:
        """Add the lessons of one timetable row."""
        self._parts.append(row)
        self._count += len(row)

    def __len__(self) -> int:
        return self._count

    def parts(self) -> list[DatedLesson | RowLessons]:
        """The lessons as they were added: single lessons and timetable rows."""
        return self._parts

    def __iter__(self) -> Iterator[DatedLesson]:
        for part in self._parts:
            if isinstance(part, DatedLesson):
                yield part
            else:
                yield from part

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Lessons | list):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"Lessons({len(self)} dated lessons)"


@dataclass
class ScheduleSnapshot:
    """One schedule source as read.

    Attributes:
        source: The source's key in the directory (``novaschem:<SchoolID>`` or ``ss12000``).
        path: The file read.
        encoding: The text encoding found.
        school_code: The file head's SchoolID (a skolenhetskod, when the school filled it in).
        school_name: The file head's School.
        lessons: The dated lessons.
        issues: Rows that made no sense, skipped.
        rows: How many lesson rows the source has.
        bad_bases: The row keys (GUID, else PK) of lesson rows that could not be read. Their
            lessons from earlier runs are kept: a row that cannot be read is not a lesson that
            is gone.
    """

    source: str
    path: str
    encoding: str = "utf-8"
    school_code: str | None = None
    school_name: str | None = None
    lessons: Lessons = field(default_factory=Lessons)
    issues: list[Any] = field(default_factory=list)
    rows: int = 0
    bad_bases: set[str] = field(default_factory=set)
