"""Finding and reading the JSON files of an SS 12000 bundle directory.

A bundle holds one file per list endpoint (``persons.json``) and/or a folder of pages
(``persons/*.json``, read in natural name order). A file is either the API's page shape
``{"data": [...], "pageToken": ...}`` or a bare JSON array. Everything that makes a file unreadable
is raised as :class:`InputError` naming the file and the line and column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schoolsync.errors import InputError

ENDPOINTS = (
    "organisations",
    "persons",
    "duties",
    "placements",
    "groups",
    "syllabuses",
    "activities",
    "calendarEvents",
    "rooms",
    "studyPlans",
)

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One element of an endpoint's list, with the file and index it came from."""

    path: str
    index: int
    value: Any


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def endpoint_files(bundle: Path, endpoint: str) -> list[Path]:
    """The files that hold one endpoint's data, in reading order.

    Args:
        bundle: The bundle directory.
        endpoint: An endpoint name such as ``persons``.

    Returns:
        ``{endpoint}.json`` if present, then ``{endpoint}/*.json`` in natural name order.
    """
    files: list[Path] = []
    single = bundle / f"{endpoint}.json"
    if single.is_file():
        files.append(single)
    folder = bundle / endpoint
    if folder.is_dir():
        files.extend(sorted(folder.glob("*.json"), key=_natural_key))
    return files


def _line_col(text: bytes, pos: int) -> tuple[int, int]:
    line = text.count(b"\n", 0, pos) + 1
    col = pos - (text.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


def load_json(path: Path, display: str) -> Any:
    """Read one JSON file strictly as UTF-8 (a leading byte-order mark is allowed).

    Args:
        path: The file.
        display: How to name the file in messages.

    Returns:
        The decoded JSON value.

    Raises:
        InputError: When the file cannot be opened, is empty, is not UTF-8 or is not JSON.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(
            f"cannot be read ({exc.strerror or exc}).",
            "Check that the file exists and that schoolsync may read it.",
            path=display,
        ) from exc
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data.strip():
        raise InputError(
            "is empty, so it holds no records at all.",
            "An export that stopped half-way looks like this: export it again. If the register "
            "really has no such records, write [] in the file.",
            path=display,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        raise InputError(
            f"is not UTF-8 (byte 0x{data[exc.start]:02x} cannot start a character).",
            "SS 12000 files are JSON in UTF-8: export again, or convert the file "
            "(e.g. iconv -f cp1252 -t utf-8).",
            path=display,
            line=line,
            column=col,
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"is not valid JSON: {exc.msg}.",
            "The export is damaged or was cut off: export it again.",
            path=display,
            line=exc.lineno,
            column=exc.colno,
        ) from exc
    except RecursionError as exc:
        raise InputError(
            "is nested too deeply to be an SS 12000 list.",
            "Export it again.",
            path=display,
        ) from exc


def read_endpoint(bundle: Path, endpoint: str) -> tuple[bool, list[RawRecord]]:
    """Read every record of one endpoint.

    Args:
        bundle: The bundle directory.
        endpoint: The endpoint name.

    Returns:
        ``(present, records)``: whether any file for the endpoint exists, and its records.

    Raises:
        InputError: When a file is unreadable, has the wrong shape, or a folder of pages ends
            with a page that says more pages follow.
    """
    files = endpoint_files(bundle, endpoint)
    records: list[RawRecord] = []
    last_token: Any = None
    last_display = ""
    for path in files:
        display = str(path.relative_to(bundle)) if path.is_relative_to(bundle) else str(path)
        items, token = _records_of(load_json(path, display), display)
        records.extend(RawRecord(display, i, item) for i, item in enumerate(items))
        if path.parent != bundle:
            last_token, last_display = token, display
    if last_token not in (None, ""):
        raise InputError(
            f"is the last page of {endpoint}/ but its pageToken says more pages follow.",
            "The export is incomplete: fetch the remaining pages and run the sync again.",
            path=last_display,
        )
    return bool(files), records


def _records_of(value: Any, display: str) -> tuple[list[Any], Any]:
    if isinstance(value, list):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return value["data"], value.get("pageToken")
    raise InputError(
        'is neither a JSON array nor an SS 12000 page ({"data": [...], "pageToken": ...}).',
        "Export the endpoint again as a list.",
        path=display,
    )


def iter_dicts(records: list[RawRecord]) -> Iterator[RawRecord]:
    """The records that are JSON objects (others are reported by the caller)."""
    return (r for r in records if isinstance(r.value, dict))
