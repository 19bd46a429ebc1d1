"""SS 12000 data as real producers write it, end to end on SQLite and PostgreSQL.

The rules (what is taken, reported and dropped) are tested at the plan level, every sample
included (``tests/plan/test_field_data.py``). These keep what needs the database: dates outside
what the directory stores, and real samples through the CLI, stored and synced again as a no-op.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builder import school
from tests.conftest import TODAY, invoke
from tests.samples import sample_bundles

# --- dates outside what the directory stores ----------------------------------------------------


def test_r1_1_a_date_outside_1900_to_2200_makes_the_record_unreadable_and_export_still_works(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    b.find_group(ids["7A"])["startDate"] = "0001-01-01"
    b.get(ids["omar"])["enrolments"][0]["endDate"] = "2201-01-01"
    folder = b.write(tmp_path / "a")
    db = ("--db", db_url, "--today", TODAY.isoformat())
    synced = invoke(*db, "sync", "--json", str(folder))
    assert synced.code == 0, synced.err
    bad = [i for i in json.loads(synced.out)["issues"] if i["code"] == "invalid-record"]
    assert len(bad) == 2
    assert any("field startDate" in i["message"] and "1900-01-01" in i["message"] for i in bad)
    assert any(
        "enrolments[0].endDate" in i["message"] and "2200-12-31" in i["message"] for i in bad
    )
    exported = invoke(*db, "export", "--json")
    assert exported.code == 0, exported.err
    assert [c["name"] for c in json.loads(exported.out)["classes"]] == []


# --- the samples through the CLI --------------------------------------------------------------


@pytest.mark.parametrize("name", ["example-bundle", "demo-sis-lotr"])
def test_a_real_sample_syncs_with_issues_or_fails_naming_its_file_and_a_second_sync_is_a_no_op(
    name: str, db_url: str, tmp_path: Path
) -> None:
    bundle = sample_bundles(tmp_path)[name]
    db = ("--db", db_url, "--today", TODAY.isoformat())
    first = invoke(*db, "sync", "--json", str(bundle))
    said = f"exit {first.code}\nstdout: {first.out[-3000:]}\nstderr: {first.err[-3000:]}"
    assert "Traceback" not in first.out + first.err, said
    assert "Internal error" not in first.err, said
    assert first.code in (0, 1), said
    if first.code == 1:
        assert first.out == "", said
        assert any(f"{f.name}:" in first.err for f in bundle.glob("*.json")), said
        assert len(first.err.strip().splitlines()) <= 3, said
        assert invoke(*db, "export", "--json").code in (0, 1)
        return
    report = json.loads(first.out)
    assert report["status"] == "applied", said
    second = invoke(*db, "sync", "--json", str(bundle))
    assert second.code == 0, second.err
    changes = json.loads(second.out)["changes"]
    assert all(n == 0 for kind in changes.values() for n in kind.values()), changes
    assert invoke(*db, "export", "--json").code == 0
