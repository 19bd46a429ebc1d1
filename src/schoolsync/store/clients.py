"""OAuth2 clients of the OneRoster service (``schoolsync admin client add``).

A client has an id (shown to anyone who configures it) and a secret of 32 random bytes, shown
once when it is made; the directory keeps only the secret's SHA-256, as for the REST API's
tokens. A client may be given the OneRoster scopes it was made with; it can be disabled, and the
time it was last used is recorded.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from schoolsync.errors import ConflictError, NotFoundError
from schoolsync.store import schema as t
from schoolsync.store.access import end_named, record_use, secret_digest
from schoolsync.store.db import Store

_SCOPE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
ROSTER = _SCOPE + "roster.readonly"  # everything the rostering service serves
CORE = _SCOPE + "roster-core.readonly"  # all but demographics
DEMOGRAPHICS = _SCOPE + "roster-demographics.readonly"
SCOPES = (ROSTER, CORE, DEMOGRAPHICS)
_DUMMY = secret_digest("an unknown client's check takes as long as a known one's")


@dataclass(frozen=True)
class Client:
    """A client that presented its id and secret, or whose token was accepted."""

    name: str
    client_id: str
    scopes: frozenset[str]


def add_client(store: Store, name: str, scopes: list[str]) -> tuple[str, str]:
    """Make a client; returns its id and secret (the only time the secret is seen).

    Raises:
        ConflictError: When a client of that name exists.
    """
    client_id = "ssc_" + secrets.token_hex(12)
    secret = "sss_" + secrets.token_urlsafe(32)
    c = t.oneroster_clients.c
    with store.transaction("adding a OneRoster client") as conn:
        if conn.execute(sa.select(c.id).where(c.name == name)).first() is not None:
            raise ConflictError(
                f"A OneRoster client named {name!r} exists already (a disabled client keeps its "
                f"name, for the record).",
                "Choose another name.",
            )
        conn.execute(
            sa.insert(t.oneroster_clients).values(
                name=name,
                client_id=client_id,
                secret_hash=secret_digest(secret),
                scopes=sorted(scopes),
                created_at=datetime.now(UTC),
            )
        )
    return client_id, secret


def list_clients(store: Store) -> list[dict[str, Any]]:
    """Every client (never a secret), with its scopes and times."""
    c = t.oneroster_clients.c
    with store.connect() as conn:
        rows = conn.execute(
            sa.select(
                c.name, c.client_id, c.scopes, c.created_at, c.last_used_at, c.disabled_at
            ).order_by(c.name)
        ).mappings()
        return [dict(r) for r in rows]


def disable_client(store: Store, name: str) -> None:
    """Disable a client: its secret and the tokens it was given are refused from now on.

    Raises:
        NotFoundError: When there is no client of that name that is not disabled already.
    """
    end_named(
        store,
        t.oneroster_clients,
        "disabled_at",
        name,
        NotFoundError(
            f"There is no OneRoster client named {name!r} that is not disabled already.",
            "List them with: schoolsync admin client list",
        ),
    )


def client_of(store: Store, client_id: str, secret: str | None = None) -> Client | None:
    """The enabled client with this id (and, when given, this secret); None otherwise. Its last
    use is recorded (at most once a minute, never waiting for a writer)."""
    c = t.oneroster_clients.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(c.id, c.name, c.client_id, c.secret_hash, c.scopes, c.last_used_at).where(
                c.client_id == client_id, c.disabled_at.is_(None)
            )
        ).first()
    if secret is not None:
        matches = hmac.compare_digest(secret_digest(secret), row.secret_hash if row else _DUMMY)
        if not matches:
            return None
    if row is None:
        return None
    record_use(store, t.oneroster_clients, row.id, row.last_used_at)
    return Client(row.name, row.client_id, frozenset(row.scopes))
