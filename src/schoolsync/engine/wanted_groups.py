"""What classes and groups the register implies, with their names, dates and members (R5, R6).

Pure: register groups, activities and syllabuses in; wanted directory groups out. Classes
(``Klass``, ``Avdelning``) keep their register names and dates. Teaching groups (``Undervisning``,
``Schema``) get their dates from their students (R6.2). An activity that ties a class straight to a
subject makes a generated group (R6.5), named by the ``[sync] group_naming`` model.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from schoolsync.domain.records import Activity, Group, Syllabus
from schoolsync.engine.context import PlanContext

KIND_OF = {
    "Klass": "class",
    "Avdelning": "class",
    "Undervisning": "group",
    "Schema": "group",
    "Mentor": "mentor",
}
Period = tuple[date | None, date | None]
GroupKey = tuple[str, str, str]  # (school id, kind, name)


@dataclass
class WantedGroup:
    """A directory group the register implies.

    Attributes:
        school_id: The directory school.
        kind: ``class``, ``group``, ``mentor`` or ``other``.
        name: The name (the key within school and kind).
        register_id: The register group id, or ``gen:<activity>:<group>`` for generated groups.
        source_id: The register group the members come from.
        students: Register person id to membership period.
        teachers: Activity teachers as (duty id, period).
    """

    school_id: str
    kind: str
    name: str
    register_id: str
    register_type: str
    source_id: str
    start: date | None
    end: date | None
    subject: str | None = None
    course: str | None = None
    activities: list[str] = field(default_factory=list)
    students: dict[str, Period] = field(default_factory=dict)
    teachers: list[tuple[str, Period]] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        """(school id, kind, name): the group's key in the directory."""
        return (self.school_id, self.kind, self.name)

    @property
    def member_role(self) -> str:
        """The role register members get: students, or plain members of other groups."""
        return "member" if self.kind == "other" else "student"


def subject_code(syllabus: Syllabus | None) -> str | None:
    """The subject code of a syllabus: its designation (``MA``) when given, else its code."""
    if syllabus is None:
        return None
    return syllabus.subject_designation or syllabus.subject_code or None


def render_name(template: str, **values: str) -> str:
    """Fill ``{class}``, ``{group}``, ``{subject}``, ``{course}`` in a naming template."""
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def cover(a: Period, b: Period) -> Period:
    """The smallest period covering both (None = open)."""
    starts = [d for d in (a[0], b[0]) if d is not None]
    end = None if a[1] is None or b[1] is None else max(a[1], b[1])
    return (min(starts) if starts else None, end)


def _members(group: Group) -> dict[str, Period]:
    """Register members with their own dates, falling back to the group's dates."""
    members: dict[str, Period] = {}
    for m in group.members:
        period = (m.start_date or group.start_date, m.end_date or group.end_date)
        old = members.get(m.person_id)
        members[m.person_id] = period if old is None else cover(old, period)
    return members


def _student_span(members: dict[str, Period], fallback: Period) -> Period:
    """R6.2: a group runs from its students' earliest start to their latest end."""
    span: Period | None = None
    for period in members.values():
        span = period if span is None else cover(span, period)
    return span or fallback


@dataclass
class _Sources:
    groups: dict[str, Group]
    school_of: dict[str, str]
    activities: dict[str, list[Activity]]


def wanted_groups(ctx: PlanContext) -> tuple[dict[GroupKey, WantedGroup], set[GroupKey]]:
    """Every group the register implies, by key; plus the keys to leave untouched this run.

    Issues: ``class-name-comma`` (R5.2), ``duplicate-group-name``, ``unknown-reference``.
    """
    src = _sources(ctx)
    naming = ctx.settings.sync.group_naming
    wanted: list[WantedGroup] = []
    for gid in sorted(src.groups):
        group = src.groups[gid]
        kind = KIND_OF.get(group.group_type, "other")
        activities = src.activities.get(gid, [])
        if kind == "class":
            wanted.append(_class(ctx, src, group, activities))
            for activity in activities:
                generated = _class_subject_group(ctx, src, group, activity, naming)
                if generated is not None:
                    wanted.append(generated)
        elif kind == "group" and naming == "ted" and activities:
            wanted.extend(_ted_groups(ctx, src, group, activities))
        else:
            wanted.append(_plain(ctx, src, group, kind, activities))
    return _drop_duplicates(ctx, wanted)


def _sources(ctx: PlanContext) -> _Sources:
    snap = ctx.snapshot
    groups: dict[str, Group] = {}
    school_of: dict[str, str] = {}
    for group in snap.groups:
        school = ctx.unit_school.get(group.unit_id)
        if school is None:
            continue
        if KIND_OF.get(group.group_type) == "class" and "," in group.name:
            ctx.report(
                "class-name-comma",
                f"The class {group.name!r} ({group.ref}) has a comma in its name. Commas are not "
                f"allowed in class names, so the class was not created and nobody was linked to "
                f"it. Rename the class in the register without the comma.",
                group.name,
            )
            continue
        groups[group.id] = group
        school_of[group.id] = school
    by_group: dict[str, list[Activity]] = defaultdict(list)
    for activity in sorted(snap.activities, key=lambda a: a.id):
        for gid in activity.group_ids:
            if gid in groups:
                by_group[gid].append(activity)
    return _Sources(groups, school_of, by_group)


def _syllabus(ctx: PlanContext, activity: Activity) -> Syllabus | None:
    return ctx.snapshot.syllabuses.get(activity.syllabus_id or "")


def _teachers(activities: list[Activity]) -> list[tuple[str, Period]]:
    return [
        (t.duty_id, (t.start_date or a.start_date, t.end_date or a.end_date))
        for a in activities
        for t in a.teachers
    ]


def _class(ctx: PlanContext, src: _Sources, group: Group, acts: list[Activity]) -> WantedGroup:
    return WantedGroup(
        school_id=src.school_of[group.id],
        kind="class",
        name=group.name,
        register_id=group.id,
        register_type=group.group_type,
        source_id=group.id,
        start=group.start_date,
        end=group.end_date,
        activities=[a.name for a in acts],
        students=_members(group),
        teachers=_teachers(acts),
    )


def _plain(
    ctx: PlanContext, src: _Sources, group: Group, kind: str, acts: list[Activity]
) -> WantedGroup:
    students = _members(group)
    syllabus = next((s for a in acts if (s := _syllabus(ctx, a)) is not None), None)
    span = (
        _student_span(students, (group.start_date, group.end_date))
        if kind == "group"
        else (group.start_date, group.end_date)
    )
    return WantedGroup(
        school_id=src.school_of[group.id],
        kind=kind,
        name=group.name,
        register_id=group.id,
        register_type=group.group_type,
        source_id=group.id,
        start=span[0],
        end=span[1],
        subject=subject_code(syllabus),
        course=syllabus.course_code if syllabus else None,
        activities=[a.name for a in acts],
        students=students,
        teachers=_teachers(acts),
    )


def _generated(
    src: _Sources, group: Group, activity: Activity, name: str, syllabus: Syllabus | None
) -> WantedGroup:
    students = _members(group)
    span = _student_span(students, (group.start_date, group.end_date))
    return WantedGroup(
        school_id=src.school_of[group.id],
        kind="group",
        name=name,
        register_id=f"gen:{activity.id}:{group.id}",
        register_type="Generated",
        source_id=group.id,
        start=span[0],
        end=span[1],
        subject=subject_code(syllabus),
        course=syllabus.course_code if syllabus else None,
        activities=[activity.name],
        students=students,
        teachers=_teachers([activity]),
    )


def _class_subject_group(
    ctx: PlanContext, src: _Sources, group: Group, activity: Activity, naming: str
) -> WantedGroup | None:
    """R6.5: an activity that ties a class straight to a subject makes a ``KLA.`` group."""
    syllabus = _syllabus(ctx, activity)
    subject = subject_code(syllabus)
    if syllabus is None or subject is None:
        return None
    template = "KLA.{class}_{subject}"
    if naming == "procapita":
        template = ctx.settings.sync.procapita_template
    values = {"class": group.name, "subject": subject, "course": syllabus.course_code or ""}
    return _generated(src, group, activity, render_name(template, **values), syllabus)


def _ted_groups(
    ctx: PlanContext, src: _Sources, group: Group, acts: list[Activity]
) -> list[WantedGroup]:
    """R6.5 (Edlevo/TED): one group per activity on a teaching group, named by rules 2–4."""
    out = []
    for activity in acts:
        syllabus = _syllabus(ctx, activity)
        subject = subject_code(syllabus) or ""
        course = syllabus.course_code if syllabus else None
        if not course:
            name = f"{group.name}__{subject}" if subject else group.name  # rule 2
        elif len(acts) == 1:
            name = group.name  # rule 3
        else:
            name = f"{group.name}__{course}"  # rule 4
        out.append(_generated(src, group, activity, name, syllabus))
    return out


def _drop_duplicates(
    ctx: PlanContext, wanted: list[WantedGroup]
) -> tuple[dict[GroupKey, WantedGroup], set[GroupKey]]:
    """Two register groups with one name in one school: use neither, change nothing (R6.1)."""
    counts = Counter(w.key for w in wanted)
    frozen_keys = {key for key, n in counts.items() if n > 1}
    names = ctx.directory.school_names() | _new_school_names(ctx)
    for school_id, kind, name in sorted(frozen_keys):
        what = "class" if kind == "class" else "group"
        ctx.report(
            "duplicate-group-name",
            f"The {what} name {name!r} is used by {counts[(school_id, kind, name)]} different "
            f"register groups at {names.get(school_id, school_id)}, so none of them was used and "
            f"the {what} was left as it is. Give each {what} a name of its own in the register.",
            name,
        )
    return {w.key: w for w in wanted if w.key not in frozen_keys}, frozen_keys


def _new_school_names(ctx: PlanContext) -> dict[str, str]:
    return {row["id"]: row["name"] for row in ctx.changes.inserts.get("schools", [])}
