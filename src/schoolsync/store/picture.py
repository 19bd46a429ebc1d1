"""Keeping the stored picture of a register read over its SS 12000 API (see
:mod:`schoolsync.sources.ss12000.picture`): read before a run, written in an applied run's
transaction."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import islice
from typing import TypeVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.sources.ss12000.picture import (
    Cursor,
    Delta,
    Picture,
    Records,
    page_records,
    stored_body,
)
from schoolsync.store import schema as t
from schoolsync.store.db import Store

_CHUNK = 1000
T = TypeVar("T")


def load_picture(store: Store, source: str) -> Picture | None:
    """What the directory holds of the register at ``source``; None when it holds nothing (no
    directory, a directory from before pictures were kept, or no complete read of it)."""
    if not store.exists():
        return None
    with store.connect() as conn:
        if not sa.inspect(conn).has_table(t.register_sources.name):
            return None
        s, r = t.register_sources.c, t.register_reads.c
        row = conn.execute(sa.select(t.register_sources).where(s.source == source)).first()
        if row is None:
            return None
        reads = conn.execute(sa.select(t.register_reads).where(r.source == source)).all()
    cursors = {
        x.endpoint: Cursor(_aware(x.read_from), x.calendar_from, x.calendar_to) for x in reads
    }

    def records(endpoint: str) -> Records:
        c = t.register_records.c
        query = (
            sa.select(c.record_id, c.position, c.body)
            .where(c.source == source, c.endpoint == endpoint)
            .order_by(c.position)
        )
        with store.connect() as conn:
            return [(rid, pos, body.encode("utf-8")) for rid, pos, body in conn.execute(query)]

    return Picture(
        source,
        _aware(row.full_read_at),
        row.scope,
        row.deletions_unavailable_since,
        cursors,
        records,
    )


def _aware(when: datetime) -> datetime:
    """SQLite gives back naive times: they were written in UTC (see :func:`save_picture`)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


def save_picture(conn: Connection, delta: Delta, run_id: int) -> None:
    """Write what an applied run read into the picture, and move its cursors."""
    c, r = t.register_records.c, t.register_reads.c
    source = delta.source
    if delta.full:  # the whole picture is replaced: records and cursors alike
        conn.execute(sa.delete(t.register_records).where(c.source == source))
        conn.execute(sa.delete(t.register_reads).where(r.source == source))
    for endpoint in sorted(delta.replaced):
        if not delta.full:
            conn.execute(
                sa.delete(t.register_records).where(c.source == source, c.endpoint == endpoint)
            )
        by_id: dict[str, tuple[int, bytes]] = {}
        for position, raw in enumerate(page_records(delta.folder, endpoint)):
            rid = _id_of(raw)
            if rid is not None:
                by_id[rid] = (position, raw)  # an id twice in one read: the last one is kept
        _insert(conn, source, endpoint, by_id.items())
    for endpoint, gone in sorted(delta.deletes.items()):
        _delete(conn, source, endpoint, gone)
    for endpoint, upserts in sorted(delta.upserts.items()):
        _delete(conn, source, endpoint, upserts.keys())
        _insert(conn, source, endpoint, upserts.items())
    for endpoint, cursor in sorted(delta.cursors.items()):
        conn.execute(sa.delete(t.register_reads).where(r.source == source, r.endpoint == endpoint))
        conn.execute(
            sa.insert(t.register_reads).values(
                source=source,
                endpoint=endpoint,
                read_from=cursor.read_from.astimezone(UTC),  # SQLite keeps no offset
                calendar_from=cursor.calendar_from,
                calendar_to=cursor.calendar_to,
            )
        )
    s = t.register_sources.c
    held = conn.execute(sa.select(s.full_read_at).where(s.source == source)).scalar()
    conn.execute(sa.delete(t.register_sources).where(s.source == source))
    conn.execute(
        sa.insert(t.register_sources).values(
            source=source,
            full_read_at=(delta.started if delta.full or held is None else _aware(held)).astimezone(
                UTC
            ),
            scope=delta.scope,
            deletions_unavailable_since=delta.deletions_unavailable_since,
            run_id=run_id,
        )
    )


class _Id(msgspec.Struct):
    id: object = None


_id_decoder = msgspec.json.Decoder(_Id)


def _id_of(raw: bytes) -> str | None:
    rid = _id_decoder.decode(raw).id
    return rid.lower() if isinstance(rid, str) else None


def _chunks(items: Iterable[T]) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, _CHUNK)):
        yield chunk


def _insert(
    conn: Connection,
    source: str,
    endpoint: str,
    records: Iterable[tuple[str, tuple[int, bytes]]],
) -> None:
    for chunk in _chunks(records):
        conn.execute(
            sa.insert(t.register_records),
            [
                {
                    "source": source,
                    "endpoint": endpoint,
                    "record_id": rid,
                    "position": position,
                    "body": stored_body(endpoint, raw).decode("utf-8"),
                }
                for rid, (position, raw) in chunk
            ],
        )


def _delete(conn: Connection, source: str, endpoint: str, ids: Iterable[str]) -> None:
    c = t.register_records.c
    for chunk in _chunks(ids):
        conn.execute(
            sa.delete(t.register_records).where(
                c.source == source, c.endpoint == endpoint, c.record_id.in_(chunk)
            )
        )
