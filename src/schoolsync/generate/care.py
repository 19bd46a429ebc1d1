"""School leaders, support staff, fritidshem and förskola staffing."""

from __future__ import annotations

import math
from collections import defaultdict

from .builders import chunks, group
from .context import Context
from .model import AssignmentRole, Duty
from .names_data import AVDELNING_NAMES
from .schools import Unit
from .staff import Staffing, Teacher

FRITIDS_FROM_SCHOOL_SHARE = 0.25
"""Share of a fritidshem's fritidspedagoger who also teach at the grundskola unit."""


def school_leaders(staffing: Staffing, units: list[Unit]) -> None:
    """Give each Skola (and each förskoleområde) one rektor with a duty at every unit."""
    by_skola: defaultdict[str, list[Unit]] = defaultdict(list)
    for unit in units:
        if unit.skola is not None:
            by_skola[unit.skola.id].append(unit)
    for members in by_skola.values():
        rektor = staffing.new_person()
        share = 100 // len(members)
        signature: str | None = None
        for unit in members:
            duty = staffing.add_duty(rektor, unit.org, "Rektor", share, signature)
            signature = duty.signature


def _pupil_count(unit: Unit) -> int:
    return sum(len(c.students) for c in unit.classes)


def support_staff(staffing: Staffing, unit: Unit) -> None:
    """Add administration, elevhälsa, study guidance and assistants in proportion to pupils."""
    pupils = _pupil_count(unit)
    if pupils == 0:
        return
    senior = sum(len(c.students) for c in unit.classes if c.grade >= 7 or unit.kind == "GY")
    preschool_classes = sum(1 for c in unit.classes if c.grade == 0 and unit.kind == "GR")
    needs = {
        "Skoladministratör": 1 + (pupils > 600),
        "Kurator": math.ceil(pupils / 450),
        "Skolsköterska": math.ceil(pupils / 450),
        "Speciallärare/specialpedagog": math.ceil(pupils / 250),
        "Studie- och yrkesvägledare": math.ceil(senior / 400),
        "Lärarassistent": round(pupils / 100) if unit.kind != "GY" else 0,
        "Barnskötare": math.ceil(preschool_classes / 2),
        "Bibliotekarie": 1 if pupils > 400 else 0,
    }
    if unit.kind == "GRS":
        needs = {"Lärarassistent": len(unit.classes)}
    for role, count in needs.items():
        for _ in range(count):
            staffing.add_duty(staffing.new_person(), unit.org, role)


def fritidshem(ctx: Context, staffing: Staffing, unit: Unit, school: Unit) -> None:
    """Create the avdelningar of a fritidshem and their fritidspedagoger and barnskötare.

    Args:
        ctx: The run's context.
        staffing: Staff factory.
        unit: The fritidshem unit, with its pupils.
        school: The grundskola unit it serves; some of its teachers also work here.
    """
    sections = chunks(unit.pupils, 30)
    for index, pupils in enumerate(sections):
        name = AVDELNING_NAMES[index % len(AVDELNING_NAMES)]
        if index >= len(AVDELNING_NAMES):
            name = f"{name} {index // len(AVDELNING_NAMES) + 1}"
        section = group(ctx, unit, f"Avdelning {name}", "FTH", pupils, "Avdelning")
        for _ in range(1 + (ctx.rng.random() < 0.5)):
            pedagogue = _fritids_teacher(ctx, staffing, unit, school)
            role = AssignmentRole(section.id, "Fritidspedagog", section.start)
            pedagogue.assignments.append(role)
        if ctx.rng.random() < 0.8:
            nurse = staffing.add_duty(staffing.new_person(), unit.org, "Barnskötare")
            nurse.assignments.append(AssignmentRole(section.id, "Barnskötare", section.start))


def _fritids_teacher(ctx: Context, staffing: Staffing, unit: Unit, school: Unit) -> Duty:
    if ctx.rng.random() < FRITIDS_FROM_SCHOOL_SHARE:
        used = staffing.signatures.setdefault(unit.org.id, set())
        teachers: list[Teacher] = staffing.teachers.get(school.org.id, [])
        free = [
            t
            for t in teachers
            if t.duty.role == "Lärare"
            and t.duty.signature not in used
            and {"IDH", "MU", "BL", "KL"} & set(t.areas)
        ]
        if free:
            chosen = free[ctx.rng.randrange(len(free))]
            chosen.duty.percent = 60
            signature = chosen.duty.signature
            return staffing.add_duty(chosen.person, unit.org, "Fritidspedagog", 40, signature)
    return staffing.add_duty(staffing.new_person(), unit.org, "Fritidspedagog")


def forskola(ctx: Context, staffing: Staffing, unit: Unit) -> None:
    """Staff a förskola unit with förskollärare and barnskötare (no children are generated)."""
    for role, low, high in (("Förskollärare", 5, 9), ("Barnskötare", 4, 8)):
        for _ in range(ctx.rng.randint(low, high)):
            staffing.add_duty(staffing.new_person(), unit.org, role)
