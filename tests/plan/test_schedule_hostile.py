"""Hostile and real-world Novaschem exports at the plan level (R8).

A row that cannot be read is reported as ``schedule-bad-row`` and keeps the lessons it gave
before; a head that cannot be read stops the run with a sentence that names the file; nothing is
ever an internal error (:meth:`~tests.plan.harness.PlanDirectory.stopped` fails on anything but a
``SchoolsyncError``). ``tests/integration/test_schedule_hostile.py`` keeps, on SQLite and
PostgreSQL, a bad row keeping its stored lessons and what must fit both databases.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.builder import school
from tests.plan.harness import PlanDirectory
from tests.rules import messages
from tests.schedule_builder import SECOND_GUID, WEEKS, Lesson, Schedule, line_of, two_rows


def _sync(directory: PlanDirectory, *sources: Path) -> dict[str, Any]:
    """One run; its report as ``sync --json`` prints it."""
    return directory.sync(*sources).as_report()


def _lessons(directory: PlanDirectory) -> list[dict[str, Any]]:
    lessons: list[dict[str, Any]] = directory.export()["lessons"]
    return lessons


def _bad_rows(report: dict[str, Any]) -> list[str]:
    return messages(report, "schedule-bad-row")


def _said(err: str, *texts: str) -> bool:
    """Whether what the CLI would print holds each text."""
    return all(text in err for text in texts)


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    b, _ = school()
    return b.write(tmp_path / "bundle")


def _synced(
    directory: PlanDirectory, bundle: Path, path: Path, **schedule: Any
) -> list[dict[str, Any]]:
    """Sync a good two-row export first; the lessons it gave."""
    first = Schedule(lessons=two_rows(), **schedule).write(path)
    assert _sync(directory, bundle, first)["changes"]["lessons"]["created"] == 48
    return _lessons(directory)


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
    directory: PlanDirectory, bundle: Path, tmp_path: Path, change: dict[str, str]
) -> None:
    before = _synced(directory, bundle, tmp_path / "schema.txt")
    rows = two_rows()
    for key, value in change.items():
        setattr(rows[1], key, value)
    bad = Schedule(lessons=rows).write(tmp_path / "schema.txt")
    report = _sync(directory, bundle, bad)
    assert report["changes"]["lessons"]["removed"] == 0
    assert _lessons(directory) == before
    (message,) = _bad_rows(report)
    assert f"line {line_of(bad, SECOND_GUID.encode())} " in message and "kept" in message
    gone = Schedule(lessons=rows[:1]).write(tmp_path / "schema.txt")
    assert _sync(directory, bundle, gone)["changes"]["lessons"]["removed"] == 15


def test_r8_a_bad_row_whose_guid_holds_a_bar_still_keeps_its_lessons(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    rows = two_rows(guid="{A|B}")
    Schedule(lessons=rows).write(tmp_path / "schema.txt")
    assert _sync(directory, bundle, tmp_path / "schema.txt")["changes"]["lessons"]["created"] == 48
    before = _lessons(directory)
    rows[1].length = "9999"
    bad = Schedule(lessons=rows).write(tmp_path / "schema.txt")
    assert _sync(directory, bundle, bad)["changes"]["lessons"]["removed"] == 0
    assert _lessons(directory) == before


# --- item 2: one stray byte does not decide a file's encoding -----------------------------------


def test_a_utf8_export_with_one_stray_cp1252_byte_is_read_as_utf8_and_keeps_that_rows_lessons(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "schema.txt"
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    Schedule(lessons=rows).write(path, "utf-8")
    assert _sync(directory, bundle, path)["changes"]["lessons"]["created"] == 96
    before = _lessons(directory)
    data = path.read_bytes()
    stray = f"{SECOND_GUID}\tM".encode() + "å".encode()
    path.write_bytes(data.replace(stray, f"{SECOND_GUID}\tM".encode() + b"\xe5"))
    report = _sync(directory, bundle, path)
    assert report["changes"]["lessons"]["removed"] == 0
    assert _lessons(directory) == before
    assert report["sources"][1]["encoding"] == "utf-8 (1 line not UTF-8)"
    (message,) = _bad_rows(report)
    assert (
        f"line {line_of(path, SECOND_GUID.encode())} " in message and "not valid UTF-8" in message
    )


def test_a_cp1252_export_is_still_cp1252_and_a_utf8_line_in_it_is_skipped_not_guessed(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    path = tmp_path / "schema.txt"
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    Schedule(lessons=rows).write(path)  # cp1252, CRLF
    report = _sync(directory, bundle, path)
    assert report["sources"][1]["encoding"] == "cp1252" and not _bad_rows(report)
    before = _lessons(directory)
    stray = f"{SECOND_GUID}\tM".encode() + "å".encode("cp1252")
    path.write_bytes(path.read_bytes().replace(stray, f"{SECOND_GUID}\tM".encode() + "å".encode()))
    report = _sync(directory, bundle, path)
    assert _lessons(directory) == before
    assert report["sources"][1]["encoding"] == "cp1252 (1 line in UTF-8)"
    (message,) = _bad_rows(report)
    assert f"line {line_of(path, SECOND_GUID.encode())} " in message


def test_a_stray_byte_in_the_school_id_stops_the_run_with_a_sentence(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    rows = [Lesson("Ma 7A", weeks=WEEKS, start=f"{8 + n}:10") for n in range(4)]
    path = Schedule(lessons=rows).write(tmp_path / "schema.txt", "utf-8")
    path.write_bytes(path.read_bytes().replace(b"SchoolID=99990101", b"SchoolID=9999\xe40101"))
    err = directory.stopped(bundle, path)
    assert _said(err, f"schema.txt, line {line_of(path, b'SchoolID=')}", "SchoolID")


# --- item 3: a complete file needs no blank line at its end -------------------------------------


@pytest.mark.parametrize("ending", [b"\r\n", b""], ids=["line-break", "no-line-break"])
def test_an_export_that_ends_with_its_last_row_is_complete(
    directory: PlanDirectory, bundle: Path, tmp_path: Path, ending: bytes
) -> None:
    path = Schedule(lessons=two_rows()).write(tmp_path / "schema.txt")
    path.write_bytes(path.read_bytes().rstrip(b"\r\n") + ending)
    report = _sync(directory, bundle, path)
    if ending:
        assert report["changes"]["lessons"]["created"] == 48 and not _bad_rows(report)
    else:  # the last row may have lost the end of its last cell: skipped, not guessed
        assert report["changes"]["lessons"]["created"] == 24
        (message,) = _bad_rows(report)
        assert "no line break after it" in message


def test_an_export_cut_inside_the_last_cell_of_its_last_row_removes_nothing(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    before = _synced(directory, bundle, tmp_path / "schema.txt")
    path = tmp_path / "schema.txt"
    data = path.read_bytes().rstrip(b"\r\n")
    path.write_bytes(data[: data.rindex(b"45-51")] + b"4")  # ActualWeeks now reads '34-43, 4'
    report = _sync(directory, bundle, path)
    assert report["changes"]["lessons"]["removed"] == 0 and len(_bad_rows(report)) == 1
    assert _lessons(directory) == before


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
    directory: PlanDirectory, bundle: Path, tmp_path: Path, tail: str
) -> None:
    path = Schedule(lessons=two_rows()).write(tmp_path / "schema.txt")
    text = path.read_bytes().decode("cp1252")
    path.write_bytes(text[: text.index("Lesson (7100)")].encode("cp1252") + tail.encode())
    err = directory.stopped(bundle, path)
    assert _said(err, "schema.txt, line", "cut off")


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
    directory: PlanDirectory, bundle: Path, tmp_path: Path, change: dict[str, str]
) -> None:
    periods = {"Ht": "18/8-1٩/12"}  # only the last case uses a period
    path = Schedule(lessons=two_rows(**change), periods=periods).write(
        tmp_path / "schema.txt", "utf-8"
    )
    report = _sync(directory, bundle, path)
    (message,) = _bad_rows(report)
    assert f"line {line_of(path, SECOND_GUID.encode())} " in message and len(message) < 600
    assert len(_lessons(directory)) == 24


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
    directory: PlanDirectory, bundle: Path, tmp_path: Path, base: str, offset: str, shown: str
) -> None:
    path = Schedule(lessons=two_rows()).write(tmp_path / "schema.txt", "utf-8")
    text = path.read_text(encoding="utf-8")
    text = text.replace("BaseYear=1994", f"BaseYear={base}").replace(
        "OffsetYear=31", f"OffsetYear={offset}"
    )
    path.write_text(text, encoding="utf-8", newline="")
    err = directory.stopped(bundle, path)
    assert _said(err, f"schema.txt, line {line_of(path, b'BaseYear=')}", shown)
    assert len(err) < 1500


def test_a_table_id_of_thousands_of_digits_stops_the_run_with_a_sentence(
    directory: PlanDirectory, bundle: Path, tmp_path: Path
) -> None:
    path = Schedule(lessons=two_rows()).write(tmp_path / "schema.txt")
    path.write_bytes(path.read_bytes().replace(b"Period (8000)", b"Period (" + b"8" * 5000 + b")"))
    err = directory.stopped(bundle, path)
    assert _said(err, "schema.txt, line", "table title")


# --- item 5: what fits the directory -------------------------------------------------------------


@pytest.mark.parametrize("key", ["SchoolID", "School"])
def test_a_school_id_or_name_too_long_to_name_the_schedule_stops_the_run(
    directory: PlanDirectory, bundle: Path, tmp_path: Path, key: str
) -> None:
    long = "Skola" * 40
    schedule = Schedule(lessons=two_rows(), school_id="" if key == "School" else long)
    if key == "School":
        schedule.school = long
    path = schedule.write(tmp_path / "schema.txt")
    err = directory.stopped(bundle, path)
    line = line_of(path, f"{key}=".encode())
    assert _said(err, f"schema.txt, line {line}", f"{key} of 200 characters")
