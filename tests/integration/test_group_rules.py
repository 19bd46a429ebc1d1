"""Classes, teaching groups and memberships (R4.3–R4.4, R5, R6, R7), on SQLite and PostgreSQL.

The rules are tested at the plan level (``tests/plan/test_group_rules.py``); these need the
database or the CLI: platform-first renames, hand-added members, table counts, ``export``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import sqlalchemy as sa

from schoolsync.store.db import Store
from tests.builder import PNR, school
from tests.conftest import Directory, invoke
from tests.rules import codes, find, new_register_id, students


def test_r5_3_platform_first_rename_keeps_the_class_when_the_register_follows(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    before = directory.export()
    cli = invoke("--db", directory.url, "class", "rename", "7A", "7B", "--school", "Norrskolan")
    assert cli.code == 0, cli.err
    new_register_id(b, ids["7A"], "7B")  # even a new register id: the name is the key
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["classes"]["created"] == 0 and result.changes["classes"]["archived"] == 0
    assert "possible-rename" not in codes(result)
    after = find(directory.export(), "classes", "7B")
    assert after["students"] == find(before, "classes", "7A")["students"]


def test_r5_4_a_class_is_visible_from_the_lead_days_before_its_start(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("8A", ids["unit"], "Klass", [], start="2025-11-01", end="2026-06-12")
    directory.sync(b.write(tmp_path / "a"))
    assert find(directory.export(date(2025, 10, 16)), "classes", "8A")["visible"] is False
    assert find(directory.export(date(2025, 10, 17)), "classes", "8A")["visible"] is True
    config = tmp_path / "schoolsync.toml"
    config.write_text("[sync]\nvisibility_lead_days = 30\n", encoding="utf-8")
    out = invoke("--db", directory.url, "--config", str(config), "--today", "2025-10-02",
                  "export", "--json")  # fmt: skip
    import json

    assert find(json.loads(out.out), "classes", "8A")["visible"] is True


def test_r6_4_a_group_gone_from_the_register_is_archived_not_deleted(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    before = directory.counts()
    b.groups = [g for g in b.groups if g["id"] != ids["ma7a"]]
    b.activities = []
    held = directory.sync(b.write(tmp_path / "b"))  # R10: no activities at all any more
    assert held.status == "held"
    assert find(directory.export(), "groups", "Ma 7A")["status"] == "active"
    result = directory.sync(b.write(tmp_path / "b"), allow_mass_changes=True)
    assert result.changes["groups"]["archived"] == 1
    assert result.changes["memberships"]["ended"] == 3  # two students and the teacher
    assert directory.counts()["groups"] == before["groups"]
    assert find(directory.export(), "groups", "Ma 7A")["status"] == "archived"


def test_r7_4_a_member_added_by_hand_is_ended_at_the_next_sync(
    directory: Directory, tmp_path: Path
) -> None:
    b, _ids = school()
    directory.sync(b.write(tmp_path / "a"))
    export = directory.export()
    lena = directory.user(PNR[10])
    store = Store(directory.url)
    with store.engine.begin() as conn:
        gid = conn.execute(sa.text("SELECT id FROM groups WHERE name = '7A'")).scalar()
        conn.execute(
            sa.text(
                "INSERT INTO memberships (id, group_id, user_id, role, start_date) "
                "VALUES ('hand-added', :g, :u, 'student', '2025-09-01')"
            ),
            {"g": gid, "u": lena["id"]},
        )
    store.dispose()
    result = directory.sync(b.write(tmp_path / "a"))
    assert result.changes["memberships"]["ended"] == 1
    assert students(find(directory.export(), "classes", "7A")) == students(
        find(export, "classes", "7A")
    )
