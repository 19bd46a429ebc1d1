"""The Novaschem "Textfil" layout: an INI-like head, then tab-separated tables, in cp1252.

See ``SKOLA24.md`` for the format. Tables are identified by their numeric ids; every header
column is ``FieldName (fieldId)``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

ENCODING = "cp1252"
NEWLINE = "\r\n"
BASE_YEAR = 1994

ROOM = ("Room", 6600, "Room 6601|GUID 5800|Category 6602|SeatingCapacity 6607")
SUBJECT = (
    "Subject",
    6400,
    "Subject 6401|GUID 5800|Category 6402|FullText 6403|BackgroundColor 6432|TextColor 6433"
    "|EvaluationNumber 6429",
)
TEACHER = (
    "Teacher",
    6000,
    "Teacher 6001|GUID 5800|Category 6002|PersonalCode 6028|LastName 6003|Title 6006"
    "|FirstName 6004|Phone 6033|EMail 6034|EvaluationNumber 6014",
)
GROUP = (
    "Group",
    6200,
    "Group 6201|GUID 5800|Class 6210|Teacher 6204|IClass 6206|Student 6205",
)
PERIOD_GENERAL = ("PeriodGeneral", 8100, "SchoolYear 8104")
PERIOD = (
    "Period",
    8000,
    "Period 8001|GUID 5800|TextBelowSchedule 8002|Category 8006|Calendar 8005",
)
LESSON = (
    "Lesson",
    7100,
    "PK 7100|GUID 5800|DayOfWeek 7101|Starttime 7102|Length 7115|Course 7106|Subject 7103"
    "|Teacher 7104|Group 7105|Room 7107|Period 7108|Week 7109|ActualWeeks 7167",
)
"""Table definitions: name, table id, and ``FieldName fieldId`` columns separated by ``|``."""

_FOLDS = {"ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D"}


@dataclass
class Table:
    """One table of the export.

    Attributes:
        name: Table name, e.g. ``Lesson``.
        table_id: Numeric table id, e.g. ``7100``.
        fields: Column names with their ids, e.g. ``("PK (7100)", "GUID (5800)", ...)``.
        rows: Cell values; each row has one value per field.
    """

    name: str
    table_id: int
    fields: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, definition: tuple[str, int, str]) -> Table:
        """Return an empty table from one of the definitions of this module."""
        name, table_id, spec = definition
        fields = tuple(f"{n} ({i})" for n, i in (item.split(" ") for item in spec.split("|")))
        return cls(name, table_id, fields)

    def add(self, *cells: str) -> None:
        """Append a row; missing trailing cells are left empty.

        Raises:
            ValueError: When there are more cells than fields.
        """
        if len(cells) > len(self.fields):
            raise ValueError(f"{self.name}: {len(cells)} cells for {len(self.fields)} fields")
        self.rows.append(cells + ("",) * (len(self.fields) - len(cells)))

    def lines(self) -> list[str]:
        """Return the table's lines: title, ``[Rows]``, header, rows and a closing blank line."""
        body = ["\t".join(cell_text(cell) for cell in row) for row in self.rows]
        return [f"{self.name} ({self.table_id})", "[Rows]", "\t".join(self.fields), *body, ""]


@dataclass(frozen=True)
class Head:
    """The ``[Source]`` and ``[Destination]`` values of one export.

    Attributes:
        school_id: The SchoolID (the unit's skolenhetskod).
        school: School name.
        county: Municipality name.
        first_year: Calendar year in which the läsår starts.
        created: CreationDate.
        revision: DatabaseRevNo.
        gymnasium: Whether the export is ``Textfil GY`` rather than ``Textfil GR``.
    """

    school_id: str
    school: str
    county: str
    first_year: int
    created: date
    revision: int
    gymnasium: bool

    def lines(self) -> list[str]:
        """Return the head, up to and including ``[Tables]`` and its blank line."""
        target, target_id = ("Textfil GY", 17) if self.gymnasium else ("Textfil GR", 16)
        return [
            "[Source]",
            "Application=Novaschem",
            "ApplicationID=1",
            "ApplicationVerMajor=4",
            "ApplicationVerMinor=0",
            f"DatabaseRevNo={self.revision}",
            f"SchoolID={cell_text(self.school_id)}",
            f"School={cell_text(self.school)}",
            f"County={cell_text(self.county)}",
            f"BaseYear={BASE_YEAR}",
            f"OffsetYear={self.first_year - BASE_YEAR}",
            "OffsetMonth=6",
            f"CreationDate={self.created.isoformat()}",
            "",
            "[Destination]",
            f"Application={target}",
            f"ApplicationID={target_id}",
            "",
            "[DatabaseOptions]",
            "Update=TRUE",
            "AddNew=TRUE",
            "",
            "[Tables]",
            "",
        ]


def cell_text(text: str) -> str:
    """Return ``text`` as one cell: no tabs or line breaks, only characters cp1252 can hold.

    Letters cp1252 lacks (``ł``, ``ş`` …) lose their marks, as Novaschem users type them.
    """
    if "\t" in text or "\n" in text or "\r" in text:
        text = " ".join(text.replace("\t", " ").splitlines())
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return "".join(_fold(char) for char in text)
    return text


def _fold(char: str) -> str:
    try:
        char.encode(ENCODING)
    except UnicodeEncodeError:
        base = _FOLDS.get(char) or unicodedata.normalize("NFKD", char)[:1]
        return base if base.isascii() else "?"
    return char


def render(head: Head, tables: list[Table]) -> bytes:
    """Return the whole export as cp1252 bytes with CRLF line ends.

    Args:
        head: The head values.
        tables: The tables, in the order to write them.

    Returns:
        The file content; it ends with the CRLF of the last table's blank line.
    """
    lines = head.lines()
    for table in tables:
        lines.extend(table.lines())
    return (NEWLINE.join(lines) + NEWLINE).encode(ENCODING)
