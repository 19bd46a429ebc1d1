"""Shared fixtures: a directory database on SQLite and on PostgreSQL, and the CLI.

Every test that takes ``db_url`` runs twice: on a fresh SQLite file and on a fresh PostgreSQL schema
(from ``SCHOOLSYNC_TEST_POSTGRES_URL``). Without that variable the PostgreSQL half is skipped,
unless ``SCHOOLSYNC_REQUIRE_POSTGRES=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

# Rich reads the width once, when schoolsync's consoles are made: make it wide before any import
# of schoolsync, whichever test (or xdist worker) imports it first.
os.environ.setdefault("COLUMNS", "200")

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import RunResult, sync
from schoolsync.export import export_directory
from schoolsync.store.db import Store


def pytest_configure(config: pytest.Config) -> None:
    """In-process tests hash web users' passwords with argon2id at its smallest cost: each
    sign-in at the real cost takes a sixth of a second, and the web tests sign in hundreds of
    times. The real cost is what `schoolsync` in a subprocess (the browser and serve tests)
    uses; tests/web/test_ui.py checks it there."""
    from argon2 import PasswordHasher

    from schoolsync.store import access

    access._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    access._DUMMY_HASH = access._hasher.hash("an unknown user")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first (kill, corpus, property: marked slow), the rest after them in their
    order: with several workers (pytest-xdist) they then run beside the short ones instead of
    alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


TODAY = date(2025, 10, 15)
PG_ENV = "SCHOOLSYNC_TEST_POSTGRES_URL"
REQUIRE_PG = os.environ.get("SCHOOLSYNC_REQUIRE_POSTGRES") == "1"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_BUNDLE = ROOT / "tests" / "data" / "example-bundle"


def _pg_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if REQUIRE_PG:
            pytest.fail(f"{PG_ENV} is not set but SCHOOLSYNC_REQUIRE_POSTGRES=1")
        return None
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty directory database (SQLite file or PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'directory.db'}"
        return
    base = _pg_base_url()
    if base is None:
        pytest.skip(f"{PG_ENV} is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    parsed = make_url(base).set(drivername="postgresql+psycopg")
    admin = sa.create_engine(parsed)
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL at {parsed.render_as_string()} is not reachable: {exc}")
        pytest.skip("PostgreSQL is not reachable")
    url = parsed.update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Directory:
    """A test's view of one directory database: sync into it and look at it."""

    url: str

    def sync(
        self,
        bundle: Path,
        today: date = TODAY,
        settings: Settings | None = None,
        dry_run: bool = False,
        allow_mass_changes: bool = False,
    ) -> RunResult:
        store = Store(self.url)
        try:
            return sync(
                store,
                [bundle],
                settings or Settings(),
                today,
                dry_run=dry_run,
                allow_mass_changes=allow_mass_changes,
            )
        finally:
            store.dispose()

    def export(self, today: date = TODAY) -> dict[str, Any]:
        store = Store(self.url)
        try:
            with store.connect() as conn:
                return export_directory(conn, today)
        finally:
            store.dispose()

    def export_without_ids(self, today: date = TODAY) -> Any:
        """The export without the internal ids, which another directory (or a run that makes
        rows again) gives other values: to compare two directories."""
        return without_ids(self.export(today))

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        store = Store(self.url)
        try:
            with store.connect() as conn:
                names = sa.inspect(conn).get_table_names()
                return {
                    n: conn.execute(sa.text(f'SELECT count(*) FROM "{n}"')).scalar_one()
                    for n in names
                    if n != "alembic_version"
                }
        finally:
            store.dispose()

    def user(self, civic: str, today: date = TODAY) -> dict[str, Any]:
        """One user of the export, by personnummer."""
        return next(u for u in self.export(today)["users"] if u["civic_no"] == civic)


def synced_then_held(url: str, folder: Path) -> RunResult:
    """The example municipality synced into ``url``, then a sync of a copy (in ``folder``) that
    lost its duties, which the missing-data lock holds (R10): the held run."""
    import shutil

    directory = Directory(url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    bundle = folder / "bundle-without-duties"
    shutil.copytree(EXAMPLE_BUNDLE, bundle)
    (bundle / "duties.json").unlink()
    held = directory.sync(bundle)
    assert held.status == "held"
    return held


_IDS = ("id", "group_id", "merged_into")  # the export's internal ids (random per directory)


def without_ids(value: Any) -> Any:
    """An export (or part of one) without its internal ids, to compare two directories."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in _IDS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


@pytest.fixture
def directory(db_url: str) -> Directory:
    """An empty directory on SQLite and on PostgreSQL."""
    return Directory(db_url)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def invoke(*args: str, env: dict[str, str] | None = None) -> CliResult:
    """Run ``schoolsync`` in this process (through ``main()``, as the console script does).

    Much faster than :func:`run_cli`; use the subprocess only for signals, pipes and locks.
    """
    from click.testing import CliRunner

    from schoolsync.cli import main

    runner = CliRunner(env={"COLUMNS": "200", **(env or {})})
    code: int = 0
    with runner.isolation() as streams:
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return CliResult(code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> CliResult:
    """Run the real ``schoolsync`` command in a subprocess."""
    full_env = {**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8", **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "schoolsync", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
