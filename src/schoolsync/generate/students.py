"""Pupils, their enrolments and their classes."""

from __future__ import annotations

import re
from datetime import date, timedelta

from .calendar import autumn_start
from .context import STUDENT_DOMAIN, Context
from .families import FamilyPool
from .model import Enrolment, Group, Membership, Person
from .names import student_account_base
from .schools import ClassInfo, Unit

FRITIDS_SHARE = 0.85
"""Share of pupils in förskoleklass–år 3 who have a place at the fritidshem."""

MOVED_IN_SHARE = 0.08
"""Share of pupils who joined their unit after its first year group."""

LETTERS = "ABCDEFGHJK"

CLASS_NAME = re.compile(r"^(?:F|[1-9])[A-Z]$|^[A-Z]{2}\d{2}[A-Z]?$|^GRS \d-\d$")
"""What generated class names look like (``7A``, ``FB``, ``NA24B``, ``TE25``, ``GRS 1-3``)."""


def class_size(ctx: Context, low: int = 15, high: int = 30, mode: int = 23) -> int:
    """Return a class size between ``low`` and ``high``, most often near ``mode``."""
    return round(ctx.rng.triangular(low, high, mode))


def new_class(ctx: Context, unit: Unit, name: str, school_type: str, grade: int) -> ClassInfo:
    """Create a Klass group for the current läsår and register it on ``unit``."""
    group = Group(
        ctx.ids.next("group"), name, "Klass", school_type, unit.org.id, ctx.year.start, ctx.year.end
    )
    ctx.groups.append(group)
    info = ClassInfo(group, grade)
    unit.classes.append(info)
    return info


def _enrolment_start(ctx: Context, entry_year: int) -> date:
    """Return when a pupil who entered the unit in ``entry_year``'s autumn started there.

    Most started on the first day of that läsår; some moved in later (another year, or during
    the current läsår when it has been going for a while).
    """
    rng = ctx.rng
    start = autumn_start(entry_year)
    if entry_year < ctx.year.first_year and rng.random() < MOVED_IN_SHARE:
        year = rng.randint(entry_year, ctx.year.first_year - 1)
        return autumn_start(year) + timedelta(days=rng.randint(14, 280))
    running = (min(ctx.today, ctx.year.end) - ctx.year.start).days
    if running > 21 and rng.random() < 0.02:
        return ctx.year.start + timedelta(days=rng.randint(7, running))
    return start


def add_pupil(
    ctx: Context, families: FamilyPool, info: ClassInfo, birth_year: int, enrolment: Enrolment
) -> Person:
    """Create a pupil in a household, enrol them and add them to the class ``info``.

    Args:
        ctx: The run's context.
        families: Household pool; the pupil joins a new or existing household.
        info: The class the pupil belongs to.
        birth_year: The pupil's birth year, from the year group.
        enrolment: The pupil's enrolment at the unit.

    Returns:
        The new pupil.
    """
    number = ctx.numbers.take(birth_year)
    family = families.family_for_new_child()
    given, surname, middle = families.child_names(family, number.sex)
    created = min(ctx.base_day, enrolment.start - timedelta(days=59))
    pupil = Person(
        ctx.ids.next("person"), given, surname, number.sex, number.value, number.birth_date, created
    )
    pupil.middle = middle
    pupil.account = ctx.accounts.claim(student_account_base(given, surname))
    pupil.eppn = pupil.email = f"{pupil.account}@{STUDENT_DOMAIN}"
    pupil.email_type = "Skola elev"
    pupil.address = family.address
    pupil.enrolments.append(enrolment)
    family.children.append(pupil)
    ctx.persons.append(pupil)
    info.students.append(pupil)
    info.group.members.append(Membership(pupil.id, max(enrolment.start, ctx.year.start)))
    return pupil


def fill_grundskola(ctx: Context, unit: Unit, families: FamilyPool) -> None:
    """Create the classes and pupils of a grundskola unit, with fritidshem places."""
    first_grade = min(unit.parallels)
    for grade, parallels in sorted(unit.parallels.items()):
        school_type = "FKLASS" if grade == 0 else "GR"
        label = "F" if grade == 0 else str(grade)
        for index in range(parallels):
            info = new_class(ctx, unit, f"{label}{LETTERS[index]}", school_type, grade)
            for _ in range(class_size(ctx)):
                start = _enrolment_start(ctx, ctx.year.first_year - (grade - first_grade))
                enrolment = Enrolment(unit.org.id, school_type, grade, start)
                pupil = add_pupil(ctx, families, info, ctx.year.first_year - 6 - grade, enrolment)
                _maybe_fritids(ctx, unit, pupil, grade)


def _maybe_fritids(ctx: Context, unit: Unit, pupil: Person, grade: int) -> None:
    fth = unit.fritidshem
    if fth is None or grade > 3 or ctx.rng.random() >= FRITIDS_SHARE:
        return
    pupil.enrolments.append(Enrolment(fth.org.id, "FTH", None, pupil.enrolments[0].start))
    fth.pupils.append(pupil)


def fill_grs(ctx: Context, unit: Unit, families: FamilyPool) -> None:
    """Create the age-mixed classes of an anpassad grundskola unit."""
    for first in sorted(unit.parallels):
        info = new_class(ctx, unit, f"GRS {first}-{first + 2}", "GRS", first)
        for _ in range(ctx.rng.randint(4, 9)):
            grade = ctx.rng.randint(first, first + 2)
            start = _enrolment_start(ctx, ctx.year.first_year - (grade - 1))
            enrolment = Enrolment(unit.org.id, "GRS", grade, start)
            add_pupil(ctx, families, info, ctx.year.first_year - 6 - grade, enrolment)


def fill_gymnasium(ctx: Context, unit: Unit, families: FamilyPool, small: set[str]) -> None:
    """Create the programme classes and students of a gymnasium unit.

    Args:
        ctx: The run's context.
        unit: The gymnasium unit.
        families: Household pool.
        small: Programme codes whose classes are small.
    """
    for year in (1, 2, 3):
        started = ctx.year.first_year - (year - 1)
        for programme, count in unit.programmes.items():
            for index in range(count):
                letter = LETTERS[index] if count > 1 else ""
                name = f"{programme}{started % 100:02d}{letter}"
                info = new_class(ctx, unit, name, "GY", year)
                info.programme = programme
                size = (
                    ctx.rng.randint(15, 16) if programme in small else class_size(ctx, 24, 30, 28)
                )
                for _ in range(size):
                    enrolment = Enrolment(unit.org.id, "GY", year, _enrolment_start(ctx, started))
                    add_pupil(ctx, families, info, ctx.year.first_year - 15 - year, enrolment)
