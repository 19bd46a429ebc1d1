"""Hostile and real-world Novaschem exports through the real command, on both databases (R8).

A row that cannot be read is reported as ``schedule-bad-row`` and keeps the lessons it gave
before; a head that cannot be read stops the run with a sentence that names the file; nothing is
ever an internal error, and what is stored fits on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builder import school
from tests.conftest import CliResult, invoke
from tests.schedule_builder import Lesson, Schedule

TODAY = "2025-10-15"
WEEKS = "34-43, 45-51, 2-8"  # 24 weeks, 15 of them after TODAY
GUID = "{00000000-0000-4000-8000-000000000002}"  # the builder's GUID of the second row


def _db(db_url: str) -> list[str]:
    return ["--db", db_url, "--today", TODAY]


def _sync(db_url: str, *sources: Path) -> CliResult:
    return invoke(*_db(db_url), "sync", "--json", *(str(s) for s in sources))


def _report(result: CliResult) -> dict[str, Any]:
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def _lessons(db_url: str) -> list[dict[str, Any]]:
    result = invoke(*_db(db_url), "export", "--json")
    assert result.code == 0, result.err
    lessons: list[dict[str, Any]] = json.loads(result.out)["lessons"]
    return lessons


def _bad_rows(report: dict[str, Any]) -> list[str]:
    return [i["message"] for i in report["issues"] if i["code"] == "schedule-bad-row"]


def _said(result: CliResult, *texts: str) -> bool:
    """Whether stderr holds each text (whitespace aside: the terminal wraps long lines)."""
    err = "".join(result.err.split())
    return all("".join(text.split()) in err for text in texts)


def _line_of(path: Path, needle: bytes) -> int:
    """The 1-based line of the file that holds ``needle``."""
    lines = path.read_bytes().split(b"\n")
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def _two_rows(**second: str) -> list[Lesson]:
    return [
        Lesson("Ma 7A", weeks=WEEKS),
        Lesson("Ma 7A", **{"day": "Tisdag", "weeks": WEEKS, **second}),
    ]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    b, _ = school()
    return b.write(tmp_path / "bundle")


def _synced(db_url: str, bundle: Path, path: Path, **schedule: Any) -> list[dict[str, Any]]:
    """Sync a good two-row export first; the lessons it gave."""
    first = Schedule(lessons=_two_rows(), **schedule).write(path)
    assert _report(_sync(db_url, bundle, first))["changes"]["lessons"]["created"] == 48
    return _lessons(db_url)


# --- item 1: a row that turns bad is not a row that is gone -------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"length": "9999"},
        {"day": "Mxndag"},
        {"start": "25:99"},
        {"weeks": "x-y"},
        {"period": "Sommar"},
        {"group": ""},
    ],
    ids=["length", "weekday", "start", "weeks", "period", "group"],
)
def test_r8_a_row_that_turns_bad_keeps_its_future_lessons_until_it_is_really_gone(
    db_url: str, bundle: Path, tmp_path: Path, change: dict[str, str]
) -> None:
    before = _synced(db_url, bundle, tmp_path / "schema.txt")
    rows = _two_rows()
    for key, value in change.items():
        setattr(rows[1], key, value)
    bad = Schedule(lessons=rows).write(tmp_path / "schema.txt")
    report = _report(_sync(db_url, bundle, bad))
    assert report["changes"]["lessons"]["removed"] == 0
    assert _lessons(db_url) == before
    (message,) = _bad_rows(report)
    assert f"line {_line_of(bad, GUID.encode())} " in message and "kept" in message
    gone = Schedule(lessons=rows[:1]).write(tmp_path / "schema.txt")
    assert _report(_sync(db_url, bundle, gone))["changes"]["lessons"]["removed"] == 15


def test_r8_a_bad_row_whose_guid_holds_a_bar_still_keeps_its_lessons(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    rows = _two_rows(guid="{A|B}")
    Schedule(lessons=rows).write(tmp_path / "schema.txt")
    assert (
        _report(_sync(db_url, bundle, tmp_path / "schema.txt"))["changes"]["lessons"]["created"]
        == 48
    )
    before = _lessons(db_url)
    rows[1].length = "9999"
    bad = Schedule(lessons=rows).write(tmp_path / "schema.txt")
    assert _report(_sync(db_url, bundle, bad))["changes"]["lessons"]["removed"] == 0
    assert _lessons(db_url) == before


# --- item 2: one stray byte does not decide a file's encoding -----------------------------------


def test_a_utf8_export_with_one_stray_cp1252_byte_is_read_as_utf8_and_keeps_that_rows_lessons(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "schema.txt"
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    Schedule(lessons=rows).write(path, "utf-8")
    assert _report(_sync(db_url, bundle, path))["changes"]["lessons"]["created"] == 96
    before = _lessons(db_url)
    data = path.read_bytes()
    stray = f"{GUID}\tM".encode() + "å".encode()
    path.write_bytes(data.replace(stray, f"{GUID}\tM".encode() + b"\xe5"))
    report = _report(_sync(db_url, bundle, path))
    assert report["changes"]["lessons"]["removed"] == 0
    assert _lessons(db_url) == before
    assert report["sources"][1]["encoding"] == "utf-8 (1 line not UTF-8)"
    (message,) = _bad_rows(report)
    assert f"line {_line_of(path, GUID.encode())} " in message and "not valid UTF-8" in message


def test_a_cp1252_export_is_still_cp1252_and_a_utf8_line_in_it_is_skipped_not_guessed(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "schema.txt"
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    Schedule(lessons=rows).write(path)  # cp1252, CRLF
    report = _report(_sync(db_url, bundle, path))
    assert report["sources"][1]["encoding"] == "cp1252" and not _bad_rows(report)
    before = _lessons(db_url)
    stray = f"{GUID}\tM".encode() + "å".encode("cp1252")
    path.write_bytes(path.read_bytes().replace(stray, f"{GUID}\tM".encode() + "å".encode()))
    report = _report(_sync(db_url, bundle, path))
    assert _lessons(db_url) == before
    assert report["sources"][1]["encoding"] == "cp1252 (1 line in UTF-8)"
    (message,) = _bad_rows(report)
    assert f"line {_line_of(path, GUID.encode())} " in message


def test_a_stray_byte_in_the_school_id_stops_the_run_with_a_sentence(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    path = Schedule(lessons=rows).write(tmp_path / "schema.txt", "utf-8")
    path.write_bytes(path.read_bytes().replace(b"SchoolID=99990101", b"SchoolID=9999\xe40101"))
    result = _sync(db_url, bundle, path)
    assert result.code == 1 and "Internal error" not in result.err
    assert _said(result, f"schema.txt, line {_line_of(path, b'SchoolID=')}", "SchoolID")


# --- item 3: a complete file needs no blank line at its end -------------------------------------


@pytest.mark.parametrize("ending", [b"\r\n", b""], ids=["line-break", "no-line-break"])
def test_an_export_that_ends_with_its_last_row_is_complete(
    db_url: str, bundle: Path, tmp_path: Path, ending: bytes
) -> None:
    path = Schedule(lessons=_two_rows()).write(tmp_path / "schema.txt")
    path.write_bytes(path.read_bytes().rstrip(b"\r\n") + ending)
    report = _report(_sync(db_url, bundle, path))
    if ending:
        assert report["changes"]["lessons"]["created"] == 48 and not _bad_rows(report)
    else:  # the last row may have lost the end of its last cell: skipped, not guessed
        assert report["changes"]["lessons"]["created"] == 24
        (message,) = _bad_rows(report)
        assert "no line break after it" in message


def test_an_export_cut_inside_the_last_cell_of_its_last_row_removes_nothing(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    before = _synced(db_url, bundle, tmp_path / "schema.txt")
    path = tmp_path / "schema.txt"
    data = path.read_bytes().rstrip(b"\r\n")
    path.write_bytes(data[: data.rindex(b"45-51")] + b"4")  # ActualWeeks now reads '34-43, 4'
    report = _report(_sync(db_url, bundle, path))
    assert report["changes"]["lessons"]["removed"] == 0 and len(_bad_rows(report)) == 1
    assert _lessons(db_url) == before


@pytest.mark.parametrize(
    "tail",
    [
        "Lesson (7100)",
        "Lesson (7100)\r\n",
        "Lesson (7100)\r\n[Rows]\r\n",
        "Lesson (71",
        "Lesson (7100)\r\n[Rows]\r\nPK (7100)\tGUID (58",
    ],
    ids=["title", "title-line", "rows-line", "half-title", "half-header"],
)
def test_an_export_cut_in_a_table_head_fails_and_says_it_was_cut_off(
    db_url: str, bundle: Path, tmp_path: Path, tail: str
) -> None:
    path = Schedule(lessons=_two_rows()).write(tmp_path / "schema.txt")
    text = path.read_bytes().decode("cp1252")
    path.write_bytes(text[: text.index("Lesson (7100)")].encode("cp1252") + tail.encode())
    result = _sync(db_url, bundle, path)
    assert result.code == 1 and _said(result, "schema.txt, line", "cut off")


# --- item 4: numbers Python reads but the format does not ---------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"length": "4²"},
        {"length": "5" * 5000},
        {"length": "٤٥"},
        {"start": "٨:10"},
        {"start": "8:" + "1" * 5000},
        {"weeks": "35-" + "4" * 4300},
        {"weeks": "٣٥"},
        {"period": "Ht"},
    ],
    ids=[
        "superscript",
        "5000-digits",
        "arabic-length",
        "arabic-start",
        "huge-start",
        "huge-weeks",
        "arabic-weeks",
        "arabic-calendar",
    ],
)
def test_r8_a_number_that_is_not_plain_ascii_digits_is_a_bad_row_not_an_internal_error(
    db_url: str, bundle: Path, tmp_path: Path, change: dict[str, str]
) -> None:
    periods = {"Ht": "18/8-1٩/12"}  # only the last case uses a period
    path = Schedule(lessons=_two_rows(**change), periods=periods).write(
        tmp_path / "schema.txt", "utf-8"
    )
    report = _report(_sync(db_url, bundle, path))
    (message,) = _bad_rows(report)
    assert f"line {_line_of(path, GUID.encode())} " in message and len(message) < 600
    assert len(_lessons(db_url)) == 24


@pytest.mark.parametrize(
    ("base", "offset", "shown"),
    [
        ("9968", "31", "9999"),
        ("-3000", "31", "'-3000'"),
        ("1" * 5000, "31", "'1111"),
        ("١٩٩٤", "31", "'١٩٩٤'"),
        ("1994", "200", "2194"),
        ("1900", "0", "1900"),
    ],
    ids=["year-9999", "negative", "5000-digits", "arabic", "2194", "1900"],
)
def test_a_school_year_outside_1990_to_2150_stops_the_run_with_a_sentence_naming_the_value(
    db_url: str, bundle: Path, tmp_path: Path, base: str, offset: str, shown: str
) -> None:
    path = Schedule(lessons=_two_rows()).write(tmp_path / "schema.txt", "utf-8")
    text = path.read_text(encoding="utf-8")
    text = text.replace("BaseYear=1994", f"BaseYear={base}").replace(
        "OffsetYear=31", f"OffsetYear={offset}"
    )
    path.write_text(text, encoding="utf-8", newline="")
    result = _sync(db_url, bundle, path)
    assert result.code == 1 and "Internal error" not in result.err
    assert _said(result, f"schema.txt, line {_line_of(path, b'BaseYear=')}", shown)
    assert len(result.err) < 1500


def test_a_table_id_of_thousands_of_digits_stops_the_run_with_a_sentence(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    path = Schedule(lessons=_two_rows()).write(tmp_path / "schema.txt")
    path.write_bytes(path.read_bytes().replace(b"Period (8000)", b"Period (" + b"8" * 5000 + b")"))
    result = _sync(db_url, bundle, path)
    assert result.code == 1 and _said(result, "schema.txt, line", "table title")
    assert "Internal error" not in result.err


# --- item 5: what fits one database fits the other ----------------------------------------------


def test_r8_a_guid_too_long_to_store_is_a_bad_row_on_every_database(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    path = Schedule(lessons=_two_rows(guid="{" + "A" * 448 + "}")).write(tmp_path / "s.txt")
    report = _report(_sync(db_url, bundle, path))
    (message,) = _bad_rows(report)
    assert "GUID of 450 characters" in message
    assert len(_lessons(db_url)) == 24


@pytest.mark.parametrize("key", ["SchoolID", "School"])
def test_a_school_id_or_name_too_long_to_name_the_schedule_stops_the_run(
    db_url: str, bundle: Path, tmp_path: Path, key: str
) -> None:
    long = "Skola" * 40
    schedule = Schedule(lessons=_two_rows(), school_id="" if key == "School" else long)
    if key == "School":
        schedule.school = long
    path = schedule.write(tmp_path / "schema.txt")
    result = _sync(db_url, bundle, path)
    assert result.code == 1 and "Internal error" not in result.err
    line = _line_of(path, f"{key}=".encode())
    assert _said(result, f"schema.txt, line {line}", f"{key} of 200 characters")


def test_a_long_file_name_without_school_id_or_name_is_shortened_to_name_the_schedule(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    schedule = Schedule(lessons=_two_rows(), school_id="", school="")
    path = schedule.write(tmp_path / ("schema-" + "x" * 150 + ".txt"))
    report = _report(_sync(db_url, bundle, path))
    assert report["sources"][1]["source"] == "novaschem:" + path.stem[:110]
    assert report["changes"]["lessons"]["created"] == 48
