"""The command line at its edges: odd arguments, dates, outputs, signals and honest exit status.

Each of these once ended in "Internal error" or in an exit status that did not say what
happened to the directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from schoolsync.cli import sync as sync_module
from schoolsync.export import export_lessons, visible
from schoolsync.store import db as db_module
from schoolsync.store import schema
from schoolsync.store.db import Store
from tests.builder import Bundle
from tests.conftest import EXAMPLE_BUNDLE, invoke

TODAY = "2025-10-15"
ENV = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}


def synced(tmp_path: Path) -> list[str]:
    """``--db`` and ``--today`` of a directory with the example bundle in it."""
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    assert invoke(*db, "sync", str(EXAMPLE_BUNDLE)).code == 0
    return db


def assert_a_sentence(result: object, code: int) -> None:
    assert result.code == code, (result.code, result.err)  # type: ignore[attr-defined]
    err = result.err  # type: ignore[attr-defined]
    assert err.strip() and "Internal error" not in err and "Traceback" not in err


# --- 7. arguments and environments that once crashed -------------------------------------------


def test_a_name_that_is_not_utf8_is_a_usage_error_with_a_sentence(tmp_path: Path) -> None:
    db = synced(tmp_path)
    undecodable = b"\xff".decode("utf-8", "surrogateescape")  # what Python makes of argv $'\xff'
    result = invoke(*db, "troubleshoot", "group", undecodable)
    assert_a_sentence(result, 2)
    assert "not valid UTF-8" in result.err


@pytest.mark.parametrize("seconds", ["nan", "inf", "-1", "-inf"])
def test_wait_must_be_a_finite_number_of_seconds(tmp_path: Path, seconds: str) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}"]
    for args in (["sync", "--wait", seconds, str(EXAMPLE_BUNDLE)],
                 ["runs", "approve", "1", "--wait", seconds]):  # fmt: skip
        result = invoke(*db, *args)
        assert_a_sentence(result, 2)
        assert "--wait" in result.err
    assert not (tmp_path / "d.db").exists()


@pytest.mark.parametrize("command", [["runs", "show"], ["runs", "approve"]])
def test_a_run_id_beyond_64_bits_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    db = synced(tmp_path)
    result = invoke(*db, *command, "99999999999999999999999")
    assert_a_sentence(result, 2)
    assert "RUN_ID" in result.err


def test_a_run_limit_beyond_64_bits_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke(*synced(tmp_path), "runs", "--limit", "99999999999999999999999")
    assert_a_sentence(result, 2)


def test_a_database_path_that_is_a_folder_fails_with_a_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "directory.db"
    folder.mkdir()
    result = invoke("--db", f"sqlite:///{folder}", "sync", str(EXAMPLE_BUNDLE))
    assert_a_sentence(result, 1)
    assert "is a folder" in result.err


def test_a_folder_named_like_the_old_lock_file_does_not_stop_a_sync(tmp_path: Path) -> None:
    (tmp_path / "d.db.lock").mkdir()
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY, "sync",
                    str(EXAMPLE_BUNDLE))  # fmt: skip
    assert result.code == 0, result.err


def test_a_database_folder_that_may_not_be_written_fails_with_a_sentence() -> None:
    # /sys refuses new files even to root, as a folder of someone else refuses them to a user.
    result = invoke("--db", "sqlite:////sys/schoolsync-test.db", "sync", str(EXAMPLE_BUNDLE))
    assert_a_sentence(result, 1)
    assert "Cannot create the database file /sys/schoolsync-test.db" in result.err


def test_a_permission_error_on_the_database_file_becomes_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(*_args: object, **_kw: object) -> int:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(db_module.os, "open", refused)
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "sync", str(EXAMPLE_BUNDLE))
    assert_a_sentence(result, 1)
    assert "Permission denied" in result.err and "may write to it" in result.err


def test_a_settings_file_nested_thousands_deep_fails_naming_it(tmp_path: Path) -> None:
    settings = tmp_path / "deep.toml"
    settings.write_text("a = " + "[" * 5000 + "\n", encoding="utf-8")
    result = invoke("--config", str(settings), "--db", f"sqlite:///{tmp_path / 'd.db'}",
                    "sync", str(EXAMPLE_BUNDLE))  # fmt: skip
    assert_a_sentence(result, 1)
    assert "deep.toml" in result.err and "nested too deeply" in result.err


@pytest.mark.slow
def test_output_to_a_full_device_fails_with_a_sentence(tmp_path: Path) -> None:
    db = synced(tmp_path)
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "schoolsync", *db, "export", "--json"],
            stdout=full, stderr=subprocess.PIPE, text=True, env=ENV, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "No space left on device" in proc.stderr
    assert "Internal error" not in proc.stderr and "Exception ignored" not in proc.stderr


# --- 8. dates at the edges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["--today", "0001-01-01", "runs"], ["export", "--to", "9999-12-31"],
     ["export", "--from", "1899-12-31"], ["export", "--today", "2201-01-01"],
     ["sync", "--today", "0001-01-01", str(EXAMPLE_BUNDLE)]],
    ids=" ".join,
)  # fmt: skip
def test_dates_outside_1900_to_2200_are_usage_errors(tmp_path: Path, args: list[str]) -> None:
    result = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", *args)
    assert_a_sentence(result, 2)
    assert "1900-01-01 to 2200-12-31" in result.err
    assert not (tmp_path / "d.db").exists()


def test_the_first_and_last_dates_the_directory_holds_are_accepted(tmp_path: Path) -> None:
    db = synced(tmp_path)
    assert invoke(*db, "export", "--json", "--from", "1900-01-01", "--to", "2200-12-31").code == 0
    assert invoke(*db, "export", "--today", "2200-12-31").code == 0
    assert invoke(*db, "export", "--today", "1900-01-01").code == 0


def test_export_cannot_overflow_on_any_stored_date(tmp_path: Path) -> None:
    assert visible(date(1, 1, 1), date(2200, 12, 31), 366)
    assert not visible(date.max, date(1900, 1, 1), 366)
    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    try:
        with store.connect() as conn:
            assert export_lessons(conn, date.min, date.max) == []
    finally:
        store.dispose()


# --- 9, 10. once applied, the run counts as applied --------------------------------------------


def test_ctrl_c_after_the_commit_reports_the_run_as_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_module, "show_result", interrupted)
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    result = invoke(*db, "sync", str(EXAMPLE_BUNDLE))
    assert result.code == 0, result.err
    assert "Run 1 was applied" in result.err and "nothing was applied" not in result.err
    monkeypatch.undo()
    assert len(json.loads(invoke(*db, "export", "--json").out)["users"]) == 14


def test_ctrl_c_after_a_held_run_was_recorded_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    b = Bundle()
    unit = b.unit("Storskolan", "99990500")
    ids = [b.student("Elev", f"N{n}", f"20120{(n % 9) + 1}01TF{n:02d}", unit) for n in range(40)]
    assert invoke(*db, "sync", str(b.write(tmp_path / "a"))).code == 0
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_module, "show_result", interrupted)
    result = invoke(*db, "sync", str(b.write(tmp_path / "b")))
    assert result.code == 3, result.err
    assert "Run 2 was held" in result.err and "nothing was applied" in result.err


def test_ctrl_c_during_the_commit_waits_until_the_commit_is_known(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    seen: list[str] = []
    try:
        with pytest.raises(KeyboardInterrupt):  # noqa: SIM117
            with store.transaction(
                committed=lambda: (os.kill(os.getpid(), signal.SIGINT), seen.append("told"))
            ) as conn:
                conn.execute(schema.schools.insert().values(id="s-1", key="k", name="Skolan"))
        assert seen == ["told"]  # the interrupt came after the caller learnt of the commit
        with store.connect() as conn:
            assert conn.execute(sa.select(schema.schools.c.name)).scalars().all() == ["Skolan"]
    finally:
        store.dispose()


@pytest.mark.slow
def test_a_closed_output_pipe_after_the_commit_exits_0_without_noise(tmp_path: Path) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    proc = subprocess.Popen(
        [sys.executable, "-m", "schoolsync", *db, "sync", str(EXAMPLE_BUNDLE)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()  # like `| head -0`: the reader is gone before the report is written
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "BrokenPipe" not in err and "nothing was applied" not in err
    assert "Run 1 was applied" in err
    runs = json.loads(invoke(*db, "runs", "--json").out)
    assert [r["status"] for r in runs] == ["applied"]


@pytest.mark.slow
def test_a_closed_output_pipe_before_anything_was_applied_exits_1(tmp_path: Path) -> None:
    db = synced(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "schoolsync", *db, "runs"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in err and "Exception ignored" not in err
    assert "broken pipe" in err


@pytest.mark.slow
def test_ctrl_c_while_starting_up_prints_one_line_and_exits_130() -> None:
    code = (
        "import importlib.abc, os, signal, sys\n"
        "class Interrupt(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'schoolsync.cli.app':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from schoolsync.cli import main\n"
        "main(['runs'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert proc.returncode == 130, proc.stderr
    assert proc.stderr.strip() == "Interrupted while starting; nothing was done."


# --- 11. demo's result is honest ---------------------------------------------------------------


@pytest.mark.slow
def test_a_held_demo_exits_3_and_keeps_its_bundle_so_that_approve_applies_it(
    tmp_path: Path,
) -> None:
    settings = tmp_path / "schoolsync.toml"
    settings.write_text(
        "[locks]\nmax_ended_users_percent = 0\nmax_ended_users_count = 0\n", encoding="utf-8"
    )
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--config", str(settings), "--today", TODAY]
    assert invoke(*db, "sync", str(EXAMPLE_BUNDLE)).code == 0
    demo = invoke(*db, "demo", "--size", "tiny")
    assert demo.code == 3, demo.err
    assert "schoolsync runs approve 2" in demo.out and "is kept in" in demo.out
    kept = Path(demo.out.split("is kept in ")[1].split(",")[0])
    assert (kept / "persons.json").exists() or any(kept.iterdir())
    approved = invoke(*db, "runs", "approve", "2")
    assert approved.code == 0, approved.err
    assert "Run 3 applied" in approved.out


@pytest.mark.slow
def test_demo_keep_writes_the_bundle_to_the_folder_and_keeps_it(tmp_path: Path) -> None:
    out = tmp_path / "kommun"
    demo = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY, "demo", "--size",
                  "tiny", "--keep", str(out))  # fmt: skip
    assert demo.code == 0, demo.err
    assert (out / "persons.json").exists() or (out / "persons").is_dir()
    schedules = [str(p) for p in sorted((out / "schedule").glob("*.txt"))]
    again = invoke("--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY, "sync",
                   "--json", str(out), *schedules)  # fmt: skip
    assert again.code == 0
    assert json.loads(again.out)["changes"]["users"]["created"] == 0


# --- 12. stop messages stay on one line in logs ------------------------------------------------


def test_a_long_error_sentence_stays_on_one_line_when_stderr_is_not_a_terminal(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("a-rather-long-folder-name-for-a-cron-job-" * 4)
    deep.mkdir()
    result = invoke("--db", f"sqlite:///{deep / 'schoolsync.db'}", "runs")
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert len(first) > 200
    assert first.startswith("Error: There is no schoolsync directory at")
    assert "created nothing" in first


# --- 13. runs show puts the verdict first ------------------------------------------------------


def test_runs_show_of_a_held_run_gives_the_verdict_and_its_reasons_before_the_counts(
    tmp_path: Path,
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'd.db'}", "--today", TODAY]
    b = Bundle()
    unit = b.unit("Storskolan", "99990500")
    ids = [b.student("Elev", f"N{n}", f"20120{(n % 9) + 1}01TF{n:02d}", unit) for n in range(40)]
    b.group("7A", unit, "Klass", ids)
    assert invoke(*db, "sync", str(b.write(tmp_path / "a"))).code == 0
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    assert invoke(*db, "sync", str(b.write(tmp_path / "b"))).code == 3

    shown = invoke(*db, "runs", "show", "2").out
    verdict = shown.index("Held by a safety lock (lock-mass-change)")
    reason = shown.index("At Storskolan, 25 of its 40 active users would end")
    counts = shown.index("Issues by code")
    assert verdict < reason < counts
    assert "Not approved" in shown and "runs approve 2" in shown
    assert "--all" in shown and "Issues\n" not in shown  # the full list is behind --all
    assert "Issues" in invoke(*db, "runs", "show", "2", "--all").out

    assert invoke(*db, "runs", "approve", "2").code == 0
    approved = invoke(*db, "runs", "show", "2").out
    assert "Approved" in approved and "applied as run 3" in approved
    assert "It approved the held run 2" in invoke(*db, "runs", "show", "3").out


def test_runs_show_caps_the_change_log_and_names_schools(tmp_path: Path) -> None:
    db = synced(tmp_path)
    shown = invoke(*db, "runs", "show", "1").out
    assert "more change(s), use --log" in shown
    whole = invoke(*db, "runs", "show", "1", "--log").out
    assert "more change(s)" not in whole
    assert "school: Exempelskolan 7-9" in whole and "school_id" not in whole
