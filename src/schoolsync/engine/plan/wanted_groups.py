"""What classes and groups the register implies, with their names, dates and members (R5, R6).

Pure: register groups, activities and syllabuses in; wanted directory groups out. Classes
(``Klass``, ``Avdelning``) keep their register names and dates. Teaching groups (``Undervisning``,
``Schema``) get their dates from their students (R6.2). An activity that ties a class straight to a
subject makes a generated group (R6.5), named by the ``[sync] group_naming`` model.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from schoolsync.domain.records import Activity, Group, Syllabus
from schoolsync.engine.plan.context import PlanContext

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
    return syllabus.code if syllabus is not None else None


def render_name(template: str, **values: str) -> str:
    """Fill ``{class}``, ``{group}``, ``{subject}``, ``{course}`` in a naming template."""
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


def cover(a: Period, b: Period) -> Period:
    """The smallest period covering both (None = open).

    Called once per membership of every group: written without temporary lists.
    """
    start, other = a[0], b[0]
    if start is None or (other is not None and other < start):
        start = other
    end, other = a[1], b[1]
    if end is not None and (other is None or other > end):
        end = other
    return (start, end)


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
    members: dict[str, dict[str, Period]] = field(default_factory=dict)

    def members_of(self, group: Group) -> dict[str, Period]:
        """The group's members (:func:`_members`), made once per group: a class and the groups
        generated from it share them, and nothing changes them once made."""
        found = self.members.get(group.id)
        if found is None:
            found = self.members[group.id] = _members(group)
        return found


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
    return _drop_duplicates(ctx, _fitting(ctx, wanted))


NAME_LENGTH = 300  # groups.name


def _fitting(ctx: PlanContext, wanted: list[WantedGroup]) -> list[WantedGroup]:
    """Groups whose (generated) name fits the directory; the others are reported and left out."""
    out = []
    for w in wanted:
        if len(w.name) <= NAME_LENGTH:
            out.append(w)
            continue
        ctx.report(
            "invalid-record",
            f"The group name {w.name[:40]!r}... ({w.register_id}) is {len(w.name)} characters "
            f"long, more than the {NAME_LENGTH} the directory allows, so the group was not "
            f"created and nobody was linked to it. Shorten the name in the register (or the "
            f"naming template in the settings).",
            w.register_id,
        )
    return out


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
    known = {g.id for g in snap.groups} | snap.unreadable_ids.get("groups", set())
    for activity in sorted(snap.activities, key=lambda a: a.id):
        for gid in activity.group_ids:
            if gid in groups:
                by_group[gid].append(activity)
            elif gid not in known and "groups" not in snap.unidentified:
                ctx.report(
                    "unknown-reference",
                    f"The activity {activity.name!r} ({activity.ref}) names the group id {gid}, "
                    f"which is not in groups.json, so nobody was linked through it. Include "
                    f"every group in the export.",
                    gid,
                )
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
        students=src.members_of(group),
        teachers=_teachers(acts),
    )


def _plain(
    ctx: PlanContext, src: _Sources, group: Group, kind: str, acts: list[Activity]
) -> WantedGroup:
    students = src.members_of(group)
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
    students = src.members_of(group)
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


def reused_message(name: str, school: str, ended: date, start: date | None, shared: int,
                   total: int) -> str:  # fmt: skip
    """The ``group-name-reused`` sentence (R6.3)."""
    term = f" HT{str(start)[2:4]}" if start else " HT"
    return (
        f"The group {name!r} at {school} ended on {ended.isoformat()} and is used again from "
        f"{start} with mostly new students ({shared} of {total} were in it before). The old "
        f"content stays in the group and its former students lose access to their work. Give "
        f"groups a name per term in the register (e.g. {name + term!r})."
    )


def _overlap(a: WantedGroup, b: WantedGroup) -> bool:
    """Whether two groups' periods overlap (``a`` starts first)."""
    return a.end is None or b.start is None or a.end >= b.start


def _drop_duplicates(
    ctx: PlanContext, wanted: list[WantedGroup]
) -> tuple[dict[GroupKey, WantedGroup], set[GroupKey]]:
    """Resolve register groups that share a name in one school.

    Periods that follow each other are one name used for several terms: the current one (the
    latest that has started) is the group, and R6.3 warns if it has mostly new students. Periods
    that overlap are two groups with one name: neither is used and nothing changes (R6.1).
    """
    by_key: dict[GroupKey, list[WantedGroup]] = defaultdict(list)
    for w in wanted:
        by_key[w.key].append(w)
    names = ctx.school_names()
    out: dict[GroupKey, WantedGroup] = {}
    frozen: set[GroupKey] = set()
    for key, same in sorted(by_key.items()):
        if len(same) == 1:
            out[key] = same[0]
            continue
        same.sort(key=lambda w: (w.start or date.min, w.register_id))
        school = names.get(key[0], key[0])
        if any(_overlap(a, b) for a, b in itertools.pairwise(same)):
            frozen.add(key)
            what = "class" if key[1] == "class" else "group"
            ctx.report(
                "duplicate-group-name",
                f"The {what} name {key[2]!r} is used by {len(same)} different register groups "
                f"at the same time at {school}, so none of them was used and the {what} was left "
                f"as it is. Give each {what} a name of its own in the register.",
                key[2],
            )
            continue
        started = [w for w in same if w.start is None or w.start <= ctx.today]
        current = started[-1] if started else same[0]
        out[key] = current
        index = same.index(current)
        if index == 0 or key[1] != "group":
            continue
        previous = same[index - 1]
        shared = len(set(previous.students) & set(current.students))
        if current.students and previous.end and shared * 2 < len(current.students):
            message = reused_message(
                key[2], school, previous.end, current.start, shared, len(current.students)
            )
            ctx.report("group-name-reused", message, key[2])
    return out, frozen
