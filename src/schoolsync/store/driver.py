"""SQL written for the driver itself, where a bulk write or load passes SQLAlchemy's compiler
by: placeholders and quoted names in the connection's dialect, and driver errors raised as
SQLAlchemy raises them (so they are reported as every other database error is)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection


def placeholders(conn: Connection, n: int) -> str:
    """``n`` parameter markers, comma-separated, in the driver's style."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * n)


def quoted(conn: Connection, names: Iterable[str]) -> str:
    """Column names, quoted where the dialect needs it, comma-separated."""
    quote = conn.dialect.identifier_preparer.quote
    return ", ".join(quote(n) for n in names)


def table_name(conn: Connection, table: sa.Table) -> str:
    """A table's name as the dialect writes it (schema and quotes included)."""
    return conn.dialect.identifier_preparer.format_table(table)


def driver_error(
    conn: Connection, statement: str, params: Any, exc: Exception
) -> sa.exc.StatementError:
    """A driver error as SQLAlchemy would have raised it (IntegrityError, OperationalError, ...)."""
    dbapi = conn.dialect.loaded_dbapi
    return sa.exc.DBAPIError.instance(statement, params, exc, dbapi.Error)
