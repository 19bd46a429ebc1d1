"""Classes, groups, renames and troubleshooting through the real ``schoolsync`` command."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builder import PNR, Bundle, school
from tests.conftest import invoke

TODAY = "2025-10-15"


def _synced(db_url: str, tmp_path: Path) -> tuple[list[str], Path, Bundle, dict[str, str]]:
    b, ids = school()
    b.group("8A, 8B", ids["unit"], "Klass", [ids["omar"]])
    folder = b.write(tmp_path / "bundle")
    db = ["--db", db_url, "--today", TODAY]
    result = invoke(*db, "sync", "--json", str(folder))
    assert result.code == 0, result.err
    return db, folder, b, ids


def test_classes_and_groups_in_the_export_and_the_report(db_url: str, tmp_path: Path) -> None:
    db, _, _, _ = _synced(db_url, tmp_path)
    report = json.loads(invoke(*db, "runs", "show", "1", "--json").out)
    assert report["changes"]["classes"]["created"] == 1
    assert report["changes"]["groups"]["created"] == 1
    assert report["changes"]["memberships"]["created"] == 5
    comma = next(i for i in report["issues"] if i["code"] == "class-name-comma")
    assert comma["rule"] == "R5.2" and "8A, 8B" in comma["message"]
    export = json.loads(invoke(*db, "export", "--json").out)
    (klass,) = export["classes"]
    assert set(klass) >= {"name", "school", "start_date", "end_date", "visible", "status",
                          "students", "teachers", "mentors"}  # fmt: skip
    assert klass["name"] == "7A" and klass["visible"] is True and klass["status"] == "active"
    assert {s["civic_no"] for s in klass["students"]} == {PNR[0], PNR[1]}
    (group,) = export["groups"]
    assert (group["name"], group["subject"], group["course"]) == ("Ma 7A", "MA", None)
    assert group["teachers"] == ["KAHO"]
    assert set(group["students"][0]) == {"civic_no", "start_date", "end_date", "active"}


def test_class_rename_then_register_rename_keeps_the_class(db_url: str, tmp_path: Path) -> None:
    db, _, b, ids = _synced(db_url, tmp_path)
    renamed = invoke(*db, "class", "rename", "7A", "7A Eken", "--school", "Norrskolan")
    assert renamed.code == 0, renamed.err
    assert "Renamed the class '7A' to '7A Eken' at Norrskolan" in renamed.out
    b.find_group(ids["7A"])["displayName"] = "7A Eken"
    b.find_group(ids["7A"])["id"] = "11111111-2222-4333-8444-555555555555"
    again = json.loads(invoke(*db, "sync", "--json", str(b.write(tmp_path / "b"))).out)
    assert again["changes"]["classes"]["created"] == 0
    assert "possible-rename" not in {i["code"] for i in again["issues"]}
    runs = json.loads(invoke(*db, "runs", "--json").out)
    assert [r["kind"] for r in runs][:3] == ["sync", "rename", "sync"]


def test_rename_errors_name_the_problem(db_url: str, tmp_path: Path) -> None:
    db, _, _, _ = _synced(db_url, tmp_path)
    school = invoke(*db, "class", "rename", "7A", "7B", "--school", "Norrskola")
    assert school.code == 1 and "no school named 'Norrskola'" in school.err
    assert "Norrskolan" in school.err
    missing = invoke(*db, "class", "rename", "7a", "7B", "--school", "Norrskolan")
    assert missing.code == 1 and "no class named exactly '7a'" in missing.err
    assert "'7A' (differs only in upper/lower case)" in missing.err
    comma = invoke(*db, "class", "rename", "7A", "7A, 7B", "--school", "Norrskolan")
    assert comma.code == 1 and "comma" in comma.err
    group = invoke(*db, "group", "rename", "Ma 7A", "Ma 7A", "--school", "Norrskolan")
    assert group.code == 1 and "already has a group named 'Ma 7A'" in group.err
    ok = invoke(*db, "group", "rename", "Ma 7A", "Ma 7A HT25", "--school", "Norrskolan")
    assert ok.code == 0
    assert "Traceback" not in school.err + missing.err + comma.err + group.err


def test_troubleshoot_group_explains_and_suggests(db_url: str, tmp_path: Path) -> None:
    db, _, _, _ = _synced(db_url, tmp_path)
    found = invoke(*db, "troubleshoot", "group", "Ma 7A")
    assert found.code == 0
    assert "Ma 7A is a teaching group at Norrskolan" in found.out
    assert "2 active student(s), 1 teacher(s)" in found.out and "KAHO Karin Holm" in found.out
    near = invoke(*db, "troubleshoot", "group", "ma 7A ")
    assert "No class or group is named exactly 'ma 7A '" in near.out
    assert "Did you mean 'Ma 7A'?" in near.out and "upper/lower case and spaces" in near.out
    comma = invoke(*db, "troubleshoot", "group", "8A, 8B")
    assert "class-name-comma" in comma.out
    view = json.loads(invoke(*db, "troubleshoot", "group", "Ma 7A", "--json").out)
    assert view["found"][0]["subject"] == "MA" and view["found"][0]["active_counts"] == {
        "student": 2, "teacher": 1
    }  # fmt: skip


def test_troubleshoot_signature_shows_who_and_what(db_url: str, tmp_path: Path) -> None:
    db, _, _, _ = _synced(db_url, tmp_path)
    out = invoke(*db, "troubleshoot", "signature", "KAHO").out
    assert "KAHO belongs to Karin Holm (19810101-****)" in out
    assert "teacher of the teaching group 'Ma 7A' at Norrskolan" in out
    assert "198101012386" not in out
    unknown = invoke(*db, "troubleshoot", "signature", "kaho").out
    assert "No teacher's signature is named exactly 'kaho'" in unknown
    assert "Did you mean 'KAHO'?" in unknown
