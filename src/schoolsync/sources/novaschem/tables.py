"""Splitting a Novaschem text export into its head and its tables.

The head is INI-like (``[Source]``, ``[Destination]``, ...). After ``[Tables]`` each table is a
title line ``Name (id)``, a ``[Rows]`` line, a tab-separated header of ``FieldName (fieldId)``,
rows, and (between tables) a blank line. Tables and columns are found by their numeric ids, since
names vary between versions.

Encoding: each line is decoded on its own. A file is UTF-8 when more of its non-ASCII lines are
valid UTF-8 than are not, else Windows-1252. A line that disagrees with the file's encoding (a
stray cp1252 byte in a UTF-8 file, a UTF-8 line in a cp1252 file) is an *odd* line: it is decoded
as well as it goes (ASCII cells such as the GUID stay readable) and the reader skips it instead
of guessing, so that no lesson is ever removed on the strength of a decoding guess. An odd line
that holds the head's SchoolID or School makes the file unreadable, since those name the schedule.

Cut-off files: real exports end with their last row and a line break, with or without a blank
line after it. A file was cut off when it ends after a title without ``[Rows]`` or header, in a
header without a line break, or in a last row with fewer cells than its header. A last row with
all its cells but no line break after it may still have lost the end of its last cell: the table
marks it (``Table.open_line``) and the reader skips it. A cut that falls exactly on a line break
cannot be told from a complete file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schoolsync.errors import InputError

_TITLE = re.compile(r"^(?P<name>.+?)\s*\((?P<id>[0-9]{1,9})\)\s*$")
_BOM = b"\xef\xbb\xbf"
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_READ_AGAIN = "Export the schedule again; nothing was changed."
HEAD_TEXT_KEYS = ("SchoolID", "School")  # head values that must not be guessed at


@dataclass
class Table:
    """One table: its columns by field id and its rows (with their line numbers).

    Attributes:
        open_line: The line of a last row that has no line break after it (it may be cut off).
    """

    name: str
    table_id: int
    line: int
    columns: dict[int, int] = field(default_factory=dict)  # field id -> column index
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    open_line: int | None = None

    def cell(self, row: list[str], field_id: int) -> str:
        """A row's value for a field id ('' when the table has no such column)."""
        index = self.columns.get(field_id)
        return row[index] if index is not None and index < len(row) else ""


@dataclass
class Export:
    """A parsed text export.

    Attributes:
        head: Head values by section and key.
        head_lines: The line of each head value, by (section, key).
        tables: Tables by id.
        encoding: The encoding found, e.g. ``cp1252`` or ``utf-8 (2 lines not UTF-8)``.
        odd_lines: Lines (1-based) that are not in the file's encoding.
        odd_note: What the odd lines are, for messages ("is not valid UTF-8 …").
    """

    head: dict[str, dict[str, str]]
    head_lines: dict[tuple[str, str], int]
    tables: dict[int, Table]
    encoding: str
    odd_lines: frozenset[int] = frozenset()
    odd_note: str = ""


@dataclass
class Decoded:
    """A file's lines as text, and what was found about their encoding."""

    lines: list[str]
    encoding: str
    odd_lines: frozenset[int]
    odd_note: str
    terminated: bool  # the last line ends with a line break (or the file is empty)


def _lines(n: int, what: str) -> str:
    return f"{n} line{'' if n == 1 else 's'} {what}"


def decode(data: bytes) -> Decoded:
    """Split into lines and decode each: the file's encoding is that of most non-ASCII lines."""
    bom = data.startswith(_BOM)
    raw = _NEWLINE.split(data[len(_BOM) :] if bom else data)
    as_utf8: list[str] = []
    passing: set[int] = set()  # non-ASCII lines that are valid UTF-8
    failing: set[int] = set()
    for number, line in enumerate(raw, start=1):
        try:
            as_utf8.append(line.decode("utf-8"))
            if not line.isascii():
                passing.add(number)
        except UnicodeDecodeError:
            as_utf8.append(line.decode("utf-8", "replace"))
            failing.add(number)
    if bom or len(passing) > len(failing) or not failing:
        name = "utf-8 with BOM" if bom else "utf-8"
        lines, odd, note = as_utf8, failing, "is not valid UTF-8 like the rest of the file"
        if odd:
            name += f" ({_lines(len(odd), 'not UTF-8')})"
    else:
        name, odd, note = "cp1252", passing, "is in UTF-8 while the rest of the file is cp1252"
        lines = [
            as_utf8[n - 1] if n in passing else line.decode("cp1252", "replace")
            for n, line in enumerate(raw, start=1)
        ]
        if odd:
            name += f" ({_lines(len(odd), 'in UTF-8')})"
    return Decoded(lines, name, frozenset(odd), note, terminated=raw[-1] == b"")


def parse(data: bytes, display: str) -> Export:
    """Parse the head and the tables.

    Raises:
        InputError: When the file has no ``[Tables]`` section, was cut off, or a head value the
            reader needs is not in the file's encoding.
    """
    decoded = decode(data)
    lines = decoded.lines
    head: dict[str, dict[str, str]] = {}
    head_lines: dict[tuple[str, str], int] = {}
    section = ""
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if line == "[Tables]":
            break
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            head.setdefault(section, {})
        elif "=" in line and section:
            key, _, value = line.partition("=")
            head[section][key.strip()] = value.strip()
            head_lines[(section, key.strip())] = index
            if section == "Source" and key.strip() in HEAD_TEXT_KEYS and index in decoded.odd_lines:
                raise InputError(
                    f"has a {key.strip()} in its [Source] head that {decoded.odd_note}, so it "
                    f"cannot be read safely.",
                    "Save the file in one encoding (as Novaschem exports it) and sync again.",
                    path=display,
                    line=index,
                )
    else:
        raise InputError(
            "has no [Tables] section, so it holds no schedule.",
            "Export the schedule again from Novaschem (Arkiv – Export – Textfil).",
            path=display,
        )
    tables = _Tables(lines, display, decoded.terminated).read(index)
    return Export(head, head_lines, tables, decoded.encoding, decoded.odd_lines, decoded.odd_note)


class _Tables:
    """The tables after ``[Tables]``, with the checks for a file that was cut off."""

    def __init__(self, lines: list[str], display: str, terminated: bool) -> None:
        self.lines = lines
        self.display = display
        # The index of the last line when it has no line break after it (it may be cut).
        self.open_index = len(lines) - 1 if not terminated and lines[-1].strip() else None

    def _cut(self, message: str, index: int) -> InputError:
        return InputError(
            f"{message} The file was cut off.", _READ_AGAIN, path=self.display, line=index + 1
        )

    def _at_end(self, index: int) -> bool:
        return all(not line.strip() for line in self.lines[index:])

    def read(self, index: int) -> dict[int, Table]:
        tables: dict[int, Table] = {}
        lines = self.lines
        while index < len(lines):
            title = lines[index].strip()
            index += 1
            if not title:
                continue
            match = _TITLE.match(title)
            if index - 1 == self.open_index:
                raise self._cut(f"ends in the table title {title[:60]!r}.", index - 1)
            if match is not None and self._at_end(index):
                raise self._cut(
                    f"ends after the table title {title[:60]!r}, without its [Rows] line and "
                    f"header.",
                    index - 1,
                )
            if match is None or lines[index].strip() != "[Rows]":
                raise InputError(
                    f"has {title[:60]!r} where a table title such as 'Lesson (7100)' followed "
                    f"by [Rows] was expected.",
                    "The file is damaged or not a Novaschem text export: export it again.",
                    path=self.display,
                    line=index,
                )
            table = Table(match["name"], int(match["id"]), index)
            index += 1
            if self._at_end(index) or index == self.open_index:
                raise self._cut(
                    f"ends before the header of the table {table.name} ({table.table_id}) is "
                    f"complete.",
                    min(index, len(lines) - 1),
                )
            index = self._rows(table, index)
            tables[table.table_id] = table
        return tables

    def _rows(self, table: Table, index: int) -> int:
        lines = self.lines
        header = lines[index].split("\t")
        index += 1
        for col, name in enumerate(header):
            found = _TITLE.match(name.strip())
            if found:
                table.columns[int(found["id"])] = col
        while index < len(lines) and lines[index].strip():
            cells = lines[index].split("\t")
            if index == self.open_index:
                if len(cells) < len(header):
                    raise self._cut(
                        f"ends in the middle of the table {table.name} ({table.table_id}): its "
                        f"last row has {len(cells)} of {len(header)} columns.",
                        index,
                    )
                table.open_line = index + 1
            table.rows.append((index + 1, cells))
            index += 1
        return index
