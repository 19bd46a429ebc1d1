"""Unreadable is never absent (R3.1, R10), end to end on SQLite and PostgreSQL.

Every way a file cannot be read, and every kind of data that can go missing, is tested at the
plan level (``tests/plan/test_unreadable_files.py``). These keep, through the CLI (in-process):
a bundle file that is no regular file stops the run (exit 1) and leaves the stored directory as
it was; a held run applied on purpose is what the next run compares with (the counts the run
history keeps); a generated name too long for the tables is reported, not a database error.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.builder import Bundle, school
from tests.conftest import invoke

TODAY = "2025-10-15"


def sync(db_url: str, *sources: Path, extra: tuple[str, ...] = ()) -> Any:
    """``schoolsync sync``; ``extra`` options go before the command (``--json`` after it)."""
    after = [x for x in extra if x == "--json"]
    before = [x for x in extra if x != "--json"]
    return invoke("--db", db_url, "--today", TODAY, *before, "sync", *after, *map(str, sources))


def export(db_url: str) -> dict[str, Any]:
    result = invoke("--db", db_url, "--today", TODAY, "export", "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def synced_school(db_url: str, tmp_path: Path) -> tuple[Bundle, dict[str, str], dict[str, Any]]:
    """The small school synced once; returns the bundle, its ids and the export after it."""
    b, ids = school()
    first = sync(db_url, b.write(tmp_path / "first"))
    assert first.code == 0, first.err
    return b, ids, export(db_url)


def test_r3_1_a_bundle_file_that_is_not_a_regular_file_stops_the_run_naming_it(
    db_url: str, tmp_path: Path
) -> None:
    """Every kind of file and every endpoint is tested at the plan level; a FIFO here."""
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    target = bundle / "persons.json"
    target.unlink()
    os.mkfifo(target)
    started = time.monotonic()
    result = sync(db_url, bundle)
    assert time.monotonic() - started < 30  # a FIFO is never read
    assert result.code == 1, result.out
    assert "persons.json" in result.err and "named pipe" in result.err
    assert "Internal error" not in result.err and "Traceback" not in result.err
    assert export(db_url) == before


def test_r10_an_approved_run_without_duties_is_the_new_normal(db_url: str, tmp_path: Path) -> None:
    """Once a held run is applied on purpose, the next run compares with what it read."""
    b, _, _ = synced_school(db_url, tmp_path)
    b.duties = []
    bundle = b.write(tmp_path / "second")
    (bundle / "duties.json").unlink()
    applied = sync(db_url, bundle, extra=())
    assert applied.code == 3
    forced = invoke("--db", db_url, "--today", TODAY, "sync", "--allow-mass-changes", str(bundle))
    assert forced.code == 0, forced.err
    again = sync(db_url, bundle)
    assert again.code == 0, again.out


def test_r6_5_a_generated_group_name_too_long_for_the_directory_is_reported_not_a_crash(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    long_class = b.group("K" * 298, ids["unit"], "Klass", [ids["elsa"]], key="long-class")
    sv = b.syllabus("GRGRSVE01", "SV", name="Svenska")
    b.activity("Svenska", ids["unit"], [long_class], sv, [ids["karin_duty"]])
    result = sync(db_url, b.write(tmp_path / "a"), extra=("--json",))
    assert result.code == 0, result.err
    bad = [i for i in json.loads(result.out)["issues"] if i["code"] == "invalid-record"]
    assert len(bad) == 1 and "more than the 300" in bad[0]["message"]
    assert any(c["name"] == "K" * 298 for c in export(db_url)["classes"])
