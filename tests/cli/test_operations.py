"""Unattended use (issue 13): ``sync --fail-on`` for cron jobs, and ``vacuum`` (retention of the
run history), through the CLI on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import Directory, invoke

TODAY = "2025-10-15"
DIRECTORY_TABLES = ("schools", "school_units", "users", "user_schools", "guardianships", "groups",
                    "memberships", "lessons")  # fmt: skip


@pytest.fixture
def bundles(tmp_path: Path) -> dict[str, Path]:
    """A generated municipality with the generator's faults (errors and a warning), and one
    without any."""
    out = {}
    for name, extra in (("faulty", []), ("clean", ["--no-faults"])):
        out[name] = tmp_path / name
        made = invoke(
            "--today", TODAY, "generate", "--size", "tiny", "--out", str(out[name]), *extra
        )
        assert made.code == 0, made.err
    return out


def test_sync_fail_on_exits_4_when_a_run_that_applied_found_issues_of_that_severity(
    db_url: str, bundles: dict[str, Path], tmp_path: Path
) -> None:
    db = ("--db", db_url, "--today", TODAY)
    clean = invoke(*db, "sync", "--fail-on", "warning", str(bundles["clean"]))
    assert clean.code == 0, clean.err
    report = json.loads(invoke(*db, "sync", "--json", str(bundles["faulty"])).out)
    severities = {i["severity"] for i in report["issues"]}
    assert {"error", "warning"} <= severities
    assert invoke(*db, "sync", str(bundles["faulty"])).code == 0  # the default: never
    for fail_on in ("error", "warning"):
        found = invoke(*db, "sync", "--fail-on", fail_on, str(bundles["faulty"]))
        assert found.code == 4, (fail_on, found.err)
        assert "applied" in found.out  # it applied all the same
    # A held run is 3 whatever --fail-on says; a failed one 1.
    held_bundle = tmp_path / "no-duties"
    shutil.copytree(bundles["faulty"], held_bundle)
    (held_bundle / "duties.json").unlink()
    assert invoke(*db, "sync", "--fail-on", "warning", str(held_bundle)).code == 3
    assert invoke(*db, "sync", "--fail-on", "error", str(tmp_path / "missing")).code == 1
    bad = invoke(*db, "sync", "--fail-on", "info", str(bundles["clean"]))
    assert bad.code == 2 and "'info' is not one of" in bad.err


def counts(url: str) -> dict[str, int]:
    return {k: v for k, v in Directory(url).counts().items() if k in DIRECTORY_TABLES}


def test_vacuum_removes_old_run_history_and_never_the_directory(
    db_url: str, bundles: dict[str, Path], tmp_path: Path
) -> None:
    db = ("--db", db_url, "--today", TODAY)
    for _ in range(3):
        assert invoke(*db, "sync", str(bundles["faulty"])).code == 0
    held_bundle = tmp_path / "no-duties"
    shutil.copytree(bundles["faulty"], held_bundle)
    (held_bundle / "duties.json").unlink()
    assert invoke(*db, "sync", str(held_bundle)).code == 3  # run 4, held
    before, rows = invoke(*db, "export", "--json").out, counts(db_url)
    shown = invoke(*db, "runs", "show", "1", "--json", "--log").out
    assert json.loads(shown)["change_log"] and json.loads(shown)["issues"]

    # Runs of today are not 400 days old: nothing goes.
    soon = invoke("--db", db_url, "vacuum", "--json")
    assert soon.code == 0 and json.loads(soon.out)["runs"] == []
    later = (date.today() + timedelta(days=401)).isoformat()
    dry = json.loads(invoke("--db", db_url, "--today", later, "vacuum", "--dry-run", "--json").out)
    assert dry["runs"] == [1] and dry["changes"] > 100 and dry["issues"] == 5
    assert json.loads(invoke(*db, "runs", "show", "1", "--json", "--log").out)["change_log"]

    done = invoke("--db", db_url, "--today", later, "vacuum", "--compact")
    assert done.code == 0, done.err
    # Run 1 lost its detail; runs 2 and 3 are the last two applied syncs, run 4 is held.
    assert "removed the change log" in done.out and "runs 1." in done.out
    after = json.loads(invoke(*db, "runs", "show", "1", "--json", "--log").out)
    assert after["change_log"] == [] and after["issues"] == []
    assert after["options"]["retention"]["changes"] == dry["changes"]
    assert after["changes"]["users"]["created"] > 0  # the counts stay
    text = invoke(*db, "runs", "show", "1").out
    assert "were removed on" in text and "by retention" in text
    for kept in ("2", "3", "4"):
        assert json.loads(invoke(*db, "runs", "show", kept, "--json").out)["issues"], kept
    assert invoke(*db, "export", "--json").out == before
    assert counts(db_url) == rows
    again = invoke("--db", db_url, "--today", later, "vacuum")
    assert again.code == 0 and "Nothing to remove" in again.out


def test_the_retention_setting_is_checked(db_url: str, tmp_path: Path) -> None:
    settings = tmp_path / "schoolsync.toml"
    settings.write_text("[retention]\nchange_log_days = 0\n", "utf-8")
    assert invoke("--db", db_url, "init").code == 0
    refused = invoke("--db", db_url, "--config", str(settings), "vacuum")
    assert refused.code == 1 and "retention.change_log_days" in refused.err
