"""Splitting a Novaschem text export into its head and its tables.

The head is INI-like (``[Source]``, ``[Destination]``, ...). After ``[Tables]`` each table is a
title line ``Name (id)``, a ``[Rows]`` line, a tab-separated header of ``FieldName (fieldId)``,
rows, and a blank line. Tables and columns are found by their numeric ids, since names vary
between versions. A file that ends inside a table (no closing blank line, or a short last row)
was cut off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schoolsync.errors import InputError

_TITLE = re.compile(r"^(?P<name>.+?)\s*\((?P<id>\d+)\)\s*$")
_BOM = b"\xef\xbb\xbf"


@dataclass
class Table:
    """One table: its columns by field id and its rows (with their line numbers)."""

    name: str
    table_id: int
    line: int
    columns: dict[int, int] = field(default_factory=dict)  # field id -> column index
    rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def cell(self, row: list[str], field_id: int) -> str:
        """A row's value for a field id ('' when the table has no such column)."""
        index = self.columns.get(field_id)
        return row[index] if index is not None and index < len(row) else ""


@dataclass
class Export:
    """A parsed text export: head values by section and key, and tables by id."""

    head: dict[str, dict[str, str]]
    tables: dict[int, Table]
    encoding: str


def decode(data: bytes) -> tuple[str, str]:
    """Decode as UTF-8 (with or without BOM) when possible, else as Windows-1252."""
    if data.startswith(_BOM):
        return data[len(_BOM) :].decode("utf-8", errors="replace"), "utf-8 with BOM"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace"), "cp1252"


def parse(data: bytes, display: str) -> Export:
    """Parse the head and the tables.

    Raises:
        InputError: When the file has no ``[Tables]`` section or was cut off inside a table.
    """
    text, encoding = decode(data)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    head: dict[str, dict[str, str]] = {}
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
    else:
        raise InputError(
            "has no [Tables] section, so it holds no schedule.",
            "Export the schedule again from Novaschem (Arkiv – Export – Textfil).",
            path=display,
        )
    tables = _tables(lines, index, display)
    ended = "\n".join(lines).rstrip(" \t").endswith("\n\n")
    if tables and not ended:
        last = max(tables.values(), key=lambda t: t.line)
        raise InputError(
            f"ends inside the table {last.name} ({last.table_id}) without the blank line that "
            f"closes every table (line {len(lines)}): the file was cut off.",
            "Export the schedule again; nothing was changed.",
            path=display,
            line=len(lines),
        )
    return Export(head, tables, encoding)


def _tables(lines: list[str], index: int, display: str) -> dict[int, Table]:
    tables: dict[int, Table] = {}
    while index < len(lines):
        title = lines[index].strip()
        index += 1
        if not title:
            continue
        match = _TITLE.match(title)
        if match is None or index >= len(lines) or lines[index].strip() != "[Rows]":
            raise InputError(
                f"has {title[:60]!r} where a table title such as 'Lesson (7100)' followed by "
                f"[Rows] was expected.",
                "The file is damaged or not a Novaschem text export: export it again.",
                path=display,
                line=index,
            )
        table = Table(match["name"], int(match["id"]), index)
        index += 1
        header = lines[index].split("\t") if index < len(lines) else []
        index += 1
        for col, name in enumerate(header):
            found = _TITLE.match(name.strip())
            if found:
                table.columns[int(found["id"])] = col
        while index < len(lines) and lines[index].strip():
            cells = lines[index].split("\t")
            if len(cells) < len(header) and index == len(lines) - 1:
                raise InputError(
                    f"ends in the middle of the table {table.name} ({table.table_id}): its last "
                    f"row has {len(cells)} of {len(header)} columns. The file was cut off.",
                    "Export the schedule again; nothing was changed.",
                    path=display,
                    line=index + 1,
                )
            table.rows.append((index + 1, cells))
            index += 1
        tables[table.table_id] = table
    return tables
