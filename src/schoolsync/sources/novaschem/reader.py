"""Read a Skola24/Novaschem text export into dated lessons.

Each Lesson row is expanded into one dated lesson per week (ActualWeeks; else the Week column; else
its Period's Calendar; else the whole school year) and per group it names. Rows that make no sense
(a weekday that is not Monday–Friday, a length of thousands of minutes, a week outside the school
year, no group) are reported as ``schedule-bad-row`` with the table and row, and skipped.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from schoolsync.domain.issues import issue
from schoolsync.domain.schedule import DatedLesson, ScheduleSnapshot
from schoolsync.errors import InputError
from schoolsync.sources.novaschem.tables import Export, Table, parse
from schoolsync.sources.novaschem.weeks import dates_on, parse_ranges, parse_weeks

LESSON, PERIOD, PERIOD_GENERAL = 7100, 8000, 8100
F_PK, F_GUID, F_DAY, F_START, F_LENGTH = 7100, 5800, 7101, 7102, 7115
F_COURSE, F_SUBJECT, F_TEACHER, F_GROUP, F_ROOM = 7106, 7103, 7104, 7105, 7107
F_PERIOD, F_WEEK, F_ACTUAL_WEEKS = 7108, 7109, 7167
F_PERIOD_NAME, F_CALENDAR, F_SCHOOL_YEAR = 8001, 8005, 8104

DAYS = {"måndag": 1, "tisdag": 2, "onsdag": 3, "torsdag": 4, "fredag": 5}
DAYS.update({str(n): n for n in range(1, 6)})
MAX_LENGTH = 600  # minutes; a lesson longer than a school day is a placeholder
_TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")


def is_novaschem(path: Path) -> bool:
    """Whether a file starts like a Novaschem export (``[Source]`` … ``Application=Novaschem``)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    text = head.decode("cp1252", errors="replace").lower()
    return "[source]" in text and "application=novaschem" in text


def _split(cell: str) -> tuple[str, ...]:
    """Comma-separated names; only the space right after a comma is a separator."""
    if not cell.strip():
        return ()
    parts = cell.split(",")
    return tuple([parts[0], *(p.lstrip(" ") for p in parts[1:])])


def _bad(snap: ScheduleSnapshot, table: Table, line: int, what: str) -> None:
    snap.issues.append(
        issue(
            "schedule-bad-row",
            f"{snap.path}: row at line {line} of the table {table.name} ({table.table_id}) "
            f"{what}, so it was skipped. Correct the lesson in the schedule and export again.",
            f"{snap.path}:{line}",
        )
    )


def read_novaschem(path: Path) -> ScheduleSnapshot:
    """Read one text export.

    Raises:
        InputError: When the file cannot be read, has no Lesson table or no school year.
    """
    display = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot be read ({exc.strerror or exc}).", "Check the path.", path=display
        ) from exc
    export = parse(data, display)
    source = export.head.get("Source", {})
    first_year = _first_year(source, display)
    code = source.get("SchoolID", "").strip() or None
    snap = ScheduleSnapshot(
        source=f"novaschem:{code or source.get('School', '').strip() or path.stem}",
        path=display,
        encoding=export.encoding,
        school_code=code,
        school_name=source.get("School", "").strip() or None,
    )
    lessons = export.tables.get(LESSON)
    if lessons is None:
        raise InputError(
            "has no Lesson (7100) table.",
            "Export the schedule again with lessons (Arkiv – Export – Textfil).",
            path=display,
        )
    year_span = _school_year(export, first_year)
    periods = _periods(export, first_year)
    seen: set[str] = set()
    for line, row in lessons.rows:
        snap.rows += 1
        _expand(snap, lessons, line, row, first_year, year_span, periods, seen)
    return snap


def _first_year(source: dict[str, str], display: str) -> int:
    try:
        return int(source["BaseYear"]) + int(source["OffsetYear"])
    except (KeyError, ValueError) as exc:
        raise InputError(
            "has no BaseYear and OffsetYear in its [Source] head, so its weeks cannot be dated.",
            "Export the schedule again from Novaschem.",
            path=display,
        ) from exc


def _school_year(export: Export, first_year: int) -> tuple[date, date]:
    table = export.tables.get(PERIOD_GENERAL)
    if table is not None:
        for _, row in table.rows:
            ranges = parse_ranges(table.cell(row, F_SCHOOL_YEAR), first_year)
            if ranges:
                return min(s for s, _ in ranges), max(e for _, e in ranges)
    return date(first_year, 7, 1), date(first_year + 1, 6, 30)


def _periods(export: Export, first_year: int) -> dict[str, list[tuple[date, date]]]:
    table = export.tables.get(PERIOD)
    out: dict[str, list[tuple[date, date]]] = {}
    if table is not None:
        for _, row in table.rows:
            ranges = parse_ranges(table.cell(row, F_CALENDAR), first_year)
            if ranges:
                out[table.cell(row, F_PERIOD_NAME).strip()] = ranges
    return out


def _expand(
    snap: ScheduleSnapshot,
    table: Table,
    line: int,
    row: list[str],
    first_year: int,
    year_span: tuple[date, date],
    periods: dict[str, list[tuple[date, date]]],
    seen: set[str],
) -> None:
    """Turn one Lesson row into dated lessons, or report it."""
    cell = table.cell
    if any("\x00" in c for c in row):
        _bad(snap, table, line, "has a NUL character")
        return
    day_text = cell(row, F_DAY).strip()
    weekday = DAYS.get(day_text.lower())
    if weekday is None:
        _bad(snap, table, line, f"has the weekday {day_text!r}, not Monday–Friday (Måndag–Fredag)")
        return
    start_match = _TIME.match(cell(row, F_START))
    length_text = cell(row, F_LENGTH).strip()
    if start_match is None or int(start_match[1]) > 23 or int(start_match[2]) > 59:
        _bad(snap, table, line, f"has the start time {cell(row, F_START)!r}, not H:MM")
        return
    if not length_text.isdigit() or not 0 < int(length_text) <= MAX_LENGTH:
        _bad(snap, table, line, f"has the length {length_text!r} minutes (a placeholder?)")
        return
    begin = timedelta(hours=int(start_match[1]), minutes=int(start_match[2]))
    length = timedelta(minutes=int(length_text))
    if begin + length > timedelta(days=1):
        _bad(snap, table, line, "ends after midnight")
        return
    groups = _split(cell(row, F_GROUP))
    if not groups:
        _bad(snap, table, line, "names no group or class")
        return
    too_long = [
        what
        for what, text, limit in (
            ("group", max(groups, key=len), 300),
            ("subject", cell(row, F_SUBJECT).strip() or cell(row, F_COURSE).strip(), 50),
            ("room", cell(row, F_ROOM).strip(), 200),
        )
        if len(text) > limit
    ]
    if too_long:
        _bad(snap, table, line, f"has a {too_long[0]} longer than any real one")
        return
    dates = _dates(snap, table, line, row, weekday, first_year, year_span, periods)
    if dates is None:
        return
    base = cell(row, F_GUID).strip() or cell(row, F_PK).strip() or f"line{line}"
    if base in seen:
        base = f"{base}@line{line}"
    seen.add(base)
    subject = cell(row, F_SUBJECT).strip() or cell(row, F_COURSE).strip() or None
    teachers = _split(cell(row, F_TEACHER))
    room = cell(row, F_ROOM).strip() or None
    where = f"{snap.path} line {line}"
    for day in dates:
        year, week, _ = day.isocalendar()
        start = datetime.combine(day, datetime.min.time()) + begin
        for group in groups:
            snap.lessons.append(
                DatedLesson(
                    key=f"{base}|{year}-W{week:02d}|{group}",
                    group_name=group,
                    subject=subject,
                    teachers=teachers,
                    start=start,
                    end=start + length,
                    room=room,
                    where=where,
                )
            )


def _dates(
    snap: ScheduleSnapshot,
    table: Table,
    line: int,
    row: list[str],
    weekday: int,
    first_year: int,
    year_span: tuple[date, date],
    periods: dict[str, list[tuple[date, date]]],
) -> list[date] | None:
    week_text = table.cell(row, F_ACTUAL_WEEKS).strip() or table.cell(row, F_WEEK).strip()
    if week_text:
        weeks = parse_weeks(week_text, first_year)
        if weeks is None:
            _bad(snap, table, line, f"has the week list {week_text!r}, which cannot be read")
            return None
        dates = [date.fromisocalendar(y, w, weekday) for y, w in weeks]
    else:
        period = table.cell(row, F_PERIOD).strip()
        if period and period not in periods:
            _bad(snap, table, line, f"names the period {period!r}, which the export does not have")
            return None
        dates = dates_on(weekday, periods.get(period) or [year_span])
    outside = [d for d in dates if not year_span[0] <= d <= year_span[1]]
    if outside:
        _bad(
            snap,
            table,
            line,
            f"falls outside the school year {year_span[0]}–{year_span[1]} "
            f"(e.g. {outside[0].isoformat()}, week {outside[0].isocalendar()[1]})",
        )
        return None
    return dates
