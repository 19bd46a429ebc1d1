"""Opening the directory database: URL, engine, automatic migrations, error translation.

SQLite is the default (``sqlite:///schoolsync.db``); PostgreSQL via ``postgresql+psycopg://``.
Migrations run on first use, so there is no manual setup step. Every database failure leaves as a
:class:`DatabaseError` naming the database without its password.
"""

from __future__ import annotations

import json
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from schoolsync.errors import DatabaseError, DirectoryBusyError

DEFAULT_URL = "sqlite:///schoolsync.db"
ENV_URL = "SCHOOLSYNC_DATABASE_URL"


def resolve_url(url: str | None) -> str:
    """The database URL to use: the argument, else ``$SCHOOLSYNC_DATABASE_URL``, else SQLite."""
    return url or os.environ.get(ENV_URL) or DEFAULT_URL


def display_url(url: str | URL) -> str:
    """A URL fit for messages: the password is replaced by ``***``."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<an unreadable database URL>"
    return parsed.render_as_string(hide_password=True)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            "The database URL is not a URL SQLAlchemy understands.",
            "Use sqlite:///path/to/schoolsync.db or postgresql+psycopg://user@host/dbname.",
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"The database {display_url(parsed)} is neither SQLite nor PostgreSQL.",
            "schoolsync supports sqlite:/// and postgresql+psycopg:// URLs.",
        )
    return parsed


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(value: object) -> str:
    """JSON for the database's JSON columns (dates as ISO strings, UTF-8 kept)."""
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def describe_db_error(exc: BaseException) -> str:
    """The first line of a driver error, without a SQL statement or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0].rstrip(".") if text else type(orig).__name__


class Store:
    """The directory database: an engine plus the guarantees around it.

    Attributes:
        url: The parsed URL.
        engine: The SQLAlchemy engine.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = _parse(resolve_url(url))
        self.display = display_url(self.url)
        if self.url.get_backend_name() == "sqlite":
            database = self.url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                parent = Path(database).expanduser().resolve().parent
                if not parent.is_dir():
                    raise DatabaseError(
                        f"The folder of the database {self.display} does not exist.",
                        "Create the folder or give another --db path.",
                    )
            self.engine: Engine = sa.create_engine(self.url, json_serializer=json_dumps)
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(
                self.url, json_serializer=json_dumps, connect_args={"connect_timeout": 10}
            )
        if migrate:
            self.migrate()

    @property
    def is_sqlite(self) -> bool:
        """True when the directory is an SQLite file."""
        return self.url.get_backend_name() == "sqlite"

    def fail(self, exc: BaseException, doing: str) -> DatabaseError:
        """Translate a driver error into a DatabaseError naming the database."""
        return DatabaseError(
            f"The directory database {self.display} failed while {doing}: "
            f"{describe_db_error(exc)}. Nothing was changed.",
            "Check that the database is running, reachable and has free space, then run again.",
        )

    @contextmanager
    def connect(self, doing: str = "reading") -> Iterator[Connection]:
        """A connection for reading; database errors become DatabaseError."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self.fail(exc, doing) from exc

    @contextmanager
    def transaction(self, doing: str = "writing") -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise self.fail(exc, doing) from exc

    def migrate(self) -> None:
        """Create or upgrade the tables to the newest schema (Alembic), if they are not yet."""
        script = ScriptDirectory.from_config(_alembic_config())
        head = script.get_current_head()
        try:
            with self.engine.connect() as conn:
                current = MigrationContext.configure(conn).get_current_revision()
                if current == head:
                    return
            with self.engine.begin() as conn:
                cfg = _alembic_config()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except SQLAlchemyError as exc:
            raise self.fail(exc, "opening it") from exc

    @contextmanager
    def run_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the directory's run lock: one writer at a time, released even by a crash.

        SQLite: an OS file lock on ``<database>.lock`` (freed when the process dies).
        PostgreSQL: a session advisory lock on its own connection (freed when it closes).

        Args:
            wait: Seconds to wait for another run to finish before giving up.

        Raises:
            DirectoryBusyError: When another run holds the lock for longer than ``wait``.
        """
        if self.is_sqlite:
            database = (self.url.database or "").removeprefix("file:").split("?")[0]
            if not database or database == ":memory:":
                yield
                return
            lock = FileLock(f"{database}.lock")
            try:
                lock.acquire(timeout=wait)
            except Timeout as exc:
                raise self._busy(wait) from exc
            try:
                yield
            finally:
                lock.release()
            return
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise self.fail(exc, "opening it") from exc
        try:
            where = conn.execute(sa.text("SELECT current_database() || '.' || current_schema()"))
            key = zlib.crc32(f"schoolsync:{where.scalar()}".encode())
            deadline = time.monotonic() + wait
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                if time.monotonic() >= deadline:
                    raise self._busy(wait)
                time.sleep(0.2)
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        except SQLAlchemyError as exc:
            raise self.fail(exc, "locking it") from exc
        finally:
            conn.close()

    def _busy(self, wait: float) -> DirectoryBusyError:
        waited = f" for {wait:g} seconds" if wait else ""
        return DirectoryBusyError(
            f"Another schoolsync run is changing the directory {self.display} (waited{waited}), "
            f"so this one stopped without changing anything.",
            "Let the other run finish, or give --wait SECONDS to wait for it.",
        )

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _alembic_config() -> Config:
    cfg = Config()
    location = resources.files("schoolsync.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    return cfg
