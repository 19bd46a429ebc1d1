"""Finding and reading the JSON files of an SS 12000 bundle directory.

A bundle holds one file per list endpoint (``persons.json``) and/or a folder of pages
(``persons/*.json``, read in natural name order). A file is either the API's page shape
``{"data": [...], "pageToken": ...}`` or a bare JSON array. Everything that makes a file unreadable
is raised as :class:`InputError` naming the file and the line and column.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schoolsync.errors import InputError

_BOM = b"\xef\xbb\xbf"


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


@dataclass(frozen=True, slots=True)
class EndpointFile:
    """One file of an endpoint, read into memory (byte-order mark removed)."""

    path: Path
    display: str
    data: bytes
    paged: bool  # one page of the endpoint's folder of pages


def read_file(path: Path, display: str) -> bytes:
    """Read a file's bytes, without a leading byte-order mark.

    Raises:
        InputError: When the file cannot be opened or holds nothing.
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
    return data


def parse_json(data: bytes, display: str) -> Any:
    """Decode a file strictly as UTF-8 JSON.

    Raises:
        InputError: When it is not UTF-8 or not JSON, naming the line and column.
    """
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


def read_files(bundle: Path, endpoint: str) -> list[EndpointFile]:
    """Read every file of one endpoint into memory, in reading order."""
    out = []
    for path in endpoint_files(bundle, endpoint):
        display = str(path.relative_to(bundle)) if path.is_relative_to(bundle) else str(path)
        out.append(EndpointFile(path, display, read_file(path, display), path.parent != bundle))
    return out


def check_page_chain(endpoint: str, last: EndpointFile | None, token: Any) -> None:
    """Raise when the last page of a folder of pages says that more pages follow."""
    if last is not None and token not in (None, ""):
        raise InputError(
            f"is the last page of {endpoint}/ but its pageToken says more pages follow.",
            "The export is incomplete: fetch the remaining pages and run the sync again.",
            path=last.display,
        )


def records_of(value: Any, display: str) -> tuple[list[Any], Any]:
    """The records and page token of a decoded file (page shape or bare array).

    Raises:
        InputError: When the file has neither shape.
    """
    if isinstance(value, list):
        return value, None
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return value["data"], value.get("pageToken")
    raise InputError(
        'is neither a JSON array nor an SS 12000 page ({"data": [...], "pageToken": ...}).',
        "Export the endpoint again as a list.",
        path=display,
    )
