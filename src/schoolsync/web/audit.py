"""The web interface's audit trail: who viewed whose personal data, and who approved what.

A person's page is personal data (e-mail, phone, birth date, links): each view is recorded. So
that a page never waits for a sync that holds the directory (SQLite has one writer), a view's
entry is written without waiting; while the directory is busy it is kept in memory and written
with the next entry that can be, and at the latest when the service stops. Showing a whole
personnummer is recorded before it is shown, waiting for the writer if need be.
"""

from __future__ import annotations

import sys
import threading
from datetime import UTC, datetime

from schoolsync.errors import SchoolsyncError
from schoolsync.store import access
from schoolsync.store.db import Store

MAX_PENDING = 50_000  # entries kept while the directory is busy (a sync takes minutes, not days)


class AuditTrail:
    """Entries of the audit log, written at once or as soon as the directory allows."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[access.AuditEntry] = []
        self._lock = threading.Lock()

    def record(
        self, actor: str, action: str, subject: str, address: str | None, *, strict: bool = False
    ) -> None:
        """Record one entry. ``strict``: it is written before this returns (a
        :class:`~schoolsync.errors.SchoolsyncError` when it cannot be, and then nothing may be
        shown); otherwise it may wait in memory for a busy directory."""
        entry = access.AuditEntry(datetime.now(UTC), actor, action, subject, address)
        if strict:  # its own entry only: a view's never waits behind it
            access.audit(self._store, [entry])
            entry_list: list[access.AuditEntry] = []
        else:
            entry_list = [entry]
        entries = self._take() + entry_list
        if entries and not access.audit(self._store, entries, wait=False):
            self._put_back(entries)

    def _take(self) -> list[access.AuditEntry]:
        with self._lock:
            taken, self._pending = self._pending, []
            return taken

    def _put_back(self, entries: list[access.AuditEntry]) -> None:
        with self._lock:
            self._pending = [*entries, *self._pending][-MAX_PENDING:]

    def flush(self) -> None:
        """Write what waits (when the service stops), waiting for the directory if need be;
        what cannot be written is said on stderr, never silently lost."""
        entries = self._take()
        if not entries:
            return
        try:
            access.audit(self._store, entries)
        except SchoolsyncError as exc:
            self._put_back(entries)
            print(
                f"schoolsync: {len(entries)} audit log entries could not be written as the "
                f"service stopped: {exc.message}",
                file=sys.stderr,
            )

    @property
    def pending(self) -> int:
        """How many entries wait for the directory."""
        return len(self._pending)
