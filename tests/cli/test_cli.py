"""Every command through the real ``schoolsync`` program (a subprocess), as a user runs it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import click
import pytest

from schoolsync.cli import cli
from tests.builder import PNR, school
from tests.conftest import EXAMPLE_BUNDLE, invoke, run_cli

TODAY = "2025-10-15"


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    out: list[tuple[str, click.Command]] = []
    for name, command in sorted(group.commands.items()):
        out.append((f"{prefix}{name}", command))
        if isinstance(command, click.Group):
            out.extend(_commands(command, f"{prefix}{name} "))
    return out


@pytest.mark.parametrize(("name", "command"), _commands(cli))
def test_every_command_has_help_text(name: str, command: click.Command) -> None:
    assert command.help and len(command.help.strip()) > 20, f"{name} has no help text"


def test_help_lists_the_commands() -> None:
    result = invoke("--help")
    assert result.code == 0
    for name in ("sync", "export", "runs", "demo", "generate", "user"):
        assert name in result.out


def test_sync_export_and_runs_through_the_cli(db_url: str) -> None:
    db = ["--db", db_url, "--today", TODAY]
    first = invoke(*db, "sync", str(EXAMPLE_BUNDLE))
    assert first.code == 0, first.err
    assert "Run 1 applied" in first.out and "users" in first.out
    assert "protected-identity-excluded" in first.out

    report = invoke(*db, "sync", "--json", str(EXAMPLE_BUNDLE))
    assert report.code == 0, report.err
    data = json.loads(report.out)
    assert data["run_id"] == "2" and data["status"] == "applied"
    assert data["changes"]["users"] == {"created": 0, "updated": 0, "ended": 0, "reactivated": 0}
    assert set(data["changes"]) >= {"users", "classes", "groups", "memberships", "lessons"}
    assert {"code", "severity", "message", "rule", "subject"} <= set(data["issues"][0])

    export = json.loads(invoke(*db, "export", "--json").out)
    assert set(export) == {"schools", "users", "classes", "groups", "lessons"}
    assert len(export["users"]) == 14
    user = export["users"][0]
    assert {"id", "civic_no", "given_name", "family_name", "email", "mobile", "status",
            "schools"} <= set(user)  # fmt: skip
    assert {"school", "role", "start_date", "end_date", "active"} <= set(user["schools"][0])

    human = invoke(*db, "export")
    assert human.code == 0 and "Exempelskolan 7-9" in human.out

    runs = invoke(*db, "runs")
    assert runs.code == 0 and "applied" in runs.out
    runs_json = json.loads(invoke(*db, "runs", "--json").out)
    assert [r["run_id"] for r in runs_json] == ["2", "1"]

    show = invoke(*db, "runs", "show", "1")
    assert show.code == 0 and "Change log" in show.out and "Karin Holm" in show.out
    assert "198101012386" not in show.out  # personnummer masked in the change log
    shown = json.loads(invoke(*db, "runs", "show", "1", "--json").out)
    assert shown["run_id"] == "1" and shown["changes"]["users"]["created"] == 14
    assert shown["issues"][0]["code"] == "protected-identity-excluded"


def test_dry_run_applies_nothing(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    result = invoke(*db, "sync", "--dry-run", "--json", str(EXAMPLE_BUNDLE))
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert data["status"] == "planned" and data["run_id"] is None
    assert data["changes"]["users"]["created"] == 14
    assert json.loads(invoke(*db, "export", "--json").out)["users"] == []
    assert json.loads(invoke(*db, "runs", "--json").out) == []


def test_today_can_be_given_after_the_command(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    result = invoke(*db, "sync", "--json", "--today", "2026-08-01", str(EXAMPLE_BUNDLE))
    assert json.loads(result.out)["today"] == "2026-08-01"


def test_database_url_from_the_environment(tmp_path: Path) -> None:
    env = {"SCHOOLSYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    assert run_cli("--today", TODAY, "sync", str(EXAMPLE_BUNDLE), env=env).code == 0
    assert (tmp_path / "env.db").exists()


def test_default_database_is_schoolsync_db_in_the_working_directory(tmp_path: Path) -> None:
    env = {"SCHOOLSYNC_DATABASE_URL": ""}
    assert run_cli("--today", TODAY, "sync", str(EXAMPLE_BUNDLE), cwd=tmp_path, env=env).code == 0
    assert (tmp_path / "schoolsync.db").exists()


def test_user_edit_sets_and_clears_email(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]

    def karin() -> dict[str, str | None]:
        users = json.loads(invoke(*db, "export", "--json").out)["users"]
        return next(u for u in users if u["civic_no"] == "198101012386")

    assert invoke(*db, "sync", str(EXAMPLE_BUNDLE)).code == 0
    edit = invoke(*db, "user", "edit", "19810101-2386", "--email", "karin@privat.invalid")
    assert edit.code == 0, edit.err
    assert "email set to karin@privat.invalid (run 2)" in edit.out
    assert karin()["email"] == "karin@privat.invalid"
    assert json.loads(invoke(*db, "runs", "--json").out)[0]["kind"] == "edit"
    cleared = invoke(*db, "user", "edit", "198101012386", "--email", "")
    assert cleared.code == 0, cleared.err
    assert "email cleared (run 3)" in cleared.out
    assert karin()["email"] is None
    again = invoke(*db, "user", "edit", "198101012386", "--email", "")
    assert again.code == 0 and "Nothing to change" in again.out


def test_user_edit_of_unknown_or_invalid_number_fails_with_a_sentence(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    assert invoke(*db, "init").code == 0
    unknown = invoke(*db, "user", "edit", PNR[3], "--email", "x@y.invalid")
    assert unknown.code == 1 and "No user has the personnummer 20120102-****" in unknown.err
    invalid = invoke(*db, "user", "edit", "201201012381", "--email", "x@y.invalid")
    assert invalid.code == 1 and "20120101-**** is not valid" in invalid.err
    assert "Traceback" not in unknown.err + invalid.err
    usage = invoke(*db, "user", "edit", PNR[3])
    assert usage.code == 2


def test_generate_writes_a_bundle_that_syncs(tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    gen = invoke("--today", TODAY, "generate", "--size", "tiny", "--out", str(out), "--seed", "7")
    assert gen.code == 0, gen.err
    assert (out / "organisations.json").exists() and list((out / "persons").glob("*.json"))
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    result = json.loads(invoke(*db, "sync", "--json", str(out)).out)
    assert result["status"] == "applied" and result["changes"]["users"]["created"] > 50


def test_demo_generates_and_syncs_with_a_summary(tmp_path: Path) -> None:
    result = invoke("--db", f"sqlite:///{tmp_path / 'demo.db'}", "demo", "--size", "tiny")
    assert result.code == 0, result.err
    assert "Generated a tiny municipality" in result.out
    assert "applied" in result.out and "Issues by code" in result.out


# --- errors: a sentence, an exit status, never a traceback, the directory unchanged ---------


def _snapshot(db: list[str]) -> str:
    return invoke(*db, "export", "--json").out


def test_missing_source_fails_naming_it(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    result = invoke(*db, "sync", str(tmp_path / "nope"))
    assert result.code == 1
    assert "nope" in result.err and "does not exist" in result.err
    assert "Traceback" not in result.err


def test_invalid_json_fails_with_file_line_and_column_and_changes_nothing(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    b, _ = school()
    folder = b.write(tmp_path / "bundle")
    assert invoke(*db, "sync", str(folder)).code == 0
    before = _snapshot(db)
    text = (folder / "persons.json").read_text(encoding="utf-8")
    (folder / "persons.json").write_text(text[: len(text) // 2], encoding="utf-8")
    result = invoke(*db, "sync", str(folder))
    assert result.code == 1
    assert "persons.json, line" in result.err and "column" in result.err
    assert "not valid JSON" in result.err and "Traceback" not in result.err
    assert _snapshot(db) == before
    runs = json.loads(invoke(*db, "runs", "--json").out)
    assert runs[0]["status"] == "failed" and "persons.json" in runs[0]["message"]


def test_wrong_shape_and_empty_file_fail_with_a_sentence(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    folder = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "bundle")
    (folder / "duties.json").write_text('{"items": []}', encoding="utf-8")
    shape = invoke(*db, "sync", str(folder))
    assert shape.code == 1 and "duties.json" in shape.err and "neither a JSON array" in shape.err
    (folder / "duties.json").write_bytes(b"")
    empty = invoke(*db, "sync", str(folder))
    assert empty.code == 1 and "duties.json" in empty.err and "is empty" in empty.err


def test_cut_off_page_chain_fails(tmp_path: Path) -> None:
    folder = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "bundle")
    (folder / "persons" / "page2.json").unlink()
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "sync", str(folder))
    assert result.code == 1 and "page1.json" in result.err and "more pages" in result.err


def test_unknown_enum_in_an_organisation_fails_naming_file_and_record(tmp_path: Path) -> None:
    folder = shutil.copytree(EXAMPLE_BUNDLE, tmp_path / "bundle")
    orgs = json.loads((folder / "organisations.json").read_text(encoding="utf-8"))
    orgs["data"][2]["organisationType"] = "Skolhus"
    (folder / "organisations.json").write_text(json.dumps(orgs), encoding="utf-8")
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "sync", str(folder))
    assert result.code == 1
    assert "organisations.json" in result.err and "record 3" in result.err
    assert "organisationType" in result.err


def test_bad_today_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("--today", "2025-13-01", "runs")
    assert result.code == 2 and "YYYY-MM-DD" in result.err


def test_bad_settings_file_fails_naming_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "schoolsync.toml"
    config.write_text('[sync]\ngroup_naming = "alphabetical"\n', encoding="utf-8")
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--config", str(config)]
    result = invoke(*db, "sync", str(EXAMPLE_BUNDLE))
    assert result.code == 1 and "sync.group_naming" in result.err
    config.write_text("[sync\n", encoding="utf-8")
    assert "not valid TOML" in invoke(*db, "sync", str(EXAMPLE_BUNDLE)).err


def test_unreachable_database_fails_naming_it_without_the_password(tmp_path: Path) -> None:
    url = "postgresql+psycopg://admin:hemligt@127.0.0.1:1/directory"
    result = invoke("--db", url, "sync", str(EXAMPLE_BUNDLE))
    assert result.code == 1
    assert "127.0.0.1:1/directory" in result.err and "hemligt" not in result.err
    assert "Traceback" not in result.err


def test_unknown_run_fails_with_a_hint(tmp_path: Path) -> None:
    assert invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "init").code == 0
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "runs", "show", "99")
    assert result.code == 1 and "no run 99" in result.err and "schoolsync runs" in result.err


def test_a_database_that_refuses_writes_fails_naming_it_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "d.db"
    assert (
        invoke("--db", f"sqlite:///{path}", "--today", TODAY, "sync", str(EXAMPLE_BUNDLE)).code == 0
    )
    before = invoke("--db", f"sqlite:///{path}", "export", "--json").out
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = invoke("--db", read_only, "--today", "2025-10-16", "sync", str(EXAMPLE_BUNDLE))
    assert result.code == 1 and "Traceback" not in result.err
    assert "d.db" in result.err and "readonly database" in result.err
    assert "Nothing was changed" in result.err.replace("\n", " ")
    assert invoke("--db", f"sqlite:///{path}", "export", "--json").out == before
