"""The register rules through the real ``schoolsync`` command, on a generated municipality and on
small hand-made registers: each rule seen the way an administrator sees it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from schoolsync.generate import generate_bundle
from schoolsync.store.db import Store
from tests.builder import school
from tests.conftest import invoke

TODAY = date(2025, 10, 15)


@pytest.fixture(scope="module")
def municipality(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], Path]:
    """A small generated municipality synced through the CLI: (db, run report, bundle)."""
    root = tmp_path_factory.mktemp("kommun")
    summary = generate_bundle(root / "bundle", "small", seed=3, today=TODAY)
    db = f"sqlite:///{root / 'd.db'}"
    sources = [str(root / "bundle"), *map(str, summary.schedules)]
    result = invoke("--db", db, "--today", TODAY.isoformat(), "sync", "--json", *sources)
    assert result.code == 0, result.err
    return db, json.loads(result.out), root / "bundle"


def export(db: str, today: date = TODAY) -> dict[str, Any]:
    return json.loads(invoke("--db", db, "--today", today.isoformat(), "export", "--json").out)


def codes(report: dict[str, Any]) -> set[str]:
    return {i["code"] for i in report["issues"]}


def test_r4_3_r5_2_r6_3_the_report_shows_signature_conflict_comma_and_reused_name(
    municipality: tuple[str, dict[str, Any], Path],
) -> None:
    _, report, _ = municipality
    assert {"signature-conflict", "class-name-comma", "group-name-reused"} <= codes(report)


def test_r5_1_r7_3_classes_have_students_and_mentors(
    municipality: tuple[str, dict[str, Any], Path],
) -> None:
    doc = export(municipality[0])
    classes = [c for c in doc["classes"] if c["name"][0].isdigit()]
    assert classes and all(c["students"] for c in classes)
    assert all(c["mentors"] for c in classes)
    assert not any("," in c["name"] for c in doc["classes"])  # R5.2


def test_r6_5_class_subject_activities_are_kla_groups_with_the_class_students(
    municipality: tuple[str, dict[str, Any], Path],
) -> None:
    doc = export(municipality[0])
    kla = [g for g in doc["groups"] if g["name"].startswith("KLA.")]
    assert kla
    group = kla[0]
    klass = next(c for c in doc["classes"] if c["name"] == group["name"][4:].rsplit("_", 1)[0])
    assert {s["civic_no"] for s in group["students"]} == {s["civic_no"] for s in klass["students"]}
    assert group["subject"] == group["name"].rsplit("_", 1)[1] and group["teachers"]


def test_r6_2_r6_4_r7_1_after_the_school_year_groups_are_archived_with_their_members(
    municipality: tuple[str, dict[str, Any], Path], tmp_path: Path
) -> None:
    db, _, bundle = municipality
    summer = date(2026, 6, 20)
    copy = tmp_path / "d.db"
    Path(copy).write_bytes(Path(db.removeprefix("sqlite:///")).read_bytes())
    result = invoke("--db", f"sqlite:///{copy}", "--today", summer.isoformat(), "sync", "--json",
                     "--allow-mass-changes", str(bundle))  # fmt: skip
    report = json.loads(result.out)
    assert report["changes"]["groups"]["archived"] > 0 and report["changes"]["classes"]["archived"]
    doc = export(f"sqlite:///{copy}", summer)
    group = next(g for g in doc["groups"] if g["students"])
    assert group["status"] == "archived" and group["end_date"] <= summer.isoformat()
    assert all(not s["active"] for s in group["students"])
    assert min(s["start_date"] for s in group["students"]) == group["start_date"]


def _bundle(tmp_path: Path) -> tuple[list[str], Any, dict[str, str]]:
    b, ids = school()
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY.isoformat()]
    return db, b, ids


def test_r4_4_a_shared_signature_is_an_error_in_the_cli_report(tmp_path: Path) -> None:
    db, b, ids = _bundle(tmp_path)
    twin = b.person("Kalle", "Holmberg", "198101062399")
    b.duty(twin, ids["unit"], "Lärare", "KAHO")
    report = json.loads(invoke(*db, "sync", "--json", str(b.write(tmp_path / "b"))).out)
    issue = next(i for i in report["issues"] if i["code"] == "signature-duplicate")
    assert issue["severity"] == "error" and issue["rule"] == "R4.4"
    assert export(db[1])["groups"][0]["teachers"] == []


def test_r5_3_a_rename_in_the_wrong_order_is_reported_with_the_command(tmp_path: Path) -> None:
    db, b, ids = _bundle(tmp_path)
    assert invoke(*db, "sync", str(b.write(tmp_path / "a"))).code == 0
    group = b.find_group(ids["7A"])
    group["displayName"], group["id"] = "7B", "99999999-0000-4000-8000-000000000001"
    report = json.loads(invoke(*db, "sync", "--json", str(b.write(tmp_path / "b"))).out)
    issue = next(i for i in report["issues"] if i["code"] == "possible-rename")
    assert 'schoolsync class rename "7A" "7B" --school "Norrskolan"' in issue["message"]


def test_r7_4_a_member_added_by_hand_is_ended_by_the_next_cli_sync(tmp_path: Path) -> None:
    db, b, _ = _bundle(tmp_path)
    folder = b.write(tmp_path / "a")
    assert invoke(*db, "sync", str(folder)).code == 0
    store = Store(db[1])
    with store.engine.begin() as conn:
        group = conn.execute(sa.text("SELECT id FROM groups WHERE name = 'Ma 7A'")).scalar()
        user = conn.execute(
            sa.text("SELECT id FROM users WHERE civic_no = '198101032384'")
        ).scalar()
        conn.execute(
            sa.text("INSERT INTO memberships (id, group_id, user_id, role, start_date) "
                    "VALUES ('by-hand', :g, :u, 'student', '2025-09-01')"),
            {"g": group, "u": user},
        )  # fmt: skip
    store.dispose()
    report = json.loads(invoke(*db, "sync", "--json", str(folder)).out)
    assert report["changes"]["memberships"]["ended"] == 1
