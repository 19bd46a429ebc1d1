"""Hostile Novaschem exports through the real command, on both databases (R8).

The reading rules are tested at the plan level (``tests/plan/test_schedule_hostile.py``). These
keep what needs the database: a row that turns bad keeps the lessons the directory stored from
it, and what is stored fits SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builder import school
from tests.conftest import CliResult, invoke
from tests.rules import messages
from tests.schedule_builder import SECOND_GUID, Schedule, line_of, two_rows

TODAY = "2025-10-15"


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
    return messages(report, "schedule-bad-row")


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    b, _ = school()
    return b.write(tmp_path / "bundle")


def _synced(db_url: str, bundle: Path, path: Path, **schedule: Any) -> list[dict[str, Any]]:
    """Sync a good two-row export first; the lessons it gave."""
    first = Schedule(lessons=two_rows(), **schedule).write(path)
    assert _report(_sync(db_url, bundle, first))["changes"]["lessons"]["created"] == 48
    return _lessons(db_url)


# --- a row that turns bad is not a row that is gone ---------------------------------------------


def test_r8_a_row_that_turns_bad_keeps_its_future_lessons_until_it_is_really_gone(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    """Every way of turning bad is tested at the plan level; the stored lessons are kept here."""
    before = _synced(db_url, bundle, tmp_path / "schema.txt")
    rows = two_rows()
    rows[1].length = "9999"
    bad = Schedule(lessons=rows).write(tmp_path / "schema.txt")
    report = _report(_sync(db_url, bundle, bad))
    assert report["changes"]["lessons"]["removed"] == 0
    assert _lessons(db_url) == before
    (message,) = _bad_rows(report)
    assert f"line {line_of(bad, SECOND_GUID.encode())} " in message and "kept" in message
    gone = Schedule(lessons=rows[:1]).write(tmp_path / "schema.txt")
    assert _report(_sync(db_url, bundle, gone))["changes"]["lessons"]["removed"] == 15


# --- what fits one database fits the other ------------------------------------------------------


def test_r8_a_guid_too_long_to_store_is_a_bad_row_on_every_database(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    path = Schedule(lessons=two_rows(guid="{" + "A" * 448 + "}")).write(tmp_path / "s.txt")
    report = _report(_sync(db_url, bundle, path))
    (message,) = _bad_rows(report)
    assert "GUID of 450 characters" in message
    assert len(_lessons(db_url)) == 24


def test_a_long_file_name_without_school_id_or_name_is_shortened_to_name_the_schedule(
    db_url: str, bundle: Path, tmp_path: Path
) -> None:
    schedule = Schedule(lessons=two_rows(), school_id="", school="")
    path = schedule.write(tmp_path / ("schema-" + "x" * 150 + ".txt"))
    report = _report(_sync(db_url, bundle, path))
    assert report["sources"][1]["source"] == "novaschem:" + path.stem[:110]
    assert report["changes"]["lessons"]["created"] == 48
