"""Deterministic identifiers and timestamps for generated entities."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import date

NAMESPACE = uuid.UUID("6f1c0a52-3d4e-5b7a-9c21-5c6f0e8b2a11")
"""Fixed namespace for every generated id; ids depend only on it, the seed, a kind and a count."""


class IdFactory:
    """Hands out ``uuid5`` ids, one counter per kind of entity.

    Args:
        seed: The generation seed; part of every id so that two seeds never share ids.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._counters: defaultdict[str, int] = defaultdict(int)

    def next(self, kind: str) -> str:
        """Return the next id of ``kind`` (e.g. ``person``) as a lower-case uuid string."""
        self._counters[kind] += 1
        return str(uuid.uuid5(NAMESPACE, f"{self._seed}:{kind}:{self._counters[kind]}"))


def timestamp(day: date) -> str:
    """Return the fixed RFC 3339 timestamp used for ``day`` (10:00 Swedish summer time)."""
    return f"{day.isoformat()}T10:00:00+02:00"


def ref(entity_id: str) -> dict[str, str]:
    """Return an SS 12000 ObjectReference to ``entity_id``."""
    return {"id": entity_id}
