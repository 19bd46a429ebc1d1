"""Plan a run: compare a register snapshot with the directory and return the changes (pure).

``sync --dry-run`` is this step alone; an applied run is this step plus
:func:`schoolsync.engine.apply.apply_plan`, so a dry run and a real run cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from schoolsync.domain.issues import Issue, sort_issues
from schoolsync.domain.records import RegisterSnapshot
from schoolsync.engine.changeset import ChangeSet
from schoolsync.engine.context import PlanContext, new_uuid
from schoolsync.engine.groups import plan_groups
from schoolsync.engine.memberships import plan_memberships
from schoolsync.engine.schools import plan_schools
from schoolsync.engine.state import Directory
from schoolsync.engine.users import plan_users
from schoolsync.engine.wanted_groups import wanted_groups
from schoolsync.settings import Settings


@dataclass
class Plan:
    """What a run would do.

    Attributes:
        changes: Rows to write and the change log.
        today: The date the rules were judged on.
        sources: The sources read, as the report names them.
    """

    changes: ChangeSet
    today: date
    sources: list[dict[str, str]] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        """The run's issues in report order."""
        return sort_issues(self.changes.issues)


def plan_register(
    snapshot: RegisterSnapshot,
    directory: Directory,
    settings: Settings,
    today: date,
    *,
    new_id: Callable[[], str] = new_uuid,
) -> Plan:
    """Plan the register part of a run (schools, users, links, groups, memberships).

    Args:
        snapshot: The register as read.
        directory: The directory as it stands.
        settings: The settings.
        today: The date the rules treat as today.
        new_id: Makes internal ids.

    Returns:
        The plan; nothing has been written.
    """
    ctx = PlanContext(snapshot, directory, settings, today, new_id=new_id)
    ctx.changes.issues.extend(snapshot.issues)
    plan_schools(ctx)
    users = plan_users(ctx)
    wanted, duplicates = wanted_groups(ctx)
    groups = plan_groups(ctx, wanted, duplicates)
    plan_memberships(ctx, wanted, groups, users)
    return Plan(ctx.changes, today, [{"format": "ss12000", "path": snapshot.source}])
