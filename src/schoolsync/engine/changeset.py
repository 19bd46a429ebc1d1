"""A ChangeSet: everything one run would write, as plain rows, plus the change log and issues.

The planner fills it without touching the database; :mod:`schoolsync.engine.apply` writes it in
one transaction. Counting happens here so the run report of a dry run and of an applied run are
the same numbers by construction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from schoolsync.domain.issues import Issue
from schoolsync.engine.state import Directory

# The report's change groups, in report order (INTERFACE.md), and what each entity counts under.
REPORT_GROUPS = (
    "users",
    "school_links",
    "guardianships",
    "schools",
    "classes",
    "groups",
    "memberships",
    "lessons",
)
ENTITY_GROUP = {
    "user": "users",
    "user_school": "school_links",
    "guardianship": "guardianships",
    "school": "schools",
    "class": "classes",
    "group": "groups",
    "membership": "memberships",
    "lesson": "lessons",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One row of the change log: what happened to which entity."""

    entity: str
    entity_id: str
    action: str
    details: dict[str, Any]


@dataclass
class ChangeSet:
    """Rows to insert and update per table, the change log, and the issues found.

    Attributes:
        inserts: Table name to full rows.
        updates: Table name to rows holding the primary key and the changed columns only.
        log: The change log, one entry per change a user would notice.
        issues: What the run found in the input.
        scrub: Users who became protected (R11), with the texts (name, masked number) to remove
            from the history of earlier runs.
        protected_persons: Register ids of every protected person in the read (R11): issues of
            earlier runs about them are scrubbed.
    """

    inserts: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    updates: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    log: list[Change] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    scrub: list[tuple[str, list[str]]] = field(default_factory=list)
    protected_persons: set[str] = field(default_factory=set)

    def insert(self, table: str, row: dict[str, Any]) -> None:
        """Add a row to insert."""
        self.inserts[table].append(row)

    def update(self, table: str, row: dict[str, Any]) -> None:
        """Add a partial row to update (primary key + changed columns)."""
        self.updates[table].append(row)

    def record(self, entity: str, entity_id: str, action: str, **details: Any) -> None:
        """Add a change-log entry."""
        self.log.append(Change(entity, entity_id, action, details))

    @property
    def is_empty(self) -> bool:
        """True when the run would write nothing but its run record."""
        return not any(self.inserts.values()) and not any(self.updates.values()) and not self.scrub

    def counts(self) -> dict[str, dict[str, int]]:
        """Changes counted per report group and action (the run report's ``changes``)."""
        per: dict[str, Counter[str]] = {g: Counter() for g in REPORT_GROUPS}
        for change in self.log:
            per[ENTITY_GROUP[change.entity]][change.action] += 1
        out: dict[str, dict[str, int]] = {}
        for group, counter in per.items():
            base = dict.fromkeys(_BASE_ACTIONS.get(group, ()), 0)
            base.update(sorted(counter.items()))
            out[group] = base
        return out


_BASE_ACTIONS = {
    "users": ("created", "updated", "ended", "reactivated"),
    "school_links": ("created", "updated", "ended", "reactivated"),
    "classes": ("created", "updated", "renamed", "archived"),
    "groups": ("created", "updated", "renamed", "archived"),
    "memberships": ("created", "updated", "ended", "reactivated"),
    "lessons": ("created", "moved", "cancelled", "removed", "updated"),
}


def school_names_after(directory: Directory, changes: ChangeSet) -> dict[str, str]:
    """School id to name once ``changes`` are applied (new and renamed schools included)."""
    names = directory.school_names()
    for row in changes.updates.get("schools", []):
        if "name" in row:
            names[row["id"]] = row["name"]
    names.update({row["id"]: row["name"] for row in changes.inserts.get("schools", [])})
    return names
