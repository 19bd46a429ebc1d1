"""What every planning step needs: the inputs, the settings, today, and the change set to fill."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from schoolsync.domain.directory import Directory
from schoolsync.domain.issues import issue
from schoolsync.domain.records import RegisterSnapshot
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan.changeset import ChangeSet, school_names_after


def new_uuid() -> str:
    """A new internal id."""
    return str(uuid.uuid4())


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
