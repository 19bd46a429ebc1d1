"""Schools and the register units that feed them (R4.2).

Default: one school per school unit (Skolenhet), named as the unit. ``[[schools]]`` in the settings
joins several units into one school. Units listed in ``[sync] departure_units`` (avgångsenheter)
feed no school: an enrolment there means the student has left (R3.1). A school unit closed before
today becomes a school only if it already was one.
"""

from __future__ import annotations

from collections import Counter

from schoolsync.domain.directory import SchoolRow, UnitRow
from schoolsync.domain.records import Unit
from schoolsync.engine.plan.context import PlanContext


def _resolver(units: dict[str, Unit]) -> dict[str, str]:
    """Map every way settings may name a unit (code or id, any case) to its register id."""
    names: dict[str, str] = {}
    for unit in units.values():
        names[unit.id.lower()] = unit.id
        if unit.school_unit_code:
            names[unit.school_unit_code.lower()] = unit.id
    return names


def plan_schools(ctx: PlanContext) -> None:
    """Create or rename schools, map units to schools, and resolve departure units.

    Fills ``ctx.unit_school`` and ``ctx.departure_units``.
    """
    units = ctx.snapshot.units
    names = _resolver(units)
    for configured in ctx.settings.sync.departure_units:
        unit_id = names.get(configured.strip().lower())
        if unit_id is None:
            ctx.report(
                "unknown-unit",
                f"The setting [sync] departure_units names the unit {configured!r}, but the "
                f"register has no unit with that code or id. Correct the setting.",
                configured,
            )
        else:
            ctx.departure_units.add(unit_id)

    wanted: dict[str, tuple[str, list[str]]] = {}  # school key -> (name, unit ids)
    claimed: set[str] = set()
    overrides: dict[str, str] = {}
    for school in ctx.settings.schools:
        if school.mentor_source is not None:
            overrides[f"config:{school.name}"] = school.mentor_source
        unit_ids: list[str] = []
        for configured in school.units:
            unit_id = names.get(configured.strip().lower())
            if unit_id is None:
                ctx.report(
                    "unknown-unit",
                    f"The settings give the unit {configured!r} to the school {school.name!r}, "
                    f"but the register has no unit with that code or id. Correct [[schools]] "
                    f"in the settings file.",
                    configured,
                )
                continue
            unit_ids.append(unit_id)
            claimed.add(unit_id)
        wanted[f"config:{school.name}"] = (school.name, unit_ids)

    for unit in sorted(units.values(), key=lambda u: u.key):
        if not unit.is_school_unit or unit.id in claimed or unit.id in ctx.departure_units:
            continue
        key = f"unit:{unit.id}"
        closed = unit.end_date is not None and unit.end_date < ctx.today
        if closed and key not in ctx.directory.schools:
            continue
        wanted[key] = (unit.name, [unit.id])

    _report_shared_codes(ctx)
    key_of = _name_schools(ctx, wanted)
    for key, source in overrides.items():
        ctx.mentor_source[key_of[key]] = source
    _plan_units(ctx)


NAME_LENGTH = 300  # schools.name


def _fit(base: str, suffix: str) -> str:
    """``base + suffix``, the base shortened so that the name fits the directory."""
    return base[: max(NAME_LENGTH - len(suffix), 1)] + suffix


def _report_shared_codes(ctx: PlanContext) -> None:
    """R4.2: two school units with one skolenhetskod cannot both be named by it."""
    by_code: dict[str, list[Unit]] = {}
    for unit in ctx.snapshot.units.values():
        if unit.is_school_unit and unit.school_unit_code:
            by_code.setdefault(unit.school_unit_code.lower(), []).append(unit)
    for code, units in sorted(by_code.items()):
        if len(units) < 2:
            continue
        which = ", ".join(f"{u.name} (id {u.id})" for u in sorted(units, key=lambda u: u.id))
        ctx.report(
            "duplicate-unit-code",
            f"The school units {which} have the same skolenhetskod {units[0].school_unit_code}. "
            f"Each becomes a school of its own, named with its id; settings and schedule files "
            f"that name the code reach only one of them. Correct the code in the register.",
            units[0].school_unit_code or code,
        )


def _existing(ctx: PlanContext, wanted: dict[str, tuple[str, list[str]]]) -> dict[str, SchoolRow]:
    """The existing school for each wanted key: by key, else the school that one of its units
    feeds now, so a unit moved into or out of ``[[schools]]`` keeps its school and history."""
    rows = ctx.directory.schools
    by_id = {row.id: row for row in rows.values()}
    found = {key: rows[key] for key in wanted if key in rows}
    taken = {row.id for row in found.values()}
    for key, (_, unit_ids) in sorted(wanted.items()):
        if key in found:
            continue
        for unit_id in unit_ids:
            unit = ctx.directory.units.get(unit_id)
            if unit is not None and unit.school_id not in taken:
                found[key] = by_id[unit.school_id]
                taken.add(unit.school_id)
                break
    return found


def _name_schools(ctx: PlanContext, wanted: dict[str, tuple[str, list[str]]]) -> dict[str, str]:
    """Insert new schools and rename changed ones; clashing names get the unit key appended.

    Returns:
        School key to school id.
    """
    ids: dict[str, str] = {}
    existing = _existing(ctx, wanted)
    kept = {row.id for row in existing.values()}
    others = {row.name for row in ctx.directory.schools.values() if row.id not in kept}
    counts = Counter(name for name, _ in wanted.values())
    taken = set(others) | {name for key, (name, _) in wanted.items() if key.startswith("config:")}
    for key, (name, unit_ids) in sorted(wanted.items()):
        if (counts[name] > 1 or name in others) and key.startswith("unit:"):
            unit = ctx.snapshot.units[unit_ids[0]]
            base = name
            name = _fit(base, f" ({unit.key})")
            if name in taken:  # two units with one name and one code: the id tells them apart
                name = _fit(base, f" ({unit.key}, {unit.id})")
            wanted[key] = (name, unit_ids)
        taken.add(name)
        row = existing.get(key)
        if row is None:
            school_id = ctx.new_id()
            ctx.changes.schools.create(SchoolRow(school_id, key, name))
            ctx.changes.record("school", school_id, "created", name=name)
        else:
            school_id = row.id
            changed = {k: v for k, v in (("key", key), ("name", name)) if getattr(row, k) != v}
            if changed:
                ctx.changes.schools.update(school_id, changed)
                details = {k: [getattr(row, k), v] for k, v in changed.items()}
                ctx.changes.record("school", school_id, "updated", **details)
        ids[key] = school_id
        for unit_id in unit_ids:
            ctx.unit_school[unit_id] = school_id
    return ids


def _plan_units(ctx: PlanContext) -> None:
    """Keep ``school_units`` in step with the mapping (which unit feeds which school)."""
    for unit_id, school_id in sorted(ctx.unit_school.items()):
        unit = ctx.snapshot.units[unit_id]
        row = UnitRow(unit_id, school_id, unit.school_unit_code, unit.name, list(unit.school_types))
        existing = ctx.directory.units.get(unit_id)
        if existing is None:
            ctx.changes.units.create(row)
            continue
        changed = {
            k: getattr(row, k)
            for k in ("school_id", "code", "name", "school_types")
            if getattr(existing, k) != getattr(row, k)
        }
        if changed:
            ctx.changes.units.update(unit_id, changed)
