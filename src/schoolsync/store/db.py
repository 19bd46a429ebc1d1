"""Opening the directory database: URL, engine, automatic migrations, error translation.

SQLite is the default (``sqlite:///schoolsync.db``); PostgreSQL via ``postgresql+psycopg://``.
Commands that write create or upgrade the tables on first use (under the run lock), so there is
no manual setup step; read-only commands never create a directory. Every database failure leaves
as a :class:`DatabaseError` naming the database without its password.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sqlite3
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from filelock import FileLock, Timeout
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, IntegrityError, SQLAlchemyError

from schoolsync import __version__
from schoolsync.errors import (
    DatabaseError,
    DirectoryBusyError,
    NewerDirectoryError,
    NoDirectoryError,
)
from schoolsync.store.schema import metadata

if sys.platform != "win32":
    import fcntl

DEFAULT_URL = "sqlite:///schoolsync.db"
ENV_URL = "SCHOOLSYNC_DATABASE_URL"


def resolve_url(url: str | None) -> str:
    """The database URL to use: the argument, else ``$SCHOOLSYNC_DATABASE_URL``, else SQLite."""
    return url or os.environ.get(ENV_URL) or DEFAULT_URL


def display_url(url: str | URL) -> str:
    """A URL fit for messages: the password is replaced by ``***``, also one given in the
    query (``?password=…``, libpq's ``sslpassword``)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<an unreadable database URL>"
    secret = {k: "***" for k in parsed.query if k.lower() in ("password", "sslpassword")}
    if secret:
        parsed = parsed.update_query_dict(secret)
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


SQLITE_CACHE_KIB = 65536
"""The SQLite page cache of each connection, in KiB."""


BUSY_TIMEOUT_MS = 30_000  # how long SQLite waits for another writer before it gives up


def _fold(text: str | None) -> str | None:
    return text.lower() if isinstance(text, str) else text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # SQLite's own lower() folds only A–Z: searches fold with Python's, which knows Å, Ä and Ö.
    dbapi_conn.create_function("unicode_lower", 1, _fold, deterministic=True)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # 64 MiB of page cache instead of SQLite's 2 MiB: a big run's index and key lookups then
    # stay in memory instead of going to the file system for every page (a large first sync
    # spends a third less time writing). Pages are only held as they are read.
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_ENCODE = json.JSONEncoder(default=_json_default, ensure_ascii=False).encode
_ENCODE_FAST = msgspec.json.Encoder().encode


class Memo(dict[Any, Any]):
    """A value to what a function makes of it, made once per distinct value (None stays None):
    dates parsed from or formatted to text, JSON lists decoded, for columns where many rows
    share a value."""

    def __init__(self, make: Callable[[Any], Any]) -> None:
        super().__init__()
        self._make = make

    def __missing__(self, value: Any) -> Any:
        made = self[value] = None if value is None else self._make(value)
        return made


def json_dumps(value: object) -> str:
    """JSON for the database's JSON columns (dates as ISO strings, UTF-8 kept)."""
    return _ENCODE(value)


def json_compact(value: object) -> str:
    """JSON for the JSON columns of bulk writes: the same document as :func:`json_dumps`
    (dates as ISO strings, UTF-8 kept), without the spaces, about six times as fast."""
    return _ENCODE_FAST(value).decode()


def describe_db_error(exc: BaseException) -> str:
    """The first line of a driver error, without a SQL statement or parameters."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0].rstrip(".") if text else type(orig).__name__


def _foreign_keys_on(conn: Connection) -> bool:
    """SQLite, after a commit: foreign keys on again for the connection; True when they are."""
    try:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # no transaction is open: SQLite takes it
        on = conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        conn.rollback()  # the pragmas began no transaction of SQLite's; end SQLAlchemy's
    except SQLAlchemyError:  # the run is committed all the same; the connection is let go
        return False
    return on


_WRITE = re.compile(
    r'\s*(INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+"?(\w+)"?(?![\w."])',
    re.IGNORECASE,
)
# What may delete or re-key rows without saying so (REPLACE, an upsert): then every table is
# checked. SAVEPOINT and the like, reads and index changes write no rows.
_UNCLEAR = re.compile(r"\bREPLACE\b|\bON\s+CONFLICT\b", re.IGNORECASE)
_READ_ONLY = re.compile(
    r"\s*(SELECT|PRAGMA|CREATE\s+(UNIQUE\s+)?INDEX|DROP\s+INDEX|SAVEPOINT|RELEASE|ROLLBACK)\b",
    re.IGNORECASE,
)
_LAST_WHERE = re.compile(r"\sWHERE\s(?!.*\sWHERE\s)", re.IGNORECASE | re.DOTALL)


class _Writes:
    """SQLite, in a transaction with foreign keys off: the tables whose rows may now break a
    foreign key, learnt from every statement the connection runs. Rows inserted into or updated
    in a table may name parents that do not exist; a parent's rows deleted, or updated where
    the update mentions a column its children name, may be named by them. ``unknown`` when a
    statement that may write could not be read: then every table is checked."""

    def __init__(self) -> None:
        self.tables: set[str] = set()
        self.unknown = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.unknown:
            return
        found = _WRITE.match(statement)
        if found is None or _UNCLEAR.search(statement):
            self.unknown = found is not None or _READ_ONLY.match(statement) is None
            return
        verb, table = found.group(1).split()[0].upper(), found.group(2).lower()
        if verb != "DELETE":
            self.tables.add(table)
        named = _named_columns().get(table)
        if named is None or verb == "INSERT":
            return
        if verb == "UPDATE":
            rest = statement[found.end() :]
            where = _LAST_WHERE.search(rest)
            assigned = rest[: where.start()] if where else rest  # SET ..., subqueries included
            if not any(re.search(rf"\b{c}\b", assigned, re.IGNORECASE) for c in named[0]):
                return
        self.tables.update(named[1])


@lru_cache(maxsize=1)
def _named_columns() -> dict[str, tuple[frozenset[str], frozenset[str]]]:
    """Per directory table that others name in a foreign key: the columns they name, and
    those tables (its children)."""
    columns: dict[str, set[str]] = {}
    children: dict[str, set[str]] = {}
    for table in metadata.tables.values():
        for key in table.foreign_keys:
            parent = key.column.table.name
            columns.setdefault(parent, set()).add(key.column.name)
            children.setdefault(parent, set()).add(table.name)
    return {p: (frozenset(columns[p]), frozenset(children[p])) for p in columns}


def _check_foreign_keys(conn: Connection, writes: _Writes) -> None:
    """SQLite: fail as a row written against a foreign key would have, if any row breaks one.
    Only the tables the transaction may have broken a key of are checked (a big schedule run
    does not check every membership), all of them when that is not known."""
    if writes.unknown:
        checks = ["PRAGMA foreign_key_check"]
    else:
        checks = [f'PRAGMA foreign_key_check("{name}")' for name in sorted(writes.tables)]
    for check in checks:
        broken = conn.exec_driver_sql(check).first()
        if broken is not None:
            table, rowid, parent, _ = broken
            raise IntegrityError(
                check,
                None,
                sqlite3.IntegrityError(
                    f"FOREIGN KEY constraint failed (a row of {table}, rowid {rowid}, names a "
                    f"row of {parent} that does not exist)"
                ),
            )


class _SecondaryPsycopgErrors(logging.Filter):
    """Drop psycopg's "error ignored ..." warnings.

    When a statement fails inside psycopg's pipeline (SQLAlchemy's ``executemany``), leaving the
    pipeline fails too, and psycopg logs that second failure ("error ignored terminating
    <psycopg.Pipeline ...>: pipeline aborted") while the first one propagates. The first one
    becomes the user's sentence; the second is noise on stderr.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("error ignored")


logging.getLogger("psycopg").addFilter(_SecondaryPsycopgErrors())

MIGRATION_WAIT = 60.0
"""Seconds a command waits for the run lock when the directory must be created or upgraded."""


class Store:
    """The directory database: an engine plus the guarantees around it.

    One writer at a time (:meth:`run_lock`):

    - SQLite: an exclusive ``flock`` on the database file itself, through a descriptor of its
      own. The lock belongs to the file (its inode), not to the text of ``--db``, so a symlink,
      a relative path or another spelling of the path meets the same lock. A file with several
      hard links is refused outright (see :meth:`_check_links`). ``flock`` locks are
      independent of the POSIX record locks SQLite takes on the same file (Linux), and the
      descriptor stays open until :meth:`dispose`, after SQLite's own connections are closed,
      so closing it never drops SQLite's locks. Where ``flock`` does not exist (Windows), a lock
      file beside the database's real path is used instead.
    - PostgreSQL: a session advisory lock keyed on the database and schema, on a connection of
      its own.

    Both are released by the operating system or the server when the process ends, even when it
    crashes. Within one Store the lock is re-entrant in the thread that holds it.

    Creating and upgrading the tables (:meth:`migrate`) happens under the same lock.

    Attributes:
        url: The parsed URL.
        display: The URL for messages (no password).
        engine: The SQLAlchemy engine.
    """

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        """Open the directory database.

        Args:
            url: The SQLAlchemy URL (default: ``$SCHOOLSYNC_DATABASE_URL``, else SQLite).
            migrate: Create or upgrade the tables now (waiting up to :data:`MIGRATION_WAIT`
                seconds for a run that holds the directory). Without it nothing is touched
                until :meth:`migrate` or a query.
        """
        self.url = _parse(resolve_url(url))
        self.display = display_url(self.url)
        self._guard = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None
        self._file_lock: FileLock | None = None
        self._pg_lock: tuple[Connection, int] | None = None
        if self.url.get_backend_name() == "sqlite":
            path = self.sqlite_path
            if path is not None:
                parent = path.expanduser().resolve().parent
                if not parent.is_dir():
                    raise DatabaseError(
                        f"The folder of the database {self.display} does not exist.",
                        "Create the folder or give another --db path.",
                    )
                if path.is_dir():
                    raise DatabaseError(
                        f"The database {self.display} is a folder, not a file.",
                        "Give the path of the database file, e.g. "
                        f"sqlite:///{path / 'schoolsync.db'}.",
                    )
                if path.exists():
                    self._check_links(path.stat().st_nlink)
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

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file as given (None for PostgreSQL and in-memory databases)."""
        if not self.is_sqlite:
            return None
        database = (self.url.database or "").removeprefix("file:").split("?")[0]
        if not database or database == ":memory:":
            return None
        return Path(database)

    def fail(self, exc: BaseException, doing: str) -> DatabaseError:
        """Translate a driver error into a DatabaseError naming the database."""
        if isinstance(exc, (IntegrityError, DataError)):
            return DatabaseError(
                f"The directory database {self.display} refused a record while {doing}: "
                f"{describe_db_error(exc)}{_constraint(exc)}. The whole run was rolled back, "
                f"so nothing was applied.",
                "This is a fault in schoolsync, not in the database: please report it with this "
                "message (run again with --debug for the details).",
            )
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
    def transaction(
        self,
        doing: str = "writing",
        committed: Callable[[], None] | None = None,
        *,
        bulk: bool = False,
    ) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any exception.

        Args:
            doing: What the transaction does, for the error message.
            committed: Called right after the commit. SIGINT is held back from just before the
                commit until this returns, so a Ctrl-C cannot fall between the commit and the
                caller learning of it.
            bulk: The transaction writes many rows. On SQLite its foreign keys are then checked
                once, for every row, just before the commit (``PRAGMA foreign_key_check``), not
                with a lookup per row as each is written; a row that breaks one fails the
                transaction all the same, and nothing is committed. (PostgreSQL checks a big
                load's keys at its end by itself: see :mod:`schoolsync.engine.apply`.)
        """
        deferred = bulk and self.is_sqlite
        try:
            with self.engine.connect() as conn:
                trans = conn.begin()
                restored = not deferred
                try:
                    writes = _Writes()
                    if deferred:
                        # Before the transaction's first write, so SQLite takes it (the pragma
                        # is ignored inside a transaction).
                        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                        event.listen(conn, "before_cursor_execute", writes)
                    try:
                        yield conn
                        if deferred:
                            event.remove(conn, "before_cursor_execute", writes)
                            _check_foreign_keys(conn, writes)
                    except BaseException:
                        if deferred and event.contains(conn, "before_cursor_execute", writes):
                            event.remove(conn, "before_cursor_execute", writes)
                        trans.rollback()
                        raise
                    with interrupts_deferred():
                        trans.commit()
                        if deferred:
                            restored = _foreign_keys_on(conn)
                        if committed is not None:
                            committed()
                finally:
                    if not restored:
                        # The run failed (or the commit did) with foreign keys off: the
                        # connection is thrown away rather than set back, so no later
                        # transaction can ever get it without them.
                        conn.invalidate()
        except SQLAlchemyError as exc:
            raise self.fail(exc, doing) from exc

    def analyze(self) -> None:
        """Refresh PostgreSQL's planner statistics after a bulk load (autovacuum would, in its
        own time; until then a page of lessons by school takes seconds instead of milliseconds).
        Best effort: the run is committed already, so a failure here changes nothing."""
        if self.is_sqlite:
            return
        names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)  # only ours
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql(f"ANALYZE {names}")
                conn.commit()
        except SQLAlchemyError:
            pass

    def revision(self) -> str | None:
        """The directory's schema revision, or None when there is no directory at the URL.

        Nothing is created: an SQLite file that does not exist is not made.

        Raises:
            NewerDirectoryError: When a newer schoolsync wrote the directory.
            DatabaseError: When the database cannot be read.
        """
        path = self.sqlite_path
        if path is not None and not path.exists():
            return None
        try:
            with self.engine.connect() as conn:
                heads = MigrationContext.configure(conn).get_current_heads()
        except SQLAlchemyError as exc:
            raise self.fail(exc, "opening it") from exc
        if not heads:
            return None
        known = {rev.revision for rev in _scripts().walk_revisions()}
        unknown = [h for h in heads if h not in known]
        if unknown:
            raise NewerDirectoryError(
                f"The directory {self.display} was written by a newer schoolsync (schema "
                f"revision {unknown[0]}); this schoolsync {__version__} knows revisions up to "
                f"{_scripts().get_current_head()}, so it leaves the directory alone.",
                "Upgrade schoolsync to the version that wrote it (or newer), then run the "
                "command again.",
            )
        return heads[0] if len(heads) == 1 else ",".join(sorted(heads))

    @staticmethod
    def head() -> str:
        """The newest schema revision this schoolsync knows."""
        return str(_scripts().get_current_head())

    def exists(self) -> bool:
        """True when a schoolsync directory (at any known revision) is at the URL."""
        return self.revision() is not None

    def migrate(self, *, create: bool = True, wait: float = MIGRATION_WAIT) -> None:
        """Create or upgrade the tables to the newest schema (Alembic), under the run lock.

        The revision is checked first without the lock (the common case: nothing to do), then
        again under it, so two first runs never both create the tables. A new directory gets the
        code's tables at once and is stamped with the newest revision (what running every
        migration would build: a test holds the two the same); an older one is migrated.

        Args:
            create: Create the tables when there is no directory yet. Without it, a missing
                directory is an error and only an existing, older one is upgraded.
            wait: Seconds to wait for a run that holds the directory (when there is work).

        Raises:
            NoDirectoryError: When there is no directory and ``create`` is false.
            NewerDirectoryError: When a newer schoolsync wrote the directory.
            DirectoryBusyError: When another run holds the directory for longer than ``wait``.
            DatabaseError: When the database fails.
        """
        head = _scripts().get_current_head()
        current = self.revision()
        if current == head:
            return
        if current is None and not create:
            raise self._missing()
        with self.run_lock(wait):
            current = self.revision()
            if current == head:
                return
            if current is None and not create:
                raise self._missing()
            try:
                with self.engine.begin() as conn:
                    cfg = _alembic_config()
                    cfg.attributes["connection"] = conn
                    if current is None:  # a new directory: the newest schema at once, stamped
                        metadata.create_all(conn)  # as Alembic's cookbook builds one from scratch
                        command.stamp(cfg, "head")
                    else:
                        command.upgrade(cfg, "head")
            except SQLAlchemyError as exc:
                doing = "creating its tables" if current is None else "upgrading its tables"
                raise self.fail(exc, doing) from exc

    def _missing(self) -> NoDirectoryError:
        where = self.display
        path = self.sqlite_path
        if path is not None and not path.is_absolute():
            where += f" (the file {path.resolve()})"
        return NoDirectoryError(
            f"There is no schoolsync directory at {where}; this command only works on an "
            f"existing one and created nothing.",
            f"Check --db (or $SCHOOLSYNC_DATABASE_URL and the working directory). To make a new "
            f"directory: schoolsync init --db {self.display} (or run a sync into it).",
        )

    @contextmanager
    def run_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the directory's run lock: one writer at a time, released even by a crash.

        Args:
            wait: Seconds to wait for another run to finish before giving up.

        Raises:
            DirectoryBusyError: When another run holds the lock for longer than ``wait``.
        """
        deadline = time.monotonic() + wait
        if not (self._guard.acquire(timeout=wait) if wait > 0 else self._guard.acquire(False)):
            raise self._busy(wait)
        try:
            if self._depth == 0:
                self._acquire(deadline, wait)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._release()
        finally:
            self._guard.release()

    def _acquire(self, deadline: float, wait: float) -> None:
        if self.is_sqlite:
            path = self.sqlite_path
            if path is not None:
                self._lock_sqlite(path, deadline, wait)
            return
        try:
            conn = self.engine.connect()
        except SQLAlchemyError as exc:
            raise self.fail(exc, "opening it") from exc
        try:
            where = conn.execute(sa.text("SELECT current_database() || '.' || current_schema()"))
            key = zlib.crc32(f"schoolsync:{where.scalar()}".encode())
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                if time.monotonic() >= deadline:
                    raise self._busy(wait)
                time.sleep(0.2)
            conn.commit()
        except BaseException as exc:
            conn.close()
            if isinstance(exc, SQLAlchemyError):
                raise self.fail(exc, "locking it") from exc
            raise
        self._pg_lock = (conn, key)

    def _lock_sqlite(self, path: Path, deadline: float, wait: float) -> None:
        if sys.platform == "win32":  # pragma: no cover - no flock there
            if self._file_lock is None:
                self._file_lock = FileLock(f"{path.resolve()}.lock")
            try:
                self._file_lock.acquire(timeout=wait)
            except Timeout as exc:
                raise self._busy(wait) from exc
            return
        if self._lock_fd is None:
            try:
                self._lock_fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise self._unopenable(path, exc) from exc
        self._check_links(os.fstat(self._lock_fd).st_nlink)
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise self._busy(wait) from None
                time.sleep(0.1)
            except OSError as exc:
                raise self._unopenable(path, exc) from exc

    def _check_links(self, links: int) -> None:
        """Refuse an SQLite file that has several names (hard links).

        SQLite keeps its write-ahead log and rollback journal beside the NAME a program opens,
        not beside the file: a run through one name and a reader (or a crash recovery) through
        another do not see each other's log, and changes are lost or the file is damaged. A
        symlink is fine: SQLite follows it to the real name.
        """
        if links > 1:
            raise DatabaseError(
                f"The database file of {self.display} has {links} names (hard links). SQLite "
                f"keeps its log beside the name a program opens, so through two names changes "
                f"can be lost; schoolsync did not open it.",
                "Keep one name: remove the other hard links (a symbolic link is fine), then run "
                "again.",
            )

    def _release(self) -> None:
        if self._pg_lock is not None:
            conn, key = self._pg_lock
            self._pg_lock = None
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except SQLAlchemyError:
                pass  # closing the connection below frees the lock anyway
            finally:
                conn.close()
        if self._file_lock is not None:  # pragma: no cover - Windows
            self._file_lock.release()
        if self._lock_fd is not None and sys.platform != "win32":
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _unopenable(self, path: Path, exc: OSError) -> DatabaseError:
        what = "open" if path.exists() else "create"
        return DatabaseError(
            f"Cannot {what} the database file {path} of the directory {self.display}: "
            f"{exc.strerror or exc}. Nothing was changed.",
            "Check that the folder exists and that this user may write to it (and to the file), "
            "or give another --db path.",
        )

    def _busy(self, wait: float) -> DirectoryBusyError:
        waited = f" (waited {wait:g} seconds)" if wait else ""
        return DirectoryBusyError(
            f"Another schoolsync run is changing the directory {self.display}{waited}, "
            f"so this one stopped without changing anything.",
            "Let the other run finish, or give --wait SECONDS to wait for it.",
        )

    def dispose(self) -> None:
        """Close every pooled connection, then the lock descriptor."""
        self.engine.dispose()
        if self._lock_fd is not None and self._depth == 0:
            os.close(self._lock_fd)
            self._lock_fd = None


def _constraint(exc: BaseException) -> str:
    """`` (constraint X on table Y)`` as PostgreSQL names them; SQLite names them in its text."""
    diag = getattr(getattr(exc, "orig", None), "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    table = getattr(diag, "table_name", None)
    if constraint and table:
        return f" (constraint {constraint} on table {table})"
    if table:
        return f" (table {table})"
    return ""


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold back SIGINT (Ctrl-C) and SIGTERM (a service manager's stop) for the block; one that
    came in is handled right after it, as it would have been.

    Outside the main thread (where signal handlers cannot be set) the block runs unprotected.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in held}

    def remember(signum: int, _frame: Any) -> None:
        received.append(signum)

    for signum in held:
        signal.signal(signum, remember)
    try:
        yield
    finally:
        for signum in held:
            signal.signal(signum, previous[signum])
    if received:
        first = received[0]
        handler = previous[first]
        if callable(handler):
            handler(first, None)
        elif handler == signal.SIG_DFL and first == signal.SIGTERM:
            signal.raise_signal(first)
        elif handler != signal.SIG_IGN:
            raise KeyboardInterrupt


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_alembic_config())


def _alembic_config() -> Config:
    cfg = Config()
    location = resources.files("schoolsync.store") / "migrations"
    cfg.set_main_option("script_location", str(location))
    return cfg
