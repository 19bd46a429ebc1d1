"""Sizes of the synthetic municipality and its organisation tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .context import DOMAIN, MUNICIPALITY, Context
from .model import Group, Organisation, Person
from .names import ascii_fold
from .names_data import PLACE_ENDINGS, PLACE_STEMS, PRESCHOOL_NAMES


@dataclass(frozen=True)
class SizeSpec:
    """How big a municipality to generate.

    Attributes:
        name: Size name.
        f6_schools: Schools with a förskoleklass–år 6 unit and a fritidshem.
        f9_schools: Schools with a förskoleklass–år 9 unit and a fritidshem.
        s79_schools: Schools with an år 7–9 unit.
        gy_schools: Gymnasieskolor.
        grs_units: Anpassad grundskola (GRS) units, attached to grundskolor.
        fs_units: Förskola units (staff only).
        parallels_low: Range of classes per year group in förskoleklass–år 6.
        parallels_high: Range of classes per year group in år 7–9.
        gy_classes: Range of classes per year of a large gymnasium programme.
        with_history: Whether to add a closed unit and an avgångsenhet.
    """

    name: str
    f6_schools: int
    f9_schools: int
    s79_schools: int
    gy_schools: int
    grs_units: int
    fs_units: int
    parallels_low: tuple[int, int]
    parallels_high: tuple[int, int]
    gy_classes: tuple[int, int]
    with_history: bool


SIZES: dict[str, SizeSpec] = {
    "tiny": SizeSpec("tiny", 0, 0, 1, 0, 0, 0, (1, 1), (1, 1), (1, 1), False),
    "small": SizeSpec("small", 0, 1, 0, 0, 0, 0, (2, 2), (3, 3), (1, 1), False),
    "medium": SizeSpec("medium", 10, 3, 4, 3, 2, 6, (2, 4), (5, 7), (1, 2), True),
    "large": SizeSpec("large", 85, 25, 35, 25, 12, 100, (3, 4), (5, 7), (2, 3), True),
}


@dataclass(slots=True)
class ClassInfo:
    """A class (Klass group) and the pupils in it."""

    group: Group
    grade: int
    students: list[Person] = field(default_factory=list)
    programme: str | None = None


@dataclass(slots=True)
class Unit:
    """A school unit with what the generator needs to fill it.

    Attributes:
        org: The Skolenhet organisation.
        kind: ``GR``, ``FTH``, ``GRS``, ``GY``, ``FS``, ``CLOSED`` or ``DEPARTURE``.
        parallels: Classes per year group (år; 0 is förskoleklass); for ``GRS`` the first year of
            each age-mixed class.
        programmes: Gymnasium programme codes and their classes per year.
        fritidshem: The fritidshem unit serving this grundskola unit.
        skola: The Skola the unit belongs to.
        classes: Classes, filled by :mod:`.students`.
        pupils: Children placed at a fritidshem unit.
    """

    org: Organisation
    kind: str
    parallels: dict[int, int] = field(default_factory=dict)
    programmes: dict[str, int] = field(default_factory=dict)
    fritidshem: Unit | None = None
    skola: Organisation | None = None
    classes: list[ClassInfo] = field(default_factory=list)
    pupils: list[Person] = field(default_factory=list)


def _place_names(ctx: Context, count: int) -> list[str]:
    combos = [s + e for s in PLACE_STEMS for e in PLACE_ENDINGS]
    return ctx.rng.sample(combos, count)


def _compound(place: str, word: str) -> str:
    """Join a place name and ``skolan``/``gymnasiet`` with a linking s where Swedish wants it."""
    link = "" if place[-1] in "aeiouyåäö" or place.endswith("s") else "s"
    return f"{place}{link}{word}"


class _OrgBuilder:
    """Creates organisations with unique codes and school unit codes."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._codes: set[str] = set()
        self._unit_codes: set[int] = set()

    def code(self, text: str) -> str:
        stem = ascii_fold(text).upper()[:6] or "ORG"
        candidate, n = stem, 1
        while candidate in self._codes:
            n += 1
            candidate = f"{stem}{n}"
        self._codes.add(candidate)
        return candidate

    def unit_code(self) -> str:
        """Return a new eight-digit skolenhetskod starting with 99, which Skolverket never uses."""
        while True:
            number = self.ctx.rng.randrange(1, 1_000_000)
            if number not in self._unit_codes:
                self._unit_codes.add(number)
                return f"99{number:06d}"

    def add(self, name: str, org_type: str, parent: str | None, **extra: object) -> Organisation:
        org = Organisation(self.ctx.ids.next("organisation"), name, org_type, parent=parent)
        org.code = self.code(str(extra.pop("code", name)))
        for key, value in extra.items():
            setattr(org, key, value)
        if org_type == "Skolenhet":
            org.school_unit_code = self.unit_code()
            org.address = self.ctx.names.address()
            org.email = f"{ascii_fold(name).lower()[:24]}@{DOMAIN}"
            org.start = org.start or date(2000 + self.ctx.rng.randint(0, 15), 7, 1)
        self.ctx.organisations.append(org)
        return org


def _parallels(
    ctx: Context, grades: range, low: tuple[int, int], high: tuple[int, int]
) -> dict[int, int]:
    base_low, base_high = ctx.rng.randint(*low), ctx.rng.randint(*high)
    result: dict[int, int] = {}
    for grade in grades:
        base = base_low if grade <= 6 else base_high
        wobble = ctx.rng.choice((-1, 1)) if ctx.rng.random() < 0.15 else 0
        result[grade] = max(1, base + wobble) if base > 1 else base
    return result


def build_organisation(ctx: Context, spec: SizeSpec) -> list[Unit]:
    """Create the Huvudman, its schools and units, and return the units to fill.

    Args:
        ctx: The run's context; organisations are appended to ``ctx.organisations``.
        spec: The size to build.

    Returns:
        The units in a fixed order: grundskola and their fritidshem, GRS, gymnasium, förskola,
        then the closed unit and the avgångsenhet.
    """
    builder = _OrgBuilder(ctx)
    top = builder.add(f"{MUNICIPALITY} kommun", "Huvudman", None, code="EXK")
    units: list[Unit] = []
    kinds = ["F6"] * spec.f6_schools + ["F9"] * spec.f9_schools + ["79"] * spec.s79_schools
    places = _place_names(ctx, len(kinds) + spec.gy_schools + 1)
    grs_left = spec.grs_units
    for kind, place in zip(kinds, places, strict=False):
        units.extend(_grundskola(ctx, builder, spec, top.id, kind, place, grs_left > 0))
        grs_left -= 1
    for place in places[len(kinds) : len(kinds) + spec.gy_schools]:
        units.append(_gymnasium(ctx, builder, spec, top.id, place))
    units.extend(_preschools(ctx, builder, top.id, spec.fs_units))
    if spec.with_history:
        units.extend(_history_units(ctx, builder, top.id, places[-1]))
    return units


def _grundskola(
    ctx: Context,
    builder: _OrgBuilder,
    spec: SizeSpec,
    top: str,
    kind: str,
    place: str,
    with_grs: bool,
) -> list[Unit]:
    school_name = _compound(place, "skolan")
    skola = builder.add(school_name, "Skola", top)
    first = 7 if kind == "79" else 0
    last = 6 if kind == "F6" else 9
    label = f"{'F' if first == 0 else first}-{last}"
    types = ("FKLASS", "GR") if first == 0 else ("GR",)
    org = builder.add(
        f"{school_name} {label}",
        "Skolenhet",
        skola.id,
        school_types=types,
        code=f"{place[:3]}{label}",
    )
    gr = Unit(
        org,
        "GR",
        _parallels(ctx, range(first, last + 1), spec.parallels_low, spec.parallels_high),
        skola=skola,
    )
    units = [gr]
    if first == 0:
        fth_name = f"{school_name.removesuffix('s')}s fritidshem"
        fth = builder.add(
            fth_name, "Skolenhet", skola.id, school_types=("FTH",), code=f"{place[:3]}FTH"
        )
        gr.fritidshem = Unit(fth, "FTH", skola=skola)
        units.append(gr.fritidshem)
    if with_grs:
        grs = builder.add(
            f"{school_name} anpassad grundskola",
            "Skolenhet",
            skola.id,
            school_types=("GRS",),
            code=f"{place[:3]}GRS",
        )
        units.append(Unit(grs, "GRS", {1: 1, 4: 1, 7: 1}, skola=skola))
    return units


def _gymnasium(ctx: Context, builder: _OrgBuilder, spec: SizeSpec, top: str, place: str) -> Unit:
    name = _compound(place, "gymnasiet")
    skola = builder.add(name, "Skola", top)
    org = builder.add(name, "Skolenhet", skola.id, school_types=("GY",), code=f"{place[:3]}GY")
    big = ctx.rng.sample(("NA", "SA", "EK"), ctx.rng.randint(2, 3))
    small = ctx.rng.sample(("TE", "EE", "ES"), ctx.rng.randint(1, 2))
    programmes = {code: ctx.rng.randint(*spec.gy_classes) for code in sorted(big)}
    programmes.update((code, 1) for code in sorted(small))
    return Unit(org, "GY", programmes=programmes, skola=skola)


def _preschools(ctx: Context, builder: _OrgBuilder, top: str, count: int) -> list[Unit]:
    units: list[Unit] = []
    areas = ("Norr", "Söder", "Väster", "Öster")
    parents: list[Organisation] = []
    for index in range(count):
        if index % 8 == 0:
            area = areas[len(parents) % len(areas)]
            suffix = f" {len(parents) // len(areas) + 1}" if len(parents) >= len(areas) else ""
            parents.append(builder.add(f"Förskoleområde {area}{suffix}", "Rektorsområde", top))
        name = PRESCHOOL_NAMES[index % len(PRESCHOOL_NAMES)]
        if index >= len(PRESCHOOL_NAMES):
            name = f"{name} {index // len(PRESCHOOL_NAMES) + 1}"
        org = builder.add(f"Förskolan {name}", "Skolenhet", parents[-1].id, school_types=("FS",))
        units.append(Unit(org, "FS", skola=parents[-1]))
    return units


def _history_units(ctx: Context, builder: _OrgBuilder, top: str, place: str) -> list[Unit]:
    closed = builder.add(
        f"{_compound(place, 'skolan')} (nedlagd)",
        "Skolenhet",
        top,
        school_types=("GR",),
        start=date(2004, 7, 1),
        end=date(ctx.year.first_year - 1, 6, 30),
    )
    departure = builder.add(
        "Avgångna elever",
        "Skolenhet",
        top,
        school_types=("GR",),
        code="AVGANG",
        start=date(2012, 7, 1),
    )
    return [Unit(closed, "CLOSED"), Unit(departure, "DEPARTURE")]
