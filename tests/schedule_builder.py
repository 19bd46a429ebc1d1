"""A small writer of Skola24/Novaschem text exports for tests (cp1252 and CRLF by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.builder import Bundle, school

LESSON_HEADER = [
    "PK (7100)", "GUID (5800)", "DayOfWeek (7101)", "Starttime (7102)", "Length (7115)",
    "Course (7106)", "Subject (7103)", "Teacher (7104)", "Group (7105)", "Room (7107)",
    "Period (7108)", "Week (7109)", "ActualWeeks (7167)",
]  # fmt: skip


@dataclass
class Lesson:
    """One Lesson row."""

    group: str
    subject: str = "MA"
    teachers: str = "KAHO"
    day: str = "Måndag"
    start: str = "8:10"
    length: str = "60"
    weeks: str = "34-43, 45-51, 2-8"
    room: str = "B12"
    period: str = ""
    guid: str = ""


@dataclass
class Schedule:
    """A text export with a head, a Period table and a Lesson table."""

    school_id: str = "99990101"
    school: str = "Norrskolan"
    first_year: int = 2025
    lessons: list[Lesson] = field(default_factory=list)
    periods: dict[str, str] = field(default_factory=lambda: {"Ht": "18/8-19/12", "Vt": "7/1-12/6"})
    school_year: str = "18/8-19/12, 7/1-12/6"

    def text(self) -> str:
        head = [
            "[Source]", "Application=Novaschem", "ApplicationID=1", "ApplicationVerMajor=4",
            "ApplicationVerMinor=0", "DatabaseRevNo=17", f"SchoolID={self.school_id}",
            f"School={self.school}", "County=Exempel kommun", "BaseYear=1994",
            f"OffsetYear={self.first_year - 1994}", "OffsetMonth=6", "CreationDate=2025-08-11",
            "", "[Destination]", "Application=Textfil GR", "ApplicationID=16", "",
            "[DatabaseOptions]", "Update=TRUE", "AddNew=TRUE", "", "[Tables]", "",
        ]  # fmt: skip
        period_header = ["Period (8001)", "GUID (5800)", "TextBelowSchedule (8002)",
                         "Category (8006)", "Calendar (8005)"]  # fmt: skip
        periods = [
            f"{name}\t{{P{i}}}\t\t\t{cal}" for i, (name, cal) in enumerate(self.periods.items())
        ]
        tables = [
            "PeriodGeneral (8100)", "[Rows]", "SchoolYear (8104)", self.school_year, "",
            "Period (8000)", "[Rows]", "\t".join(period_header), *periods,
            "", "Lesson (7100)", "[Rows]", "\t".join(LESSON_HEADER),
        ]  # fmt: skip
        for n, x in enumerate(self.lessons, start=1):
            guid = x.guid or f"{{00000000-0000-4000-8000-{n:012d}}}"
            weeks = "" if x.period else x.weeks
            cells = [str(n), guid, x.day, x.start, x.length, "", x.subject, x.teachers, x.group,
                     x.room, x.period, "", weeks]  # fmt: skip
            tables.append("\t".join(cells))
        tables.append("")
        return "\r\n".join(head + tables) + "\r\n"

    def write(self, path: Path, encoding: str = "cp1252") -> Path:
        path.write_bytes(self.text().encode(encoding))  # utf-8-sig writes a BOM
        return path


def school_with_schedule(
    tmp_path: Path, lessons: list[Lesson], **kw: Any
) -> tuple[Bundle, dict[str, str], Path, Path]:
    """The small school of tests/builder.py and a schedule of ``lessons``, both written."""
    b, ids = school()
    bundle = b.write(tmp_path / "bundle")
    schedule = Schedule(lessons=lessons, **kw).write(tmp_path / "schema.txt")
    return b, ids, bundle, schedule


# For the hostile-export tests at both levels: two rows of Ma 7A, the second one to break.
WEEKS = "34-43, 45-51, 2-8"  # 24 weeks, 15 of them after tests.conftest.TODAY
SECOND_GUID = "{00000000-0000-4000-8000-000000000002}"  # the GUID Schedule gives the second row


def two_rows(**second: str) -> list[Lesson]:
    """Two lesson rows of Ma 7A (Monday and Tuesday); ``second`` changes the second row."""
    return [
        Lesson("Ma 7A", weeks=WEEKS),
        Lesson("Ma 7A", **{"day": "Tisdag", "weeks": WEEKS, **second}),
    ]


def line_of(path: Path, needle: bytes) -> int:
    """The 1-based line of the file that holds ``needle``."""
    lines = path.read_bytes().split(b"\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)
