"""What a school unit's schedule is built from: its classes, groups, activities and teachers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .context import Context
from .model import Activity, Duty, Group, Syllabus
from .schools import Unit

TEACHING_KINDS = ("GR", "GRS", "GY")
"""Unit kinds that have lessons; fritidshem, förskola and the history units have none."""

SCHEDULED_GROUP_TYPES = ("Undervisning", "Schema")


@dataclass
class UnitView:
    """One school unit as its timetable program sees it.

    Attributes:
        unit: The unit.
        classes: This läsår's classes, without names holding a comma (Novaschem's list
            separator), in creation order.
        groups: This läsår's teaching and schema groups, in creation order.
        drawn_from: Class names each class or group draws its pupils from, by group id.
        activities: The unit's activities whose group is a listed class or group.
        mentors: Duties that are mentor of a class or group, by group id.
        duties: Duties by id (all units).
        syllabuses: Syllabuses by id.
    """

    unit: Unit
    classes: list[Group]
    groups: list[Group]
    drawn_from: dict[str, tuple[str, ...]]
    activities: list[Activity]
    mentors: dict[str, list[str]]
    duties: dict[str, Duty]
    syllabuses: dict[str, Syllabus]
    by_id: dict[str, Group] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {g.id: g for g in [*self.classes, *self.groups]}

    @property
    def code(self) -> str:
        """The unit's skolenhetskod, which names the export file and is its SchoolID."""
        return self.unit.org.school_unit_code or self.unit.org.id

    @property
    def gymnasium(self) -> bool:
        """Whether the unit exports ``Textfil GY``."""
        return self.unit.kind == "GY"

    def signatures(self, activity: Activity) -> list[str]:
        """Return the signatures of the activity's teachers, grader first, without repeats."""
        found: list[str] = []
        for teacher in activity.teachers:
            signature = self.duties[teacher.duty].signature
            if signature not in found:
                found.append(signature)
        return found

    def subject(self, activity: Activity) -> tuple[str, str]:
        """Return the activity's subject short code and full subject name.

        The short code is the syllabus's subjectDesignation, or its subjectCode when it has none.
        """
        syllabus = self.syllabuses[activity.syllabus]
        return syllabus.designation or syllabus.subject_code or "", syllabus.subject_name


def unit_views(ctx: Context, units: list[Unit]) -> list[UnitView]:
    """Return the view of every unit that teaches, in the order of ``units``.

    Args:
        ctx: The run's context, with every record made (faults included).
        units: The municipality's units.

    Returns:
        One view per unit of a teaching kind that has at least one activity.
    """
    current: defaultdict[str, list[Group]] = defaultdict(list)
    for group in ctx.groups:
        if group.end >= ctx.year.start:
            current[group.organisation].append(group)
    activities: defaultdict[str, list[Activity]] = defaultdict(list)
    for activity in ctx.activities:
        activities[activity.organisation].append(activity)
    mentors: defaultdict[str, list[str]] = defaultdict(list)
    for duty in ctx.duties:
        for role in duty.assignments:
            if role.role_type == "Mentor":
                mentors[role.group].append(duty.id)
    duties = {d.id: d for d in ctx.duties}
    syllabuses = {s.id: s for s in ctx.syllabuses.values()}
    views: list[UnitView] = []
    for unit in units:
        if unit.kind not in TEACHING_KINDS or not activities[unit.org.id]:
            continue
        groups = current[unit.org.id]
        classes = [g for g in groups if g.group_type == "Klass" and "," not in g.display_name]
        scheduled = [g for g in groups if g.group_type in SCHEDULED_GROUP_TYPES]
        known = {g.id for g in [*classes, *scheduled]}
        view = UnitView(
            unit,
            classes,
            scheduled,
            _drawn_from(classes, scheduled),
            [a for a in activities[unit.org.id] if a.groups and a.groups[0] in known],
            {gid: mentors[gid] for gid in sorted(known) if mentors[gid]},
            duties,
            syllabuses,
        )
        views.append(view)
    return views


def _drawn_from(classes: list[Group], groups: list[Group]) -> dict[str, tuple[str, ...]]:
    class_of = {m.person: c.display_name for c in classes for m in c.members}
    found: dict[str, tuple[str, ...]] = {c.id: (c.display_name,) for c in classes}
    for group in groups:
        names = {class_of[m.person] for m in group.members if m.person in class_of}
        found[group.id] = tuple(sorted(names))
    return found
