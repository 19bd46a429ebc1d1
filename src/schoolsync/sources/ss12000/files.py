"""Finding and reading the JSON files of an SS 12000 bundle directory.

A bundle holds one file per list endpoint (``persons.json``) and/or a folder of pages
(``persons/*.json``, read in natural name order). A file is either the API's page shape
``{"data": [...], "pageToken": ...}`` or a bare JSON array. Everything that makes a file unreadable
is raised as :class:`InputError` naming the file and the line and column.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schoolsync.errors import InputError

_BOM = b"\xef\xbb\xbf"


DEFAULT_MAX_FILE_BYTES = 4 * 1024**3  # 4 GiB; raised with [sources] max_file_mb


def _natural_key(path: Path) -> list[object]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def exists_somehow(path: Path) -> bool:
    """True when anything is at ``path``: a file, a folder, a FIFO, a device or a symlink
    (even one that points nowhere)."""
    try:
        path.lstat()
    except OSError:
        return False
    return True


def not_a_file(path: Path) -> str | None:
    """What is at ``path`` if it is not a regular file (after following symlinks), else None."""
    try:
        info = path.stat()
    except OSError as exc:
        if path.is_symlink():
            if exc.errno == errno.ELOOP:
                return "a symbolic link that loops"
            return "a symbolic link to something that does not exist"
        return f"something that cannot be opened ({exc.strerror or exc})"
    if stat.S_ISREG(info.st_mode):
        return None
    if stat.S_ISDIR(info.st_mode):
        return "a folder"
    if stat.S_ISFIFO(info.st_mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode):
        return "a device"
    if stat.S_ISSOCK(info.st_mode):
        return "a socket"
    return "not a regular file"


def endpoint_files(bundle: Path, endpoint: str) -> list[Path]:
    """The files that hold one endpoint's data, in reading order.

    Anything at ``{endpoint}.json`` counts, whatever it is: a folder, a FIFO or a dangling symlink
    there is an unreadable file (reported by :func:`read_file`), never an absent one.

    Args:
        bundle: The bundle directory.
        endpoint: An endpoint name such as ``persons``.

    Returns:
        ``{endpoint}.json`` if present, then ``{endpoint}/*.json`` in natural name order.
    """
    files: list[Path] = []
    single = bundle / f"{endpoint}.json"
    if exists_somehow(single):
        files.append(single)
    folder = bundle / endpoint
    if folder.is_dir():
        files.extend(sorted(folder.glob("*.json"), key=_natural_key))
    elif exists_somehow(folder):
        files.append(folder)  # a file, a FIFO or a dangling symlink where pages belong
    return files


def _line_col(text: bytes, pos: int) -> tuple[int, int]:
    line = text.count(b"\n", 0, pos) + 1
    col = pos - (text.rfind(b"\n", 0, pos) + 1) + 1
    return line, col


@dataclass(frozen=True, slots=True)
class BundleFile:
    """One file of an endpoint, found and checked readable; read again when it is parsed, so
    that only one file of a bundle is in memory at a time."""

    path: Path
    display: str
    paged: bool  # one page of the endpoint's folder of pages

    def read(self, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
        """The file's bytes, without a byte-order mark (see :func:`read_file`)."""
        return read_file(self.path, self.display, max_bytes)


def check_file(path: Path, display: str, max_bytes: int, hint: str) -> None:
    """Refuse a source that is not a regular file (a FIFO or a device would hang or never end)
    or is larger than ``max_bytes``.

    Args:
        path: The file.
        display: How messages name it.
        max_bytes: The largest file read (``[sources] max_file_mb``).
        hint: What to do when it is not a file.

    Raises:
        InputError: When it is not a regular file or is too large.
    """
    what = not_a_file(path)
    if what is not None:
        raise InputError(f"is {what}, not a file, so it cannot be read.", hint, path=display)
    if path.stat().st_size > max_bytes:
        raise _too_large(display, max_bytes)


def _too_large(display: str, max_bytes: int) -> InputError:
    return InputError(
        f"is larger than {max_bytes // 1024**2} MB, the most schoolsync reads from one file.",
        "If the file is right, raise [sources] max_file_mb in the settings.",
        path=display,
    )


def read_file(path: Path, display: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """Read a regular file's bytes, without a leading byte-order mark.

    Only regular files are read (a FIFO or a device would hang or never end), and only up to
    ``max_bytes``.

    Raises:
        InputError: When the file is not a regular file, cannot be opened, is larger than the
            limit or holds nothing.
    """
    check_file(
        path,
        display,
        max_bytes,
        "Put the endpoint's JSON file there (or remove it if the register has no such data), "
        "and run the sync again; nothing was changed.",
    )
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            # Read what the file holds, never a buffer of the limit's size.
            data = fh.read(size + 1) if size <= max_bytes else b""
            too_big = size > max_bytes
    except OSError as exc:
        raise InputError(
            f"cannot be read ({exc.strerror or exc}).",
            "Check that the file exists and that schoolsync may read it.",
            path=display,
        ) from exc
    if too_big:  # it grew past the limit since it was checked
        raise _too_large(display, max_bytes)
    if len(data) > size:
        raise InputError(
            "grew while it was read: it is still being written.",
            "Let the export finish, then run the sync again; nothing was changed.",
            path=display,
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if not data or data.isspace():  # only whitespace (as bytes.strip() sees it), without a copy
        raise InputError(
            "is empty, so it holds no records at all.",
            "An export that stopped half-way looks like this: export it again. If the register "
            "really has no such records, write [] in the file.",
            path=display,
        )
    return data


_MAX_INT_DIGITS = 100


class HugeNumber(str):
    """A JSON integer too long to be any SS 12000 value; kept as text so it cannot crash."""

    __slots__ = ()


def _parse_int(text: str) -> int | str:
    return int(text) if len(text) <= _MAX_INT_DIGITS else HugeNumber(text)


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
        return json.loads(text, parse_int=_parse_int)
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


def find_files(
    bundle: Path, endpoint: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> list[BundleFile]:
    """Every file of one endpoint, in reading order, each read once to check that it can be
    (and dropped again).

    Raises:
        InputError: As :func:`read_file` does, for the first file that cannot be read.
    """
    out = []
    for path in endpoint_files(bundle, endpoint):
        display = str(path.relative_to(bundle)) if path.is_relative_to(bundle) else str(path)
        read_file(path, display, max_bytes)
        out.append(BundleFile(path, display, path.parent != bundle))
    return out


def _page_gap(pages: list[BundleFile]) -> tuple[BundleFile | None, str, BundleFile] | None:
    """A gap in numbered page files, as (page before it or None, the missing pages, page after).

    Only files named in one pattern with exactly one number (``page1``, ``page-002``,
    ``persons-100``) are judged. Numbers from 1 count pages; from 0 the step is the smallest
    difference, so pages numbered by offset (0, 100, 200) work too. Names of any other kind
    (dates, hashes, ``page1of3``) are left to the page tokens.
    """
    if len(pages) < 2:
        return None
    if len({re.sub(r"[0-9]+", "#", f.path.stem) for f in pages}) != 1:
        return None
    found = [re.findall(r"[0-9]+", f.path.stem) for f in pages]
    if any(len(x) != 1 for x in found):
        return None
    numbers = [int(x[0]) for x in found]
    diffs = [b - a for a, b in itertools.pairwise(numbers)]
    step = 1 if numbers[0] == 1 else min(diffs)  # counted from 1: pages; from 0: maybe offsets
    if step <= 0 or any(d % step for d in diffs):
        return None
    if step == 1 and numbers[0] > 1:
        first = "page 1" if numbers[0] == 2 else f"pages 1–{numbers[0] - 1}"
        return None, first, pages[0]
    for n, (d, (before, after)) in enumerate(zip(diffs, itertools.pairwise(pages), strict=True)):
        if d == step:
            continue
        missing = [numbers[n] + step * k for k in range(1, d // step)]
        what = f"page {missing[0]}" if len(missing) == 1 else f"pages {missing[0]}–{missing[-1]}"
        return before, what, after
    return None


def check_page_chain(endpoint: str, pages: list[tuple[BundleFile, Any]]) -> None:
    """Check every link of an endpoint's chain of pages; raise when a page is missing.

    A read is complete when every page but the last says more follow (a ``pageToken``), the last
    says none do, and numbered page files (``page1.json``, ``page2.json``, ...) have no gap. A
    single ``{endpoint}.json`` whose ``pageToken`` is set is the first page of an unfinished read.

    Args:
        endpoint: The endpoint's name.
        pages: The endpoint's files in reading order, each with its page token (None for a bare
            array).

    Raises:
        InputError: When the chain is cut anywhere.
    """
    if not pages:
        return
    fix = "The export is incomplete: fetch every page and run the sync again; nothing changed."
    for (page, token), (after, _) in itertools.pairwise(pages):
        if token in (None, "") and page.paged and after.paged:
            raise InputError(
                f"says it is the last page of {endpoint}/ (no pageToken), but {after.display} "
                f"comes after it.",
                "Pages from two different exports may be mixed: " + fix,
                path=page.display,
            )
    gap = _page_gap([f for f, _ in pages if f.paged])
    if gap is not None:
        before, missing, after = gap
        verb = "is" if missing.startswith("page ") else "are"
        if before is None:
            raise InputError(
                f"is the first page file of {endpoint}/, but its number says {missing} "
                f"{verb} missing before it.",
                fix,
                path=after.display,
            )
        raise InputError(
            f"says more pages of {endpoint}/ follow, but the next file is {after.display}: "
            f"{missing} {verb} missing.",
            fix,
            path=before.display,
        )
    last, token = pages[-1]
    if token not in (None, ""):
        where = f"the last page of {endpoint}/" if last.paged else "a single page"
        raise InputError(
            f"is {where} but its pageToken says more pages follow.",
            fix,
            path=last.display,
        )


def records_of(value: Any, display: str, endpoint: str = "") -> tuple[list[Any], Any, str]:
    """The records and page token of a decoded file, and how its shape departs from the standard.

    The standard shapes are the page (``{"data": [...], "pageToken": ...}``) and a bare array.
    Taken too, as real producers write them: the list under the endpoint's own name
    (``{"persons": [...]}``) and one record on its own (an object with an ``id``).

    Returns:
        (records, page token, "" or a phrase saying which other shape was taken).

    Raises:
        InputError: When the file has none of these shapes.
    """
    if isinstance(value, list):
        return value, None, ""
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        return value["data"], value.get("pageToken"), ""
    wrapped = isinstance(value, dict) and bool(endpoint) and set(value) <= {endpoint, "pageToken"}
    if wrapped and isinstance(value.get(endpoint), list):
        return value[endpoint], value.get("pageToken"), f'a list under "{endpoint}"'
    if isinstance(value, dict) and isinstance(value.get("id"), str) and "data" not in value:
        return [value], None, "one record on its own"
    raise InputError(
        'is neither a JSON array nor an SS 12000 page ({"data": [...], "pageToken": ...}).',
        "Export the endpoint again as a list.",
        path=display,
    )
