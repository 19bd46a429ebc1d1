"""What every planning step needs: the inputs, the settings, today, and the change set to fill."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from schoolsync.domain.directory import Directory
from schoolsync.domain.issues import issue
from schoolsync.domain.records import RegisterSnapshot
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan.changeset import ChangeSet, school_names_after

_BLOCK = 4096
_ids: list[str] = []  # made ahead, handed out from the end
_clock = [0, 0]  # the newest block's millisecond and counter


def _make_ids() -> None:
    """Make the next block of ids: time-ordered UUIDs (version 7, RFC 9562).

    48 bits of Unix milliseconds, then a 26-bit counter (started at a random value each
    millisecond, so ids made later are greater even within one millisecond), then 48 random
    bits. Ids made one after another sort in that order, so the directory's tables and
    indexes take new rows at their end instead of at random places.
    """
    rand = os.urandom(6 * _BLOCK + 3).hex()
    now = time.time_ns() // 1_000_000
    ms, counter = _clock
    if now > ms:
        ms, counter = now, int(rand[-6:], 16)  # 24 random bits: room for 2**25 more ids
    made: list[str] = []
    while len(made) < _BLOCK:
        counter += 1
        if counter >= 1 << 26:  # cannot happen at any realistic rate; keep the order anyway
            ms, counter = ms + 1, 0
        # The ids up to the next step of the counter's high 12 bits share their first 24
        # characters: those are formatted once (a run makes a million ids).
        n = min(_BLOCK - len(made), (1 << 14) - (counter & 0x3FFF))
        head = f"{ms:012x}"
        prefix = f"{head[:8]}-{head[8:]}-7{counter >> 14:03x}-"
        low, at = 0x8000 | (counter & 0x3FFF), 12 * len(made)
        made += [
            f"{prefix}{variant:04x}-{rand[i : i + 12]}"
            for variant, i in zip(range(low, low + n), range(at, at + 12 * n, 12), strict=True)
        ]
        counter += n - 1
    _clock[:] = [ms, counter]
    made.reverse()
    _ids[:0] = made


def _forget_ids() -> None:
    _ids.clear()
    _clock[:] = [0, 0]


os.register_at_fork(after_in_child=_forget_ids)  # a child never hands out its parent's ids


def new_uuid() -> str:
    """A new internal id: a UUID string (version 7: ids made later sort after earlier ones)."""
    if not _ids:
        _make_ids()
    return _ids.pop()


@dataclass
class PlanContext:
    """The inputs of one plan and the change set it fills.

    Attributes:
        snapshot: The register as read (None for a run without a register source).
        directory: The directory as it stands.
        settings: The settings.
        today: The date the rules treat as today.
        new_id: Makes internal ids (injectable so tests can be deterministic).
        unit_school: Register unit id to directory school id (filled by the schools step).
        departure_units: Register unit ids configured as avgångsenheter.
        mentor_source: School id to how its mentors are built (R7.3), where a school overrides
            ``[sync] mentor_source``.
    """

    snapshot: RegisterSnapshot
    directory: Directory
    settings: Settings
    today: date
    new_id: Callable[[], str] = new_uuid
    changes: ChangeSet = field(default_factory=ChangeSet)
    unit_school: dict[str, str] = field(default_factory=dict)
    departure_units: set[str] = field(default_factory=set)
    mentor_source: dict[str, str] = field(default_factory=dict)

    @property
    def yesterday(self) -> date:
        """The end date given to something that ends in this run (dates are inclusive)."""
        return self.today - timedelta(days=1)

    def school_names(self) -> dict[str, str]:
        """School id to name, as the directory will have them after the planned changes."""
        return school_names_after(self.directory, self.changes)

    def report(
        self, code: str, message: str, subject: str = "", *, persons: tuple[str, ...] = ()
    ) -> None:
        """Add an issue to the run (``persons``: register ids of the persons it names)."""
        self.changes.issues.append(issue(code, message, subject, persons))
