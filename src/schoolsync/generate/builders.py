"""Small constructors for groups, activities and syllabuses shared by the teaching modules."""

from __future__ import annotations

from collections.abc import Iterable

from .catalogue import GR_SUBJECTS, GY_COURSES, Subject
from .context import Context
from .model import Activity, Group, Membership, Person, Syllabus, TeacherAssignment
from .schools import Unit
from .staff import Teacher


def group(
    ctx: Context,
    unit: Unit,
    name: str,
    school_type: str,
    pupils: Iterable[Person],
    group_type: str = "Undervisning",
) -> Group:
    """Create a group of ``pupils`` at ``unit`` for the current läsår.

    Each membership starts on the läsår's first day, or on the pupil's enrolment if later.
    """
    start = ctx.year.start
    made = Group(
        ctx.ids.next("group"), name, group_type, school_type, unit.org.id, start, ctx.year.end
    )
    made.members = [Membership(p.id, max(start, p.enrolments[0].start)) for p in pupils]
    ctx.groups.append(made)
    return made


def activity(
    ctx: Context,
    unit: Unit,
    name: str,
    groups: list[Group],
    syllabus: Syllabus,
    teachers: list[Teacher],
) -> Activity:
    """Create an Undervisning activity; the first teacher grades, any others assist."""
    assignments = [TeacherAssignment(t.duty.id, index == 0) for index, t in enumerate(teachers)]
    made = Activity(
        ctx.ids.next("activity"),
        name,
        unit.org.id,
        [g.id for g in groups],
        syllabus.id,
        assignments,
        ctx.year.start,
        ctx.year.end,
    )
    ctx.activities.append(made)
    return made


def gr_syllabus(ctx: Context, key: str) -> Syllabus:
    """Return (creating on first use) the grundskola syllabus of subject ``key``."""
    found = ctx.syllabuses.get(key)
    if found is None:
        subject = GR_SUBJECTS[key]
        first = 6 if subject.language else 1
        found = Syllabus(
            ctx.ids.next("syllabus"),
            "GR",
            _name(subject),
            "GR2011",
            subject.code,
            key,
            start_year=first,
            end_year=9,
            language_code=subject.language,
        )
        ctx.syllabuses[key] = found
    return found


def grs_syllabus(ctx: Context, key: str) -> Syllabus:
    """Return (creating on first use) the anpassad grundskola syllabus of subject ``key``."""
    found = ctx.syllabuses.get(f"GRS:{key}")
    if found is None:
        subject = GR_SUBJECTS[key]
        found = Syllabus(
            ctx.ids.next("syllabus"),
            "GRS",
            subject.name,
            "GRSÄR2011",
            designation=key,
            start_year=1,
            end_year=9,
        )
        ctx.syllabuses[f"GRS:{key}"] = found
    return found


def gy_syllabus(ctx: Context, code: str) -> Syllabus:
    """Return (creating on first use) the gymnasium syllabus of course ``code``."""
    found = ctx.syllabuses.get(code)
    if found is None:
        course = GY_COURSES[code]
        found = Syllabus(
            ctx.ids.next("syllabus"),
            "GY",
            course.name,
            "GY2011",
            course.code,
            course_code=code,
            course_name=course.course_name,
            points=course.points,
            language_code=course.language,
        )
        ctx.syllabuses[code] = found
    return found


def _name(subject: Subject) -> str:
    names = {"spa": "spanska", "deu": "tyska", "fra": "franska"}
    if subject.language:
        return f"{subject.name} – {names[subject.language]}"
    return subject.name


def halves(pupils: list[Person]) -> tuple[list[Person], list[Person]]:
    """Split a class list in two halves, alternating so both get a mix."""
    return pupils[0::2], pupils[1::2]


def chunks(pupils: list[Person], most: int) -> list[list[Person]]:
    """Split ``pupils`` into as few near-equal groups of at most ``most`` as possible."""
    if not pupils:
        return []
    count = -(-len(pupils) // most)
    return [pupils[index::count] for index in range(count)]
