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
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec

OVERLAP = timedelta(minutes=5)
"""How far before the last read's start an incremental read asks from (clock skew, slow
commits at the provider)."""

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
        deletions_unavailable: The provider does not offer ``/deletedEntities``: every read is
            a full one.
        cursors: Per endpoint, where its last complete read began.
        records: An endpoint's stored records, read from the directory when asked for.
    """

    source: str
    full_read_at: datetime | None = None
    deletions_unavailable: bool = False
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
        deletions_unavailable: Whether the provider turned out not to offer ``/deletedEntities``.
    """

    source: str
    full: bool
    started: datetime
    folder: Path
    replaced: set[str] = field(default_factory=set)
    upserts: dict[str, dict[str, tuple[int, bytes]]] = field(default_factory=dict)
    deletes: dict[str, set[str]] = field(default_factory=dict)
    cursors: dict[str, Cursor] = field(default_factory=dict)
    deletions_unavailable: bool = False


class _Marking(msgspec.Struct):
    securityMarking: Any = None


_marking_decoder = msgspec.json.Decoder(_Marking)


def marking_of(raw: bytes) -> Any:
    """A person record's ``securityMarking`` as served (None when it has none)."""
    return _marking_decoder.decode(raw).securityMarking


def stored_body(endpoint: str, raw: bytes) -> bytes:
    """A record as the picture keeps it: as served, except a person with (or, in an API read,
    without) a securityMarking other than ``Ingen``, who is kept without names, personnummer,
    contact data or guardians (R11)."""
    if endpoint != "persons" or marking_of(raw) == "Ingen":
        return raw
    record = msgspec.json.decode(raw)
    kept = {k: record[k] for k in _KEPT_OF_PROTECTED if k in record}
    kept["givenName"] = kept["familyName"] = "Skyddad"
    if "securityMarking" not in kept:
        kept["securityMarking"] = None
    return msgspec.json.encode({k: v for k, v in kept.items() if v is not None})


def page_records(folder: Path, endpoint: str) -> Iterable[bytes]:
    """The records of an endpoint's page files that a read wrote, in reading order."""
    pages = sorted((folder / endpoint).glob("page-*.json"))
    decoder = msgspec.json.Decoder(_Page)
    for page in pages:
        for raw in decoder.decode(page.read_bytes()).data:
            yield bytes(raw)


class _Page(msgspec.Struct):
    data: list[msgspec.Raw]
