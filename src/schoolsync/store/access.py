"""Who may use ``schoolsync serve``: bearer tokens of the REST API (``schoolsync admin token
add``), users of the web interface (``schoolsync admin user add``), and the audit log.

A token is 32 random bytes, shown once when it is made; the directory keeps only its SHA-256
(a token is not a password a person chose: a fast hash of a high-entropy secret is the usual
keeping, and the lookup must be fast). A token has a role and, for ``school-admin``, the schools
it may see; it can be revoked, and the time it was last used is recorded.

A web user's password is kept as an argon2id hash (argon2-cffi's defaults, RFC 9106's second
recommended profile). The audit log records who was shown whose personnummer and who approved
which run, by object id (never a name or number).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.engine import Connection

from schoolsync.errors import ConflictError, NotFoundError, SchoolsyncError
from schoolsync.store import schema as t
from schoolsync.store.db import BUSY_TIMEOUT_MS, Store

ROLES = ("org-admin", "school-admin", "read-only")
MIN_PASSWORD = 12  # characters (NIST SP 800-63B asks for at least 8; admins see personal data)
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("an unknown user's sign-in takes as long as a known user's")
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
    kind: str = "token"

    @property
    def may_approve(self) -> bool:
        """Whether it may approve a held run."""
        return self.role == "org-admin"

    @property
    def may_see_civic_no(self) -> bool:
        """Whether it may ask to see a whole personnummer (written to the audit log)."""
        return self.role in ("org-admin", "school-admin")

    @property
    def actor(self) -> str:
        """Who, in the run history and the audit log: ``user NAME`` or ``token NAME``."""
        return f"{self.kind} {self.name}"


def secret_digest(token: str) -> str:
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


def _role_schools(store: Store, what: str, role: str, schools: list[str]) -> list[str]:
    """The school ids of a new token's or user's role, checked."""
    if role not in ROLES:
        raise SchoolsyncError(f"There is no role {role!r}.", f"Give one of: {', '.join(ROLES)}.")
    if (role == "school-admin") != bool(schools):
        raise SchoolsyncError(
            f"A school-admin {what} needs its schools (--school), and only a school-admin has "
            f"them.",
            "Give --school NAME once per school for a school-admin.",
        )
    return school_ids(store, schools)


def add_token(store: Store, name: str, role: str, schools: list[str]) -> str:
    """Make a token; returns it (the only time it is seen).

    Raises:
        SchoolsyncError: For an unknown role, a school-admin without schools, or schools given
            to another role.
        ConflictError: When a token of that name exists.
        NotFoundError: When a school is not in the directory.
    """
    ids = _role_schools(store, "token", role, schools)
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
                token_hash=secret_digest(token),
                role=role,
                schools=ids,
                created_at=datetime.now(UTC),
            )
        )
    return token


def _listed(
    store: Store, table: sa.Table, key: str, columns: tuple[str, ...]
) -> list[dict[str, Any]]:
    """Every row of ``table`` by ``key``: ``columns``, with the schools named (never a hash)."""
    with store.connect() as conn:
        names = dict(conn.execute(sa.select(t.schools.c.id, t.schools.c.name)).all())
        rows = conn.execute(sa.select(table).order_by(table.c[key])).mappings()
        return [
            {c: r[c] for c in (key, "role")}
            | {"schools": [names.get(s, s) for s in r["schools"]]}
            | {c: r[c] for c in columns}
            for r in rows
        ]


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token (never the token itself), with its role, schools and times."""
    return _listed(store, t.api_tokens, "name", ("created_at", "last_used_at", "revoked_at"))


def revoke_token(store: Store, name: str) -> None:
    """Revoke a token: it is refused from now on (kept, for the record).

    Raises:
        NotFoundError: When there is no token of that name that is not revoked already.
    """
    end_named(
        store,
        t.api_tokens,
        "revoked_at",
        name,
        NotFoundError(
            f"There is no token named {name!r} that is not revoked already.",
            "List them with: schoolsync admin token list",
        ),
    )


def end_named(
    store: Store, table: sa.Table, column: str, name: str, missing: NotFoundError
) -> None:
    """Stamp ``column`` (revoked, disabled) of the row named ``name`` that has none yet.

    Raises:
        NotFoundError: ``missing``, when there is no such row.
    """
    c = table.c
    with store.transaction(f"ending {name!r} ({table.name})") as conn:
        done = conn.execute(
            sa.update(table)
            .where(c.name == name, c[column].is_(None))
            .values({column: datetime.now(UTC)})
        )
        if done.rowcount == 0:
            raise missing


def write_without_waiting(store: Store, doing: str, write: Callable[[Connection], Any]) -> bool:
    """Write without waiting for another writer: while a sync holds the directory the write
    is given up at once. Returns whether it was written."""
    try:
        with store.transaction(doing) as conn:
            if store.is_sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
            else:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '50ms'")
            try:
                write(conn)
            finally:
                if store.is_sqlite:
                    conn.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    except SchoolsyncError:
        return False
    return True


def record_use(store: Store, table: sa.Table, row_id: int, last: datetime | None) -> None:
    """Record that a token or client was used: at most once a minute, and without waiting for
    a writer (a sync may hold the directory; the next request records it)."""
    now = datetime.now(UTC)
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    if last is not None and now - last < _TOUCH_EVERY:
        return
    c = table.c
    write_without_waiting(
        store,
        f"recording a use ({table.name})",
        lambda conn: conn.execute(sa.update(table).where(c.id == row_id).values(last_used_at=now)),
    )


def access_of(store: Store, token: str) -> Access | None:
    """What a presented token may do; None when it is unknown or revoked. Its last use is
    recorded (at most once a minute, and never waiting for a writer: a sync may hold the
    directory)."""
    c = t.api_tokens.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(c.id, c.name, c.role, c.schools, c.last_used_at).where(
                c.token_hash == secret_digest(token), c.revoked_at.is_(None)
            )
        ).first()
    if row is None:
        return None
    record_use(store, t.api_tokens, row.id, row.last_used_at)
    schools = frozenset(row.schools) if row.role == "school-admin" else None
    return Access(row.name, row.role, schools)


# -- web users ---------------------------------------------------------------------------------


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise SchoolsyncError(
            f"The password is too short: it needs at least {MIN_PASSWORD} characters.",
            "Choose a longer one; a passphrase of a few words is easy to type and hard to guess.",
        )


def add_user(store: Store, username: str, password: str, role: str, schools: list[str]) -> None:
    """Add a user of the web interface (the password is kept as an argon2id hash).

    Raises:
        SchoolsyncError: For an unknown role, a short password, or schools that do not fit the
            role.
        ConflictError: When a user of that name exists.
        NotFoundError: When a school is not in the directory.
    """
    ids = _role_schools(store, "user", role, schools)
    _check_password(password)
    c = t.web_users.c
    with store.transaction("adding a user") as conn:
        if conn.execute(sa.select(c.id).where(c.username == username)).first() is not None:
            raise ConflictError(
                f"A user named {username!r} exists already.",
                "Choose another name, or set this user's password: schoolsync admin user "
                "password NAME",
            )
        conn.execute(
            sa.insert(t.web_users).values(
                username=username,
                password_hash=_hasher.hash(password),
                role=role,
                schools=ids,
                created_at=datetime.now(UTC),
                session_epoch=0,
            )
        )


def _update_user(store: Store, username: str, what: str, **values: Any) -> None:
    c = t.web_users.c
    with store.transaction(what) as conn:
        done = conn.execute(
            sa.update(t.web_users)
            .where(c.username == username)
            .values(session_epoch=c.session_epoch + 1, **values)
        )
        if done.rowcount == 0:
            raise NotFoundError(
                f"There is no user named {username!r}.",
                "List them with: schoolsync admin user list",
            )


def set_password(store: Store, username: str, password: str) -> None:
    """Set a user's password (and enable a disabled user); their sessions end.

    Raises:
        SchoolsyncError: For a short password.
        NotFoundError: When there is no such user.
    """
    _check_password(password)
    _update_user(
        store, username, "setting a password", password_hash=_hasher.hash(password),
        disabled_at=None,
    )  # fmt: skip


def disable_user(store: Store, username: str) -> None:
    """Disable a user: they cannot sign in, and their sessions end (kept, for the record).

    Raises:
        NotFoundError: When there is no such user.
    """
    _update_user(store, username, "disabling a user", disabled_at=datetime.now(UTC))


def end_sessions(store: Store, username: str, epoch: int) -> None:
    """Sign out: every session of the user that began before now ends (a session is a signed
    cookie; raising the epoch is what makes a copy of it worthless). Nothing happens when the
    epoch has moved on already."""
    c = t.web_users.c
    with store.transaction("signing out") as conn:
        conn.execute(
            sa.update(t.web_users)
            .where(c.username == username, c.session_epoch == epoch)
            .values(session_epoch=c.session_epoch + 1)
        )


def list_users(store: Store) -> list[dict[str, Any]]:
    """Every web user (never the hash), with role, schools and times."""
    return _listed(store, t.web_users, "username", ("created_at", "disabled_at"))


@dataclass(frozen=True)
class Session:
    """A signed-in web user, as a session cookie names them."""

    username: str
    epoch: int


def authenticate(store: Store, username: str, password: str) -> Session | None:
    """The session of a user whose password is right; None otherwise (an unknown user takes as
    long as a wrong password, so names cannot be probed)."""
    c = t.web_users.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(c.password_hash, c.session_epoch, c.disabled_at).where(c.username == username)
        ).first()
    try:
        _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled_at is not None:
        return None
    return Session(username, row.session_epoch)


def user_access(store: Store, session: Session) -> Access | None:
    """What a session's user may do; None when the user is gone, disabled, or their password
    changed since the session began."""
    c = t.web_users.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(c.role, c.schools).where(
                c.username == session.username,
                c.session_epoch == session.epoch,
                c.disabled_at.is_(None),
            )
        ).first()
    if row is None:
        return None
    schools = frozenset(row.schools) if row.role == "school-admin" else None
    return Access(session.username, row.role, schools, kind="user")


def service_key(store: Store, name: str) -> str:
    """A key the service signs with (``session``: the session cookies; ``oneroster``: the
    OneRoster access tokens): made once and kept in the directory, so every ``serve`` process
    on it, and a restarted one, knows what it signed."""
    k = t.service_keys.c
    with store.connect() as conn:
        value = conn.execute(sa.select(k.value).where(k.name == name)).scalar()
    if value is not None:
        return str(value)
    with store.transaction(f"making the {name} key") as conn:
        value = conn.execute(sa.select(k.value).where(k.name == name)).scalar()
        if value is None:
            value = secrets.token_urlsafe(48)
            conn.execute(sa.insert(t.service_keys).values(name=name, value=value))
    return str(value)


def signing_key(store: Store) -> str:
    """The key session cookies are signed with."""
    return service_key(store, "session")


# -- the audit log -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log: who did what, concerning which object (by id)."""

    at: datetime
    actor: str
    action: str
    subject: str
    address: str | None


def audit(store: Store, entries: list[AuditEntry], *, wait: bool = True) -> bool:
    """Write entries of the audit log. ``wait``: like any write, waiting for a sync's commit
    (what must be recorded before it is shown); otherwise given up at once while a sync holds
    the directory. Returns whether they were written."""
    rows = [vars(e) for e in entries]

    def write(conn: Connection) -> None:
        conn.execute(sa.insert(t.audit_log), rows)

    if not rows:
        return True
    if not wait:
        return write_without_waiting(store, "writing the audit log", write)
    with store.transaction("writing the audit log") as conn:
        write(conn)
    return True


def audit_page(store: Store, limit: int, before: int | None = None) -> list[dict[str, Any]]:
    """The audit log, newest first, ``limit`` entries before the entry ``before``."""
    a = t.audit_log.c
    query = sa.select(t.audit_log).order_by(a.id.desc()).limit(limit)
    if before is not None:
        query = query.where(a.id < before)
    with store.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]
