"""Generates a synthetic municipality and writes it as an SS 12000 bundle."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .calendar import SchoolYear
from .care import forskola, fritidshem, school_leaders, support_staff
from .catalogue import PROGRAMMES
from .context import Context
from .families import FamilyPool
from .faults import FaultMaker
from .gymnasium import GymnasiumTeaching
from .history import add_leavers
from .ids import IdFactory
from .names import NameMaker
from .numbers import CivicNumberPool, is_tf_number, load_test_pins
from .schedule import ScheduleResult, write_schedules
from .schools import SIZES, Unit, build_organisation
from .staff import Staffing
from .students import fill_grs, fill_grundskola, fill_gymnasium
from .teaching import GrundskolaTeaching, teach_grs
from .writer import write_bundle

FAULT_SEED_SALT = 0x5EED_FA17


@dataclass(frozen=True)
class GenerationSummary:
    """What :func:`generate_bundle` wrote.

    Attributes:
        out_dir: The bundle directory.
        size: Size name.
        seed: Seed used.
        school_year_start: First day of the autumn term of the läsår generated.
        organisations: Organisations of every type.
        schools: Organisations of type ``Skola``.
        students: Persons with at least one enrolment.
        staff: Persons with at least one duty.
        guardians: Persons who are responsible for a pupil.
        persons: All persons (a person can be staff and guardian at once).
        duties: Duties.
        groups: Groups of every type.
        memberships: Group memberships, over all groups.
        activities: Activities.
        syllabuses: Syllabuses.
        test_numbers: Persons whose civic number is from Skatteverket's test lists.
        tf_numbers: Persons with a TF number.
        faults: Descriptions of the deliberate faults written (register, then schedule).
        schedules: The Novaschem schedule exports written, sorted.
        lesson_rows: Lesson rows over all schedule exports.
        dated_lessons: Lesson rows times their weeks, placeholder rows left out.
    """

    out_dir: Path
    size: str
    seed: int
    school_year_start: date
    organisations: int
    schools: int
    students: int
    staff: int
    guardians: int
    persons: int
    duties: int
    groups: int
    memberships: int
    activities: int
    syllabuses: int
    test_numbers: int
    tf_numbers: int
    faults: tuple[str, ...]
    schedules: tuple[Path, ...] = ()
    lesson_rows: int = 0
    dated_lessons: int = 0


def _fill(ctx: Context, units: list[Unit], families: FamilyPool) -> None:
    small = {code for code, programme in PROGRAMMES.items() if programme.small}
    for unit in units:
        if unit.kind == "GR":
            fill_grundskola(ctx, unit, families)
        elif unit.kind == "GRS":
            fill_grs(ctx, unit, families)
        elif unit.kind == "GY":
            fill_gymnasium(ctx, unit, families, small)


def _staff(ctx: Context, units: list[Unit], staffing: Staffing) -> None:
    school_leaders(staffing, [u for u in units if u.kind in ("GR", "FTH", "GRS", "GY", "FS")])
    for unit in units:
        if unit.kind in ("GR", "GRS", "GY"):
            support_staff(staffing, unit)
    for unit in units:
        if unit.kind == "GR":
            GrundskolaTeaching(ctx, staffing, unit).build()
        elif unit.kind == "GRS":
            teach_grs(ctx, staffing, unit)
        elif unit.kind == "GY":
            GymnasiumTeaching(ctx, staffing, unit).build()
    for unit in units:
        if unit.kind == "GR" and unit.fritidshem is not None:
            fritidshem(ctx, staffing, unit.fritidshem, unit)
        elif unit.kind == "FS":
            forskola(ctx, staffing, unit)


def _summary(
    ctx: Context, out_dir: Path, size: str, seed: int, faults: list[str], schedule: ScheduleResult
) -> GenerationSummary:
    pins = set(load_test_pins())
    civic = [p.civic_no for p in ctx.persons]
    return GenerationSummary(
        out_dir=out_dir,
        size=size,
        seed=seed,
        school_year_start=ctx.year.start,
        organisations=len(ctx.organisations),
        schools=sum(1 for o in ctx.organisations if o.organisation_type == "Skola"),
        students=sum(1 for p in ctx.persons if p.enrolments),
        staff=len({d.person for d in ctx.duties}),
        guardians=len({pid for p in ctx.persons for pid, _ in p.responsibles}),
        persons=len(ctx.persons),
        duties=len(ctx.duties),
        groups=len(ctx.groups),
        memberships=sum(len(g.members) for g in ctx.groups),
        activities=len(ctx.activities),
        syllabuses=len(ctx.syllabuses),
        test_numbers=sum(1 for value in civic if value in pins),
        tf_numbers=sum(1 for value in civic if is_tf_number(value)),
        faults=(*faults, *schedule.faults),
        schedules=schedule.paths,
        lesson_rows=schedule.lesson_rows,
        dated_lessons=schedule.dated_lessons,
    )


def generate_bundle(
    out_dir: Path,
    size: str = "small",
    *,
    seed: int = 1,
    today: date | None = None,
    faults: bool = True,
    page_size: int = 5000,
) -> GenerationSummary:
    """Generate a synthetic Swedish municipality and write it as an SS 12000 bundle.

    Alongside the bundle, ``schedule/<skolenhetskod>.txt`` holds each teaching unit's timetable
    as a Novaschem/Skola24 text export. The same arguments always give byte-identical files.

    Args:
        out_dir: Directory to write; created if missing. Earlier persons pages are replaced.
        size: One of :data:`SIZES` (``tiny``, ``small``, ``medium``, ``large``).
        seed: Seed of the only random source.
        today: The date the data describes; picks the läsår. Defaults to the real date.
        faults: Whether to write the deliberate faults (see :mod:`.faults` and
            :mod:`.schedule_faults`).
        page_size: Persons per ``persons/page-NNNN.json`` file.

    Returns:
        Counts of what was written, and the list of faults.

    Raises:
        ValueError: For an unknown size or a page size below 1.
    """
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    spec = SIZES[size]
    rng = random.Random(seed)
    year = SchoolYear.containing(today or date.today())
    pool = CivicNumberPool(load_test_pins(), rng)
    ctx = Context(rng, IdFactory(seed), year, today or date.today(), pool, NameMaker(rng))
    units = build_organisation(ctx, spec)
    families = FamilyPool(ctx)
    _fill(ctx, units, families)
    staffing = Staffing(ctx)
    _staff(ctx, units, staffing)
    families.make_guardians(staffing.staff)
    if spec.with_history:
        add_leavers(ctx, units)
    written: list[str] = []
    if faults:
        fault_rng = random.Random(seed ^ FAULT_SEED_SALT)
        maker = FaultMaker(ctx, units, families.families, staffing, fault_rng)
        written = maker.apply(spec.with_history)
    write_bundle(ctx, Path(out_dir), page_size)
    schedule = write_schedules(ctx, units, Path(out_dir), seed, faults)
    return _summary(ctx, Path(out_dir), size, seed, written, schedule)
