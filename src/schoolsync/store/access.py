"""Who may read the directory over the REST API: bearer tokens (``schoolsync admin token add``).

A token is 32 random bytes, shown once when it is made; the directory keeps only its SHA-256
(a token is not a password a person chose: a fast hash of a high-entropy secret is the usual
keeping, and the lookup must be fast). A token has a role and, for ``school-admin``, the schools
it may see; it can be revoked, and the time it was last used is recorded.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from schoolsync.errors import ConflictError, NotFoundError, SchoolsyncError
from schoolsync.store import schema as t
from schoolsync.store.db import BUSY_TIMEOUT_MS, Store

ROLES = ("org-admin", "school-admin", "read-only")
_PREFIX = "ss_"  # so a token is recognised in a secret scanner's findings
_TOUCH_EVERY = timedelta(minutes=1)  # last-used is written at most this often per token


@dataclass(frozen=True)
class Access:
    """What one token may do.

    Attributes:
        name: The token's name.
        role: ``org-admin`` (everything), ``school-admin`` (its schools), ``read-only``.
        schools: The school ids a ``school-admin`` sees; None: every school.
    """

    name: str
    role: str
    schools: frozenset[str] | None

    @property
    def may_approve(self) -> bool:
        """Whether it may approve a held run."""
        return self.role == "org-admin"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def school_ids(store: Store, names: list[str]) -> list[str]:
    """The ids of the schools named (by name or id).

    Raises:
        NotFoundError: When one is not a school of the directory.
    """
    with store.connect() as conn:
        rows = conn.execute(sa.select(t.schools.c.id, t.schools.c.name)).all()
    by_name = {name: sid for sid, name in rows} | {sid: sid for sid, _ in rows}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise NotFoundError(
            f"The directory has no school {missing[0]!r}.",
            "Give a school's name as `schoolsync export` shows it.",
        )
    return [by_name[n] for n in names]


def add_token(store: Store, name: str, role: str, schools: list[str]) -> str:
    """Make a token; returns it (the only time it is seen).

    Raises:
        SchoolsyncError: For an unknown role, a school-admin without schools, or schools given
            to another role.
        ConflictError: When a token of that name exists.
        NotFoundError: When a school is not in the directory.
    """
    if role not in ROLES:
        raise SchoolsyncError(f"There is no role {role!r}.", f"Give one of: {', '.join(ROLES)}.")
    if (role == "school-admin") != bool(schools):
        raise SchoolsyncError(
            "A school-admin token needs its schools (--school), and only a school-admin has them.",
            "Give --school NAME once per school for a school-admin.",
        )
    ids = school_ids(store, schools)
    token = _PREFIX + secrets.token_urlsafe(32)
    c = t.api_tokens.c
    with store.transaction("adding a token") as conn:
        if conn.execute(sa.select(c.id).where(c.name == name)).first() is not None:
            raise ConflictError(
                f"A token named {name!r} exists already (a revoked token keeps its name, for "
                f"the record).",
                "Choose another name.",
            )
        conn.execute(
            sa.insert(t.api_tokens).values(
                name=name,
                token_hash=_hash(token),
                role=role,
                schools=ids,
                created_at=datetime.now(UTC),
            )
        )
    return token


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token (never the token itself), with its role, schools and times."""
    with store.connect() as conn:
        names = dict(conn.execute(sa.select(t.schools.c.id, t.schools.c.name)).all())
        rows = conn.execute(sa.select(t.api_tokens).order_by(t.api_tokens.c.name)).mappings()
        return [
            {
                "name": r["name"],
                "role": r["role"],
                "schools": [names.get(s, s) for s in r["schools"]],
                "created_at": r["created_at"],
                "last_used_at": r["last_used_at"],
                "revoked_at": r["revoked_at"],
            }
            for r in rows
        ]


def revoke_token(store: Store, name: str) -> None:
    """Revoke a token: it is refused from now on (kept, for the record).

    Raises:
        NotFoundError: When there is no token of that name that is not revoked already.
    """
    c = t.api_tokens.c
    with store.transaction("revoking a token") as conn:
        done = conn.execute(
            sa.update(t.api_tokens)
            .where(c.name == name, c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        if done.rowcount == 0:
            raise NotFoundError(
                f"There is no token named {name!r} that is not revoked already.",
                "List them with: schoolsync admin token list",
            )


def _touch(store: Store, token_id: int, now: datetime) -> None:
    """Record a token's use without waiting for a writer: while a sync holds the directory the
    write is given up at once (the next request records it)."""
    c = t.api_tokens.c
    try:
        with store.transaction("recording a token's use") as conn:
            if store.is_sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            else:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
            try:
                conn.execute(
                    sa.update(t.api_tokens).where(c.id == token_id).values(last_used_at=now)
                )
            finally:
                if store.is_sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except SchoolsyncError:
        pass


def access_of(store: Store, token: str) -> Access | None:
    """What a presented token may do; None when it is unknown or revoked. Its last use is
    recorded (at most once a minute, and never waiting for a writer: a sync may hold the
    directory)."""
    c = t.api_tokens.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(c.id, c.name, c.role, c.schools, c.last_used_at).where(
                c.token_hash == _hash(token), c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        return None
    now = datetime.now(UTC)
    last = row.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    if last is None or now - last >= _TOUCH_EVERY:
        _touch(store, row.id, now)
    schools = frozenset(row.schools) if row.role == "school-admin" else None
    return Access(row.name, row.role, schools)
