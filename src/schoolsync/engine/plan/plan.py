"""Plan a run: compare a register snapshot with the directory and return the changes (pure).

``sync --dry-run`` is this step alone; an applied run is this step plus
:func:`schoolsync.engine.apply.apply_plan`, so a dry run and a real run cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from schoolsync.domain.directory import Directory
from schoolsync.domain.issues import Issue, sort_issues
from schoolsync.domain.records import RegisterSnapshot
from schoolsync.domain.schedule import ScheduleSnapshot
from schoolsync.domain.settings import Settings
from schoolsync.domain.snapshot import Snapshot
from schoolsync.engine.plan.changeset import ChangeSet
from schoolsync.engine.plan.context import PlanContext, new_uuid
from schoolsync.engine.plan.groups import plan_groups
from schoolsync.engine.plan.lessons import plan_lessons
from schoolsync.engine.plan.locks import check_locks
from schoolsync.engine.plan.memberships import plan_memberships
from schoolsync.engine.plan.schools import plan_schools
from schoolsync.engine.plan.users import plan_users
from schoolsync.engine.plan.view import build_view
from schoolsync.engine.plan.wanted_groups import wanted_groups


@dataclass
class Plan:
    """What a run would do.

    Attributes:
        changes: Rows to write and the change log.
        today: The date the rules were judged on.
        sources: The sources read, as the report names them.
        locks: The safety locks (R10) the changes trip; empty when the plan may be applied.
    """

    changes: ChangeSet
    today: date
    sources: list[dict[str, Any]] = field(default_factory=list)
    locks: list[Issue] = field(default_factory=list)

    @property
    def issues(self) -> list[Issue]:
        """The run's issues in report order."""
        return sort_issues(self.changes.issues)


def plan_run(
    sources: Snapshot,
    directory: Directory,
    settings: Settings,
    today: date,
    *,
    new_id: Callable[[], str] = new_uuid,
) -> Plan:
    """Plan one run: the register (schools, users, groups, memberships), then the schedules.

    Args:
        sources: What the run read.
        directory: The directory as it stands.
        settings: The settings.
        today: The date the rules treat as today.
        new_id: Makes internal ids.

    Returns:
        The plan; nothing has been written.
    """
    register = sources.register or RegisterSnapshot(source="")
    ctx = PlanContext(register, directory, settings, today, new_id=new_id)
    duty_user: dict[str, str] = {}
    if sources.register is not None:
        ctx.changes.issues.extend(register.issues)
        plan_schools(ctx)
        users = plan_users(ctx)
        wanted, duplicates = wanted_groups(ctx)
        groups = plan_groups(ctx, wanted, duplicates)
        plan_memberships(ctx, wanted, groups, users)
        duty_user = {
            d.id: users.user_of[d.person_id]
            for d in register.duties
            if d.person_id in users.user_of
        }
    schedules = list(sources.schedules)
    if (
        sources.register is not None
        and sources.register.lessons is None
        and directory.lesson_counts.get("ss12000")
    ):
        # The bundle delivered lessons before but has none now: plan them as gone, so the
        # safety locks see it (R10) and an approved run removes the future ones.
        path = f"{sources.register.source}/calendarEvents.json"
        schedules.append(ScheduleSnapshot(source="ss12000", path=path))
    if schedules:
        view = build_view(directory, ctx.changes, today)
        plan_lessons(ctx, schedules, view, duty_user)
    locks = check_locks(ctx.changes, sources.register, schedules, directory, settings, today)
    return Plan(ctx.changes, today, sources.describe(), locks)
