"""One writer, whatever the path: the run lock, migrations under it, approvals decided under it,
and commands that never make a directory by accident (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from schoolsync.engine import apply as apply_module
from schoolsync.errors import DatabaseError
from schoolsync.store.db import Store, _alembic_config
from tests.builder import Bundle
from tests.conftest import EXAMPLE_BUNDLE, TODAY, Directory, invoke, run_cli

BUSY = "Another schoolsync run is changing the directory"
NO_DIRECTORY = "There is no schoolsync directory at"


def big_school(students: int = 40) -> tuple[Bundle, list[str]]:
    b = Bundle()
    unit = b.unit("Storskolan", "99990500")
    ids = [b.student("Elev", f"Nummer{n}", f"20120{(n % 9) + 1}01TF{n:02d}", unit)
           for n in range(students)]  # fmt: skip
    b.group("7A", unit, "Klass", ids)
    return b, ids


def held_run(directory: Directory, tmp_path: Path) -> int:
    """A directory with one applied run and one run held by the mass-change lock."""
    b, ids = big_school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] not in ids[:25]]
    held = directory.sync(b.write(tmp_path / "b"))
    assert held.status == "held" and held.run_id is not None
    return held.run_id


def engine_for(url: str) -> sa.Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed)


def tables(url: str) -> list[str]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            return sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()


def spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8"}
    return subprocess.Popen(
        [sys.executable, "-m", "schoolsync", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


# --- 1. the SQLite lock belongs to the file, not to the text of --db ---------------------------


@pytest.mark.slow
def test_a_sync_through_a_symlink_or_another_spelling_meets_the_same_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "real" / "directory.db"
    real.parent.mkdir()
    Store(f"sqlite:///{real}").dispose()  # an empty directory
    (tmp_path / "links").mkdir()
    symlink = tmp_path / "links" / "symlink.db"
    symlink.symlink_to(real)
    b, _ = big_school()
    folder = b.write(tmp_path / "bundle")
    holder = Store(f"sqlite:///{real}")
    try:
        with holder.run_lock():
            for url in (f"sqlite:///{symlink}", f"sqlite:///{tmp_path}/links/../real/directory.db",
                        "sqlite:///real/directory.db"):  # fmt: skip
                busy = run_cli("--db", url, "sync", str(folder), cwd=tmp_path)
                assert busy.code == 1, busy.err
                assert BUSY in busy.err and "Traceback" not in busy.err
        assert Directory(f"sqlite:///{real}").export()["users"] == []
    finally:
        holder.dispose()


@pytest.mark.slow
def test_a_sync_through_a_symlink_waits_for_the_run_that_holds_the_file(tmp_path: Path) -> None:
    real = tmp_path / "directory.db"
    Store(f"sqlite:///{real}").dispose()  # an empty directory
    symlink = tmp_path / "other-name.db"
    symlink.symlink_to(real)
    b, _ = big_school()
    folder = b.write(tmp_path / "bundle")
    holder = Store(f"sqlite:///{real}")
    release = threading.Event()

    def hold() -> None:
        with holder.run_lock():
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        threading.Timer(1.5, release.set).start()
        waited = run_cli("--db", f"sqlite:///{symlink}", "sync", "--wait", "30", str(folder))
        assert waited.code == 0, waited.err
    finally:
        release.set()
        thread.join()
        holder.dispose()
    assert len(Directory(f"sqlite:///{real}").export()["users"]) == 40


@pytest.mark.parametrize("args", [["sync", str(EXAMPLE_BUNDLE)], ["export"], ["init"]],
                         ids=" ".join)  # fmt: skip
def test_a_database_file_with_a_second_hard_link_is_refused_through_either_name(
    tmp_path: Path, args: list[str]
) -> None:
    real = tmp_path / "directory.db"
    assert invoke("--db", f"sqlite:///{real}", "--today", TODAY.isoformat(), "sync",
                  str(EXAMPLE_BUNDLE)).code == 0  # fmt: skip
    before = Directory(f"sqlite:///{real}").export()
    os.link(real, tmp_path / "second-name.db")
    for name in ("second-name.db", "directory.db"):
        result = invoke("--db", f"sqlite:///{tmp_path / name}", "--today", "2025-10-16", *args)
        assert result.code == 1, result.err
        assert "has 2 names (hard links)" in result.err and "Internal error" not in result.err
    os.unlink(tmp_path / "second-name.db")
    assert Directory(f"sqlite:///{real}").export() == before


# --- 2. approving is decided under the run lock ------------------------------------------------


@pytest.mark.slow
def test_two_approvals_of_one_held_run_at_once_apply_it_once(
    directory: Directory, tmp_path: Path
) -> None:
    run_id = held_run(directory, tmp_path)
    holder = Store(directory.url)
    try:
        with holder.run_lock():  # both approvals start while a run holds the directory
            args = ["--db", directory.url, "--today", TODAY.isoformat(), "runs", "approve",
                    str(run_id), "--wait", "60"]  # fmt: skip
            procs = [spawn(*args) for _ in range(2)]
            threading.Event().wait(2.0)
        outcomes = [(p.wait(120), *p.communicate()) for p in procs]
    finally:
        holder.dispose()
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1], outcomes
    refused = next(err for code, _, err in outcomes if code == 1)
    assert "approved already" in refused and "Traceback" not in refused
    runs = json.loads(invoke("--db", directory.url, "runs", "--json").out)
    applied = [r for r in runs if r["status"] == "applied"]
    assert len(applied) == 2  # the first sync and ONE approval
    assert sum(u["status"] == "ended" for u in directory.export()["users"]) == 25


# --- 3. tables are created under the run lock --------------------------------------------------


def test_a_first_sync_while_another_run_holds_the_empty_directory_creates_no_tables(
    db_url: str, tmp_path: Path
) -> None:
    holder = Store(db_url, migrate=False)
    try:
        with holder.run_lock():
            busy = invoke("--db", db_url, "sync", str(EXAMPLE_BUNDLE))
        assert busy.code == 1 and BUSY in busy.err
        assert "alembic_version" not in tables(db_url)
    finally:
        holder.dispose()


@pytest.mark.slow
def test_two_first_syncs_into_an_empty_directory_both_apply(db_url: str) -> None:
    args = ("--db", db_url, "--today", TODAY.isoformat(), "sync", "--wait", "60",
            str(EXAMPLE_BUNDLE))  # fmt: skip
    procs = [spawn(*args) for _ in range(2)]
    outcomes = [(p.wait(120), *p.communicate()) for p in procs]
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    assert not any("duplicate key" in err or "already exists" in err for _, _, err in outcomes)
    assert len(Directory(db_url).export()["users"]) == 14


# --- 4. only sync, demo and init make a directory ----------------------------------------------

READ_ONLY_AND_HAND_COMMANDS = [
    ["export"],
    ["export", "--json"],
    ["runs"],
    ["runs", "show", "1"],
    ["runs", "approve", "1"],
    ["troubleshoot", "group", "Ma 7A"],
    ["troubleshoot", "signature", "KAHO"],
    ["user", "edit", "198101012386", "--email", "karin@example.invalid"],
    ["user", "rekey", "198101012386", "198101012394"],
    ["user", "merge", "198101012386", "198101012394"],
    ["class", "rename", "7A", "7B", "--school", "Exempelskolan 7-9"],
    ["group", "rename", "Ma 7A", "Ma 7B", "--school", "Exempelskolan 7-9"],
]


@pytest.mark.parametrize("args", READ_ONLY_AND_HAND_COMMANDS, ids=" ".join)
def test_a_command_other_than_sync_demo_or_init_never_creates_a_directory(
    db_url: str, args: list[str]
) -> None:
    result = invoke("--db", db_url, *args)
    assert result.code == 1, result.err
    assert NO_DIRECTORY in result.err and "schoolsync init --db" in result.err
    assert "Internal error" not in result.err
    if db_url.startswith("sqlite"):
        assert not Path(make_url(db_url).database or "").exists()
    else:
        assert tables(db_url) == []


def test_the_no_directory_sentence_names_the_database_without_its_password(db_url: str) -> None:
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        pytest.skip("an SQLite URL has no password")
    with_password = url.set(password="hemligt").render_as_string(hide_password=False)
    result = invoke("--db", with_password, "runs")
    assert result.code == 1 and NO_DIRECTORY in result.err
    assert "hemligt" not in result.err and str(url.host) in result.err


def test_a_relative_default_database_that_is_missing_is_named_with_its_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCHOOLSYNC_DATABASE_URL", raising=False)
    result = invoke("runs")
    assert result.code == 1 and str(tmp_path / "schoolsync.db") in result.err
    assert not (tmp_path / "schoolsync.db").exists()


def test_init_creates_a_directory_the_other_commands_then_use(db_url: str) -> None:
    created = invoke("--db", db_url, "init")
    assert created.code == 0 and "Created an empty directory" in created.out
    again = invoke("--db", db_url, "init")
    assert again.code == 0 and "up to date" in again.out
    runs = invoke("--db", db_url, "runs", "--json")
    assert runs.code == 0 and json.loads(runs.out) == []
    assert json.loads(invoke("--db", db_url, "export", "--json").out)["users"] == []


def test_a_directory_of_an_older_schoolsync_is_upgraded_by_a_read_only_command(
    db_url: str,
) -> None:
    old = Store(db_url, migrate=False)
    with old.engine.begin() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    old.dispose()
    result = invoke("--db", db_url, "runs", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == []
    store = Store(db_url, migrate=False)
    try:
        assert store.revision() != "0001"
    finally:
        store.dispose()


# --- 5. a directory of a newer schoolsync ------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["sync", str(EXAMPLE_BUNDLE)], ["init"], ["export"], ["runs"], ["runs", "show", "1"],
     ["runs", "approve", "1"], ["troubleshoot", "group", "Ma 7A"],
     ["user", "edit", "198101012386", "--email", "x@example.invalid"],
     ["demo", "--size", "tiny"]],
    ids=" ".join,
)  # fmt: skip
def test_a_directory_written_by_a_newer_schoolsync_stops_every_command_with_a_sentence(
    directory: Directory, args: list[str]
) -> None:
    directory.sync(EXAMPLE_BUNDLE)
    engine = engine_for(directory.url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
    engine.dispose()
    result = invoke("--db", directory.url, "--today", TODAY.isoformat(), *args)
    assert result.code == 1, result.err
    assert "written by a newer schoolsync" in result.err and "0999_from_the_future" in result.err
    assert "Upgrade schoolsync" in result.err and "Internal error" not in result.err
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == (
            "0999_from_the_future"
        )
        runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar()
    engine.dispose()
    assert runs == 1


# --- 6. a record the database refuses ----------------------------------------------------------


def test_a_record_the_database_refuses_is_reported_as_a_fault_and_nothing_is_applied(
    directory: Directory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    b, _ = big_school(5)
    directory.sync(b.write(tmp_path / "a"))
    before = directory.export()
    real_insert = apply_module.insert_rows

    def twice(conn: sa.Connection, table: sa.Table, rows: list, advance: object) -> None:
        real_insert(conn, table, rows, advance)  # type: ignore[arg-type]
        if table.name == "runs" or not rows:
            return
        real_insert(conn, table, rows, advance)  # type: ignore[arg-type]  # the same keys again

    monkeypatch.setattr(apply_module, "insert_rows", twice)
    b.student("Ny", "Elev", "20120101TF99", b.organisations[0]["id"])
    with pytest.raises(DatabaseError) as caught:
        directory.sync(b.write(tmp_path / "b"))
    text = str(caught.value)
    assert "refused a record" in text and "nothing was applied" in text
    assert "report it" in text and "Check that the database is running" not in text
    monkeypatch.undo()
    assert directory.export() == before


def test_a_failed_batch_update_on_postgresql_leaves_no_stray_driver_warning(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # psycopg runs a batch (executemany) in a pipeline; when its first statement fails, leaving
    # the pipeline fails too and psycopg logs "error ignored terminating <psycopg.Pipeline ...>".
    store = Store(db_url, migrate=False)
    table = sa.Table("batch_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("x", sa.String(10), unique=True))  # fmt: skip
    try:
        table.create(store.engine)
        with store.transaction() as conn:
            conn.execute(table.insert(), [{"id": 1, "x": "a"}, {"id": 2, "x": "b"}])
        caplog.set_level(logging.DEBUG)
        with pytest.raises(sa.exc.IntegrityError), store.engine.begin() as conn:
            conn.execute(
                table.update().where(table.c.id == sa.bindparam("i")).values(x=sa.bindparam("v")),
                [{"i": 1, "v": "b"}, {"i": 2, "v": "c"}],  # the first breaks the unique x
            )
    finally:
        store.dispose()
    assert not [r for r in caplog.records if "error ignored" in r.getMessage()]
