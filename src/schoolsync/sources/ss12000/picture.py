"""The stored picture of a register read over its API, and what a run changes in it.

After a complete full read, a run reads only what changed (``meta.modified.after`` and
``/deletedEntities``) and merges it into the records the directory keeps from the reads before:
the picture. The plan then sees the whole register, as after a full read. The picture and its
cursors are part of the directory database and change only in the transaction of an applied run
(:class:`Delta`); a failed or held run leaves them as they were.

Persons with protected identity (R11) are kept in the picture without what would identify them:
only their id, marking, status and enrolments (what the rules use for them). Their names and
personnummer are read from the API each time their record changes, never stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import msgspec

_KEPT_OF_PROTECTED = ("id", "meta", "securityMarking", "personStatus", "enrolments")


@dataclass
class Cursor:
    """Where the last complete read of one endpoint began, in the provider's clock; for
    calendarEvents also the days its window covered."""

    read_from: datetime
    calendar_from: date | None = None
    calendar_to: date | None = None


Records = list[tuple[str, int, bytes]]
"""An endpoint's stored records: (id in lower case, reading position, the record as JSON)."""


@dataclass
class Picture:
    """What the directory holds of one API's register.

    Attributes:
        source: The API's base URL.
        full_read_at: Where the last complete full read began (the provider's clock).
        scope: What the reads were asked for (see :func:`scope_of`); another scope needs a full
            read.
        deletions_unavailable_since: The day the provider was found not to offer
            ``/deletedEntities``: until it is asked again, every read is a full one.
        cursors: Per endpoint, where its last complete read began.
        records: An endpoint's stored records, read from the directory when asked for.
    """

    source: str
    full_read_at: datetime | None = None
    scope: str = ""
    deletions_unavailable_since: date | None = None
    cursors: dict[str, Cursor] = field(default_factory=dict)
    records: Callable[[str], Records] = lambda _endpoint: []


@dataclass
class Delta:
    """What an applied run writes to the picture of one API's register.

    Attributes:
        source: The API's base URL.
        full: A full read: it replaces the whole picture.
        started: Where the read began (the provider's clock).
        folder: The bundle folder the read wrote (its pages hold the endpoints replaced).
        replaced: Endpoints whose stored records the folder's replace.
        upserts: Per endpoint merged, the records added or changed: id to (position, JSON).
        deletes: Per endpoint merged, the ids that are gone.
        cursors: The endpoints read completely this run, with their new cursors.
        scope: What the read was asked for.
        deletions_unavailable_since: Since when the provider is known not to offer
            ``/deletedEntities`` (None: it does, or it was not asked).
    """

    source: str
    full: bool
    started: datetime
    folder: Path
    replaced: set[str] = field(default_factory=set)
    upserts: dict[str, dict[str, tuple[int, bytes]]] = field(default_factory=dict)
    deletes: dict[str, set[str]] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    scope: str = ""
    deletions_unavailable_since: date | None = None


class _Marking(msgspec.Struct):
    securityMarking: Any = None


_marking_decoder = msgspec.json.Decoder(_Marking)


def marking_of(raw: bytes) -> Any:
    """A person record's ``securityMarking`` as served (None when it has none)."""
    return _marking_decoder.decode(raw).securityMarking


def stored_body(endpoint: str, raw: bytes) -> bytes:
    """A record as the picture keeps it: as served, without the names references carry
    (``displayName``, which a provider may fill in, a protected person's too); and a person
    with (or, in an API read, without) a securityMarking other than ``Ingen`` without names,
    personnummer, contact data or guardians (R11)."""
    record = msgspec.json.decode(raw)
    if not isinstance(record, dict):
        return raw
    if endpoint == "persons" and record.get("securityMarking") != "Ingen":
        record = {k: record[k] for k in _KEPT_OF_PROTECTED if k in record}
        record["givenName"] = record["familyName"] = "Skyddad"
    return msgspec.json.encode({k: _unnamed(v) for k, v in record.items()})


def _unnamed(value: Any) -> Any:
    """A value with every reference's ``displayName`` left out."""
    if isinstance(value, list):
        return [_unnamed(v) for v in value]
    if isinstance(value, dict):
        return {k: _unnamed(v) for k, v in value.items() if k != "displayName" or "id" not in value}
    return value


def is_protected_body(body: bytes) -> bool:
    """Whether a stored person record is one of a protected person (kept without their data)."""
    return bool(marking_of(body) != "Ingen")


def page_records(folder: Path, endpoint: str) -> Iterable[bytes]:
    """The records of an endpoint's page files that a read wrote, in reading order."""
    pages = (
        sorted(
            (folder / endpoint).glob("page-*.json"), key=lambda path: int(path.stem.split("-")[1])
        )
        if (folder / endpoint).is_dir()
        else []
    )
    decoder = msgspec.json.Decoder(_Page)
    for page in pages:
        for raw in decoder.decode(page.read_bytes()).data:
            yield bytes(raw)


class _Page(msgspec.Struct):
    data: list[msgspec.Raw]
