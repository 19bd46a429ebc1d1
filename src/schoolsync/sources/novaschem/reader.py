"""Read a Skola24/Novaschem text export into dated lessons.

Each Lesson row is expanded into one dated lesson per week (ActualWeeks; else the Week column; else
its Period's Calendar; else the whole school year) and per group it names. Rows that make no sense
(a weekday that is not Monday–Friday, a length of thousands of minutes, a week outside the school
year, no group) are reported as ``schedule-bad-row`` with the table and row, and skipped. A row
that cannot be read is not a lesson that is gone: the snapshot names its GUID (else PK) in
``bad_bases``, and the lessons it gave in earlier runs are kept as they were. A row on a line that
is not in the file's encoding (see ``tables``), or a last row with no line break after it (it may
have been cut), is such a row too; in the school year (PeriodGeneral) it makes the file
unreadable.

Limits, so that what the directory stores fits on every database: a row's GUID (else PK) has at
most 64 characters (a real GUID has 38), a group name 300, a subject 50 and a room 200; a longer
one makes the row a bad row. The source key is ``novaschem:<SchoolID>`` (else the School, else the
file name) and has at most 120 characters: a SchoolID or School that would make it longer makes
the file unreadable (exit 1), and a file name is shortened. The school year (BaseYear +
OffsetYear) must lie between 1990 and 2150. Numbers are read as ASCII digits only.

A row's lessons are kept as the row (``RowLessons``), and rows on the same dates share them
(``_Days``): an export of a big school gives a hundred thousand dated lessons, which a run
holds until it has planned them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

from schoolsync.domain.issues import issue
from schoolsync.domain.schedule import LessonDay, RowLessons, ScheduleSnapshot
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
FIRST_YEARS = (1990, 2150)  # the school years (first calendar year) the reader accepts
SOURCE_PREFIX, MAX_SOURCE = "novaschem:", 120  # lessons.source
# lessons.source_key = base|YYYY-Www|group (400): 64 + "@line" + 9 digits + 10 + 300 fits.
MAX_ROW_ID, MAX_GROUP, MAX_SUBJECT, MAX_ROOM = 64, 300, 50, 200
_TIME = re.compile(r"\s*([0-9]{1,2})[:.]([0-9]{2})\s*")
_MINUTES = re.compile(r"[0-9]{1,4}")
_NUMBER = re.compile(r"[0-9]{1,6}")


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


def _show(text: str) -> str:
    """A cell's value for a message, shortened when it is long."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _bad(
    snap: ScheduleSnapshot,
    table: Table,
    line: int,
    what: str,
    base: str | None = None,
    hint: str = "Correct the lesson in the schedule and export again.",
) -> None:
    """Report a row that was skipped; a Lesson row's earlier lessons (its base) are kept."""
    kept = ""
    if base is not None:
        snap.bad_bases.add(base)
        kept = " (lessons it gave before are kept as they were)"
    snap.issues.append(
        issue(
            "schedule-bad-row",
            f"{snap.path}: row at line {line} of the table {table.name} ({table.table_id}) "
            f"{what}, so it was skipped{kept}. {hint}",
            f"{snap.path}:{line}",
        )
    )


def read_novaschem(path: Path) -> ScheduleSnapshot:
    """Read one text export.

    Raises:
        InputError: When the file cannot be read, was cut off, has no Lesson table, or its head
            has no readable school year or too long a SchoolID or School.
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
    first_year = _first_year(export, display)
    code = source.get("SchoolID", "").strip() or None
    name = source.get("School", "").strip() or None
    snap = ScheduleSnapshot(
        source=_source_key(export, code, name, path),
        path=display,
        encoding=export.encoding,
        school_code=code,
        school_name=name,
    )
    lessons = export.tables.get(LESSON)
    if lessons is None:
        raise InputError(
            "has no Lesson (7100) table.",
            "Export the schedule again with lessons (Arkiv – Export – Textfil).",
            path=display,
        )
    year_span = _school_year(export, first_year, display)
    periods = _periods(snap, export, first_year)
    seen: set[str] = set()
    days = _Days()
    for line, row in lessons.rows:
        snap.rows += 1
        _expand(snap, export, lessons, line, row, first_year, year_span, periods, seen, days)
    return snap


class _Days:
    """The dates of a file's rows, each list made once: a school's rows fall on a few patterns
    of weeks and weekdays (every Monday of the autumn), so rows share them instead of holding
    their own."""

    def __init__(self) -> None:
        self._made: dict[tuple[date, ...], tuple[LessonDay, ...]] = {}

    def of(self, dates: list[date]) -> tuple[LessonDay, ...]:
        """Each date's midnight and ISO week (as the lesson keys write it)."""
        key = tuple(dates)
        found = self._made.get(key)
        if found is None:
            found = self._made[key] = tuple(_day(d) for d in dates)
        return found


def _day(day: date) -> LessonDay:
    year, week, _ = day.isocalendar()
    return datetime.combine(day, datetime.min.time()), f"{year}-W{week:02d}"


def _source_key(export: Export, code: str | None, name: str | None, path: Path) -> str:
    """``novaschem:<SchoolID | School | file name>``, at most 120 characters."""
    room = MAX_SOURCE - len(SOURCE_PREFIX)
    for key, value in (("SchoolID", code), ("School", name)):
        if value is None:
            continue
        if len(value) > room:
            raise InputError(
                f"has a {key} of {len(value)} characters in its [Source] head ({_show(value)}); "
                f"it names the schedule in the directory and may have at most {room}.",
                f"Correct the school's {key} in Novaschem and export again.",
                path=str(path),
                line=export.head_lines.get(("Source", key)),
            )
        return SOURCE_PREFIX + value
    return SOURCE_PREFIX + path.stem[:room]


def _first_year(export: Export, display: str) -> int:
    """BaseYear + OffsetYear: the calendar year in which the school year starts."""
    source = export.head.get("Source", {})
    values = []
    for key in ("BaseYear", "OffsetYear"):
        if key not in source:
            raise InputError(
                "has no BaseYear and OffsetYear in its [Source] head, so its weeks cannot be "
                "dated.",
                "Export the schedule again from Novaschem.",
                path=display,
            )
        if _NUMBER.fullmatch(source[key]) is None:
            raise InputError(
                f"has {key}={_show(source[key])} in its [Source] head, which is not a number of "
                f"years, so its weeks cannot be dated.",
                "Export the schedule again from Novaschem.",
                path=display,
                line=export.head_lines.get(("Source", key)),
            )
        values.append(int(source[key]))
    first = values[0] + values[1]
    low, high = FIRST_YEARS
    if not low <= first <= high:
        raise InputError(
            f"has BaseYear={values[0]} and OffsetYear={values[1]} in its [Source] head, which make "
            f"the school year {first}/{first + 1}; only school years starting {low}–{high} can be "
            f"read, so its weeks cannot be dated.",
            "Export the schedule again from Novaschem.",
            path=display,
            line=export.head_lines.get(("Source", "BaseYear")),
        )
    return first


def _unreadable(export: Export, table: Table, line: int) -> tuple[str, str] | None:
    """Why a row cannot be read at all (and what to do), or None."""
    if line in export.odd_lines:
        return (
            export.odd_note,
            "Save the file in one encoding (as Novaschem exports it) and sync again.",
        )
    if line == table.open_line:
        return (
            "is the last line of the file and has no line break after it, so it may have been "
            "cut off",
            "Export the schedule again.",
        )
    return None


def _school_year(export: Export, first_year: int, display: str) -> tuple[date, date]:
    table = export.tables.get(PERIOD_GENERAL)
    if table is not None:
        for line, row in table.rows:
            odd = _unreadable(export, table, line)
            if odd is not None:
                raise InputError(
                    f"has a school year (PeriodGeneral) that {odd[0]}, so its weeks cannot be "
                    f"dated.",
                    odd[1],
                    path=display,
                    line=line,
                )
            ranges = parse_ranges(table.cell(row, F_SCHOOL_YEAR), first_year)
            if ranges:
                return min(s for s, _ in ranges), max(e for _, e in ranges)
    return date(first_year, 7, 1), date(first_year + 1, 6, 30)


def _periods(
    snap: ScheduleSnapshot, export: Export, first_year: int
) -> dict[str, list[tuple[date, date]]]:
    table = export.tables.get(PERIOD)
    out: dict[str, list[tuple[date, date]]] = {}
    if table is not None:
        for line, row in table.rows:
            odd = _unreadable(export, table, line)
            if odd is not None:  # its lessons become bad rows: the period is unknown
                _bad(snap, table, line, odd[0], hint=odd[1])
                continue
            ranges = parse_ranges(table.cell(row, F_CALENDAR), first_year)
            if ranges:
                out[table.cell(row, F_PERIOD_NAME).strip()] = ranges
    return out


def _expand(
    snap: ScheduleSnapshot,
    export: Export,
    table: Table,
    line: int,
    row: list[str],
    first_year: int,
    year_span: tuple[date, date],
    periods: dict[str, list[tuple[date, date]]],
    seen: set[str],
    days: _Days,
) -> None:
    """Turn one Lesson row into dated lessons, or report it (keeping its earlier lessons)."""
    cell = table.cell
    row_id = cell(row, F_GUID).strip() or cell(row, F_PK).strip()
    base = row_id or f"line{line}"
    odd = _unreadable(export, table, line)
    if odd is not None:
        _bad(snap, table, line, odd[0], base, odd[1])
        return
    if any("\x00" in c for c in row):
        _bad(snap, table, line, "has a NUL character", base)
        return
    if len(row_id) > MAX_ROW_ID:
        _bad(snap, table, line, f"has a GUID of {len(row_id)} characters (a real one has 38; "
             f"at most {MAX_ROW_ID} can be kept)", base)  # fmt: skip
        return
    timing = _timing(cell(row, F_DAY), cell(row, F_START), cell(row, F_LENGTH))
    if isinstance(timing, str):
        _bad(snap, table, line, timing, base)
        return
    weekday, begin, length = timing
    groups = _split(cell(row, F_GROUP))
    if not groups:
        _bad(snap, table, line, "names no group or class", base)
        return
    too_long = [
        what
        for what, text, limit in (
            ("group", max(groups, key=len), MAX_GROUP),
            ("subject", cell(row, F_SUBJECT).strip() or cell(row, F_COURSE).strip(), MAX_SUBJECT),
            ("room", cell(row, F_ROOM).strip(), MAX_ROOM),
        )
        if len(text) > limit
    ]
    if too_long:
        _bad(snap, table, line, f"has a {too_long[0]} longer than any real one", base)
        return
    dates = _dates(snap, table, line, row, weekday, first_year, year_span, periods, base)
    if dates is None:
        return
    if base in seen:
        base = f"{base}@line{line}"
    seen.add(base)
    subject = cell(row, F_SUBJECT).strip() or cell(row, F_COURSE).strip() or None
    teachers = _split(cell(row, F_TEACHER))
    room = cell(row, F_ROOM).strip() or None
    where = f"{snap.path} line {line}"
    snap.lessons.add_row(
        RowLessons(base, groups, subject, teachers, room, where, days.of(dates), begin, length)
    )


def _timing(day: str, start: str, length: str) -> tuple[int, timedelta, timedelta] | str:
    """(ISO weekday, start, length) of a row, or why they cannot be read."""
    weekday = DAYS.get(day.strip().lower())
    if weekday is None:
        return f"has the weekday {_show(day.strip())}, not Monday–Friday (Måndag–Fredag)"
    clock = _TIME.fullmatch(start)
    if clock is None or int(clock[1]) > 23 or int(clock[2]) > 59:
        return f"has the start time {_show(start)}, not H:MM"
    minutes = length.strip()
    if _MINUTES.fullmatch(minutes) is None or not 0 < int(minutes) <= MAX_LENGTH:
        return f"has the length {_show(minutes)} minutes (a placeholder?)"
    begin = timedelta(hours=int(clock[1]), minutes=int(clock[2]))
    if begin + timedelta(minutes=int(minutes)) > timedelta(days=1):
        return "ends after midnight"
    return weekday, begin, timedelta(minutes=int(minutes))


def _dates(
    snap: ScheduleSnapshot,
    table: Table,
    line: int,
    row: list[str],
    weekday: int,
    first_year: int,
    year_span: tuple[date, date],
    periods: dict[str, list[tuple[date, date]]],
    base: str,
) -> list[date] | None:
    week_text = table.cell(row, F_ACTUAL_WEEKS).strip() or table.cell(row, F_WEEK).strip()
    if week_text:
        weeks = parse_weeks(week_text, first_year)
        if weeks is None:
            _bad(snap, table, line, f"has the week list {_show(week_text)}, which cannot be read",
                 base)  # fmt: skip
            return None
        dates = [date.fromisocalendar(y, w, weekday) for y, w in weeks]
    else:
        period = table.cell(row, F_PERIOD).strip()
        if period and period not in periods:
            _bad(snap, table, line, f"names the period {_show(period)}, which the export does "
                 f"not have", base)  # fmt: skip
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
            base,
        )
        return None
    return dates
