"""R5.3: a rename done in the directory first holds until the register catches up.

Through the ``schoolsync`` command in this process, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.builder import Bundle, school
from tests.conftest import invoke

TODAY = "2025-10-15"


def _db(db_url: str) -> list[str]:
    return ["--db", db_url, "--today", TODAY]


def _sync(db_url: str, bundle: Bundle, folder: Path) -> dict[str, Any]:
    result = invoke(*_db(db_url), "sync", "--json", str(bundle.write(folder)))
    assert result.code == 0, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def _rename(db_url: str, kind: str, old: str, new: str) -> None:
    result = invoke(*_db(db_url), kind, "rename", old, new, "--school", "Norrskolan")
    assert result.code == 0, result.err


def _export(db_url: str) -> dict[str, Any]:
    result = invoke(*_db(db_url), "export", "--json")
    assert result.code == 0, result.err
    export: dict[str, Any] = json.loads(result.out)
    return export


def _entry(export: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    return next(x for x in export[section] if x["name"] == name)


def _names(export: dict[str, Any], section: str) -> list[str]:
    return [x["name"] for x in export[section]]


def _group_ids(db_url: str) -> dict[str, str]:
    """The directory's class and group ids by name (the export does not show ids)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT name, id FROM groups")).all()
    finally:
        engine.dispose()
    return {name: gid for name, gid in rows}


def _issues(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [i for i in report["issues"] if i["code"] == code]


def _nothing_changed(report: dict[str, Any]) -> bool:
    return not any(n for counts in report["changes"].values() for n in counts.values())


def _same_but_the_name(after: dict[str, Any], before: dict[str, Any]) -> bool:
    return {**after, "name": before["name"]} == before


def test_r5_3_class_renamed_in_the_directory_keeps_its_name_while_the_register_has_the_old_one(
    db_url: str, tmp_path: Path
) -> None:
    b, _ = school()
    _sync(db_url, b, tmp_path / "a")
    before, ids = _export(db_url), _group_ids(db_url)
    _rename(db_url, "class", "7A", "7A2")

    report = _sync(db_url, b, tmp_path / "b")  # the register still calls it 7A

    assert report["status"] == "applied"
    assert _nothing_changed(report), report["changes"]
    assert not _issues(report, "group-renamed")
    (pending,) = _issues(report, "rename-pending")
    assert pending["rule"] == "R5.3" and pending["severity"] in ("warning", "info")
    assert "'7A2'" in pending["message"] and "'7A'" in pending["message"]
    assert "Norrskolan" in pending["message"] and "register" in pending["message"]
    after = _export(db_url)
    assert _names(after, "classes") == ["7A2"]
    assert _same_but_the_name(_entry(after, "classes", "7A2"), _entry(before, "classes", "7A"))
    assert _group_ids(db_url)["7A2"] == ids["7A"]

    again = _sync(db_url, b, tmp_path / "c")  # still pending: still nothing to write
    assert _nothing_changed(again) and len(_issues(again, "rename-pending")) == 1


def test_r5_3_pending_rename_clears_when_the_register_brings_the_new_name(
    db_url: str, tmp_path: Path
) -> None:
    b, gids = school()
    _sync(db_url, b, tmp_path / "a")
    before, ids = _export(db_url), _group_ids(db_url)
    _rename(db_url, "class", "7A", "7A2")
    _sync(db_url, b, tmp_path / "b")

    b.find_group(gids["7A"])["displayName"] = "7A2"  # the register catches up
    caught_up = _sync(db_url, b, tmp_path / "c")

    assert not _issues(caught_up, "rename-pending") and not _issues(caught_up, "group-renamed")
    assert caught_up["changes"]["classes"]["created"] == 0
    assert caught_up["changes"]["classes"]["archived"] == 0
    after = _export(db_url)
    assert _names(after, "classes") == ["7A2"]
    assert _same_but_the_name(_entry(after, "classes", "7A2"), _entry(before, "classes", "7A"))
    assert _group_ids(db_url)["7A2"] == ids["7A"]
    settled = _sync(db_url, b, tmp_path / "d")
    assert _nothing_changed(settled) and not settled["issues"]


def test_r5_3_teaching_group_renamed_in_the_directory_first_holds_too(
    db_url: str, tmp_path: Path
) -> None:
    b, gids = school()
    _sync(db_url, b, tmp_path / "a")
    before, ids = _export(db_url), _group_ids(db_url)
    _rename(db_url, "group", "Ma 7A", "Ma 7A HT25")

    report = _sync(db_url, b, tmp_path / "b")

    assert _nothing_changed(report), report["changes"]
    (pending,) = _issues(report, "rename-pending")
    assert "'Ma 7A HT25'" in pending["message"] and "'Ma 7A'" in pending["message"]
    after = _export(db_url)
    assert _names(after, "groups") == ["Ma 7A HT25"]
    assert _same_but_the_name(
        _entry(after, "groups", "Ma 7A HT25"), _entry(before, "groups", "Ma 7A")
    )
    assert _group_ids(db_url)["Ma 7A HT25"] == ids["Ma 7A"]

    b.find_group(gids["ma7a"])["displayName"] = "Ma 7A HT25"
    caught_up = _sync(db_url, b, tmp_path / "c")
    assert not _issues(caught_up, "rename-pending")
    assert _names(_export(db_url), "groups") == ["Ma 7A HT25"]
    assert _group_ids(db_url)["Ma 7A HT25"] == ids["Ma 7A"]


def test_r5_3_renamed_twice_in_the_directory_the_register_still_has_its_first_name(
    db_url: str, tmp_path: Path
) -> None:
    b, gids = school()
    _sync(db_url, b, tmp_path / "a")
    ids = _group_ids(db_url)
    _rename(db_url, "class", "7A", "7A2")
    _rename(db_url, "class", "7A2", "7A3")

    report = _sync(db_url, b, tmp_path / "b")

    assert _nothing_changed(report), report["changes"]
    (pending,) = _issues(report, "rename-pending")
    assert "register still calls it '7A'" in pending["message"]
    assert "to exactly '7A3'" in pending["message"] and "'7A2'" not in pending["message"]
    assert _names(_export(db_url), "classes") == ["7A3"]
    b.find_group(gids["7A"])["displayName"] = "7A3"
    caught_up = _sync(db_url, b, tmp_path / "c")
    assert not _issues(caught_up, "rename-pending")
    assert _group_ids(db_url)["7A3"] == ids["7A"]


def test_r5_3_renamed_back_to_the_register_name_leaves_nothing_pending(
    db_url: str, tmp_path: Path
) -> None:
    b, _ = school()
    _sync(db_url, b, tmp_path / "a")
    _rename(db_url, "class", "7A", "7A2")
    _rename(db_url, "class", "7A2", "7A")

    report = _sync(db_url, b, tmp_path / "b")

    assert _nothing_changed(report) and not report["issues"]
    assert _names(_export(db_url), "classes") == ["7A"]


def test_r5_3_register_renaming_to_a_third_name_wins_over_a_pending_rename(
    db_url: str, tmp_path: Path
) -> None:
    b, gids = school()
    _sync(db_url, b, tmp_path / "a")
    ids = _group_ids(db_url)
    _rename(db_url, "class", "7A", "7A2")
    _sync(db_url, b, tmp_path / "b")

    b.find_group(gids["7A"])["displayName"] = "7B"  # the register chose another name
    report = _sync(db_url, b, tmp_path / "c")

    assert not _issues(report, "rename-pending")
    (renamed,) = _issues(report, "group-renamed")
    assert "'7A2'" in renamed["message"] and "'7B'" in renamed["message"]
    assert report["changes"]["classes"]["renamed"] == 1
    assert _names(_export(db_url), "classes") == ["7B"]
    assert _group_ids(db_url)["7B"] == ids["7A"]
    settled = _sync(db_url, b, tmp_path / "d")
    assert _nothing_changed(settled) and not settled["issues"]
