"""Schedule records: dated lessons as a timetable source gives them, before they are tied.

A Novaschem/Skola24 lesson row becomes one dated lesson per week and per group it names; an
SS 12000 calendar event is one dated lesson per group of its activity. Times are Swedish wall-clock
times (Europe/Stockholm) without an offset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
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
    lessons: list[DatedLesson] = field(default_factory=list)
    issues: list[Any] = field(default_factory=list)
    rows: int = 0
    bad_bases: set[str] = field(default_factory=set)
