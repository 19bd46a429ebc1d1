"""Who the register says belongs where: validated persons and the school links they should have.

Pure functions over the snapshot (R1.1, R1.7, R3.1, R4.1, R11 exclusion): which persons can be used,
and for each the links (school, role) with dates that the register implies. Matching against the
directory happens in :mod:`schoolsync.engine.plan.users`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from schoolsync.domain.personnummer import (
    CivicNo,
    CivicNoError,
    is_valid_civic_no,
    mask_civic_no,
    parse_civic_no,
)
from schoolsync.domain.protected import pseudonym
from schoolsync.domain.records import Duty, Person
from schoolsync.engine.plan.context import PlanContext

STAFF = frozenset({"teacher", "staff"})
# Duty roles that make a staff member a teacher in the directory (others are staff).
TEACHER_ROLES = frozenset(
    {"Lärare", "Förskollärare", "Förstelärare", "Speciallärare/specialpedagog", "Fritidspedagog"}
)


@dataclass(slots=True)
class Span:
    """The dates of a link: from the earliest start to the latest end (None = open)."""

    start: date | None
    end: date | None
    signature: str | None = None

    def widen(self, start: date | None, end: date | None) -> None:
        """Grow the span to cover another period."""
        if self.start is None or (start is not None and start < self.start):
            self.start = start
        if self.end is not None and (end is None or end > self.end):
            self.end = end


@dataclass
class People:
    """The usable persons of a read and their wanted links.

    Attributes:
        valid: Register id to (person, parsed civic number) for persons that can be synced.
        links: Register id to {(school id, role): span}.
        frozen_ids: Register ids whose users must not be touched this run (unreadable, invalid).
        frozen_civics: Civic numbers whose users must not be touched (duplicates in the read).
        read_civics: Every valid civic number of the read, used or not.
        protected_ids: Register ids of persons with protected identity (R11).
        protected_civic_of: Their real numbers by register id, used only to find an account
            made before they became protected; never stored or shown.
        protected_civics: Every real number of a protected person in the read, readable or not.
        unprotected_ids: Register ids of readable persons without protected identity.
        signatures: Register id to the person's teacher signature (the last unit wins, R4.3).
        keep_roles: Register id to roles whose links must stay as they are, because the export
            names a unit it does not include (an incomplete export is not a departure).
    """

    valid: dict[str, tuple[Person, CivicNo]] = field(default_factory=dict)
    links: dict[str, dict[tuple[str, str], Span]] = field(default_factory=dict)
    frozen_ids: set[str] = field(default_factory=set)
    frozen_civics: set[str] = field(default_factory=set)
    read_civics: set[str] = field(default_factory=set)
    protected_ids: set[str] = field(default_factory=set)
    protected_civic_of: dict[str, str] = field(default_factory=dict)
    protected_civics: set[str] = field(default_factory=set)
    unprotected_ids: set[str] = field(default_factory=set)
    signatures: dict[str, str] = field(default_factory=dict)
    keep_roles: dict[str, set[str]] = field(default_factory=dict)


def _who(person: Person) -> str:
    return f"{person.given_name} {person.family_name} ({person.ref})"


def _protected_from_unreadable(ctx: PlanContext, people: People) -> None:
    """Persons whose record could not be used but may be protected are protected (R11)."""
    people.protected_ids |= ctx.snapshot.protected_ids
    for written in ctx.snapshot.protected_civics:
        if is_valid_civic_no(written, today=ctx.today):
            people.protected_civics.add(parse_civic_no(written, today=ctx.today).value)


def validate_persons(ctx: PlanContext) -> People:
    """Apply R1.1 (valid numbers), R1.7 (no number twice) and R11 (protected left out).

    Returns:
        The usable persons; issues are added to the context.
    """
    people = People(frozen_ids=set(ctx.snapshot.unreadable_ids.get("persons", set())))
    _protected_from_unreadable(ctx, people)
    parsed: list[tuple[Person, CivicNo]] = []
    protected: list[tuple[Person, CivicNo]] = []  # pseudonymised, with their real numbers
    pseudonymise = ctx.settings.sync.protected_identity == "pseudonymise"
    for person in ctx.snapshot.persons:
        if person.is_protected:
            people.protected_ids.add(person.id)
            if is_valid_civic_no(person.civic_no or "", today=ctx.today):
                real = parse_civic_no(person.civic_no or "", today=ctx.today)
                people.protected_civic_of[person.id] = real.value
                people.protected_civics.add(real.value)
            if pseudonymise:
                protected.append(pseudonym(person))
            continue
        people.unprotected_ids.add(person.id)
        if not (person.civic_no or "").strip():
            people.frozen_ids.add(person.id)
            ctx.report(
                "missing-civic-no",
                f"{_who(person)} has no personnummer, so the person was skipped and nothing "
                f"about them was changed. Add the personnummer (or a TF number) in the register.",
                f"person {person.id}",
                persons=(person.id,),
            )
            continue
        try:
            civic = parse_civic_no(person.civic_no or "", today=ctx.today)
        except CivicNoError as exc:
            people.frozen_ids.add(person.id)
            ctx.report(
                "invalid-civic-no",
                f"{_who(person)} has the personnummer "
                f"{mask_civic_no(person.civic_no or '', today=ctx.today)}, which is not valid: "
                f"{exc}. The person was skipped and nothing about them was changed. Correct the "
                f"number in the register.",
                mask_civic_no(person.civic_no or "", today=ctx.today),
                persons=(person.id,),
            )
            continue
        parsed.append((person, civic))
    counts = Counter(c.value for _, c in parsed)
    shared = {c.value for _, c in parsed} & people.protected_civics
    for person, civic in parsed:
        people.read_civics.add(civic.value)
        if counts[civic.value] > 1 or civic.value in shared:
            people.frozen_ids.add(person.id)
            people.frozen_civics.add(civic.value)
            continue
        people.valid[person.id] = (person, civic)
    for person, key in protected:
        people.read_civics.add(key.value)
        if people.protected_civic_of.get(person.id) in shared:
            people.frozen_ids.add(person.id)  # neither is synced while the number is shared
            continue
        people.valid[person.id] = (person, key)
    clashing = {v for v, n in counts.items() if n > 1} | shared
    by_value: dict[str, list[Person]] = defaultdict(list)
    for person, civic in parsed:
        if civic.value in clashing:
            by_value[civic.value].append(person)
    for value in sorted(clashing):
        named = by_value[value]
        where = "; ".join(_who(p) for p in named)
        times = f"{len(named)} times"
        if value in shared:
            where += "; and a record with protected identity"
            times = "more than once"
        ctx.report(
            "duplicate-civic-no",
            f"The personnummer {mask_civic_no(value, today=ctx.today)} occurs {times} in one read "
            f"({where}). None of those rows was used and nothing about them was changed. Correct "
            f"the register so each person occurs once.",
            mask_civic_no(value, today=ctx.today),
            persons=tuple(p.id for p in named),
        )
    if people.protected_ids and not pseudonymise:
        ctx.report(
            "protected-identity-excluded",
            f"{len(people.protected_ids)} person(s) with protected identity (skyddad "
            f"folkbokföring or sekretessmarkering) were left out of the directory, as "
            f'protected_identity = "exclude" says. Nothing about them is stored or shown.',
            "protected identity",
        )
    elif people.protected_ids:
        ctx.report(
            "protected-identity-pseudonymised",
            f"{len(people.protected_ids)} person(s) with protected identity are in the "
            f"directory under a pseudonym and a TF-style key, without real names, personnummer, "
            f'contact data or guardians, as protected_identity = "pseudonymise" says.',
            "protected identity",
        )
    return people


@dataclass
class _UnitMiss:
    """References to a unit that feeds no school, gathered to report once per unit."""

    enrolments: int = 0
    duties: int = 0


def _add(
    links: dict[tuple[str, str], Span], key: tuple[str, str], start: date | None, end: date | None
) -> None:
    """Add a period to a person's link, or widen the link to cover it."""
    existing = links.get(key)
    if existing is None:
        links[key] = Span(start, end)
    else:
        existing.widen(start, end)


def wanted_links(ctx: PlanContext, people: People) -> None:
    """Fill ``people.links``: what school links the register implies for each usable person.

    Students: enrolments (not cancelled, not at a departure unit) and förskola/fritids placements.
    Staff: duties, as ``teacher`` when the duty role is a teaching one, else ``staff``.
    Guardians: every responsible person of a student, at the student's schools, for as long as
    the student is there. A person whose ``personStatus`` is not ``Aktiv`` gets no links (R3.1).
    """
    misses: dict[str, _UnitMiss] = defaultdict(_UnitMiss)
    links: dict[str, dict[tuple[str, str], Span]] = defaultdict(dict)
    active = {pid for pid, (p, _) in people.valid.items() if p.person_status == "Aktiv"}

    order = sorted(active)
    for pid in order:
        person, _ = people.valid[pid]
        for enrolment in person.enrolments:
            if enrolment.cancelled or enrolment.unit_id in ctx.departure_units:
                continue
            school = ctx.unit_school.get(enrolment.unit_id)
            if school is None:
                if enrolment.end_date is None or enrolment.end_date >= ctx.today:
                    misses[enrolment.unit_id].enrolments += 1
                    if enrolment.unit_id not in ctx.snapshot.units:
                        people.keep_roles.setdefault(pid, set()).add("student")
                continue
            _add(links[pid], (school, "student"), enrolment.start_date, enrolment.end_date)
    for placement in ctx.snapshot.placements:
        school = ctx.unit_school.get(placement.unit_id)
        if placement.child_id in active and school is not None:
            _add(
                links[placement.child_id],
                (school, "student"),
                placement.start_date,
                placement.end_date,
            )

    staff: dict[tuple[str, str], tuple[Span, bool]] = {}
    seen_signatures: dict[str, dict[str, str]] = defaultdict(dict)  # person -> unit key -> sig
    for duty in sorted(ctx.snapshot.duties, key=lambda d: duty_order(ctx, d)):
        if duty.person_id is None or duty.person_id not in active:
            continue
        school = ctx.unit_school.get(duty.unit_id)
        if school is None:
            if duty.end_date is None or duty.end_date >= ctx.today:
                misses[duty.unit_id].duties += 1
                if duty.unit_id not in ctx.snapshot.units:
                    people.keep_roles.setdefault(duty.person_id, set()).update(STAFF)
            continue
        teaches = duty.role in TEACHER_ROLES
        if duty.signature:
            people.signatures[duty.person_id] = duty.signature
            seen_signatures[duty.person_id][duty_order(ctx, duty)[0]] = duty.signature
        entry = staff.get((duty.person_id, school))
        if entry is None:
            staff[(duty.person_id, school)] = (
                Span(duty.start_date, duty.end_date, duty.signature),
                teaches,
            )
        else:
            entry[0].widen(duty.start_date, duty.end_date)
            entry[0].signature = duty.signature or entry[0].signature  # the last unit wins
            staff[(duty.person_id, school)] = (entry[0], entry[1] or teaches)
    for (pid, school), (span, teaches) in staff.items():
        links[pid][(school, "teacher" if teaches else "staff")] = span

    _report_signature_conflicts(ctx, people, seen_signatures)
    _guardian_links(ctx, people, links, active, order)
    people.links = {pid: mine for pid, mine in links.items() if mine}
    _report_misses(ctx, misses)


def duty_order(ctx: PlanContext, duty: Duty) -> tuple[str, date, str]:
    """The fixed order duties are read in: by unit key (skolenhetskod, else id), start, id.

    Where one person's duties disagree (e.g. signatures, R4.3), the last in this order wins.
    """
    unit = ctx.snapshot.units.get(duty.unit_id)
    return (unit.key if unit else duty.unit_id, duty.start_date or date.min, duty.id)


def _guardian_links(
    ctx: PlanContext,
    people: People,
    links: dict[str, dict[tuple[str, str], Span]],
    active: set[str],
    order: list[str],
) -> None:
    """Guardians' links: at their students' schools, while the student is there (``order``:
    the active persons, sorted)."""
    missing: set[str] = set()
    for sid in order:
        if sid in people.protected_ids:
            continue
        student, _ = people.valid[sid]
        schools = [(s, span) for (s, role), span in links[sid].items() if role == "student"]
        if not schools:
            continue
        for responsible in student.responsibles:
            gid = responsible.person_id
            if gid not in people.valid:
                known = gid in people.frozen_ids or gid in people.protected_ids
                if not known and gid not in missing:
                    missing.add(gid)
                    ctx.report(
                        "unknown-reference",
                        f"{_who(student)} names a responsible person with id {gid} who is not "
                        f"in the persons of the export, so no guardian account was linked. "
                        f"Check that the export includes responsible persons "
                        f"(relationship.entity.type=responsibleFor.enrolment).",
                        f"person {gid}",
                        persons=(sid,),
                    )
                continue
            if gid not in active or gid in people.protected_ids:
                continue
            for school, span in schools:
                _add(links[gid], (school, "guardian"), span.start, span.end)


def _report_misses(ctx: PlanContext, misses: dict[str, _UnitMiss]) -> None:
    for unit_id, miss in sorted(misses.items()):
        unit = ctx.snapshot.units.get(unit_id)
        what = []
        if miss.enrolments:
            what.append(f"{miss.enrolments} current enrolment(s)")
        if miss.duties:
            what.append(f"{miss.duties} current duty/duties")
        refs = " and ".join(what)
        if unit is None:
            ctx.report(
                "unknown-unit",
                f"{refs} point at the organisation id {unit_id}, which is not in "
                f"organisations.json, so nobody was linked through them. Include every unit in "
                f"the export.",
                unit_id,
            )
        else:
            ctx.report(
                "unknown-unit",
                f"{refs} point at {unit.name} ({unit.key}), a {unit.org_type} that feeds no "
                f"school in the directory, so nobody was linked through them. Add the unit to a "
                f"school in [[schools]] of the settings, or correct the register.",
                unit.key,
            )


def _report_signature_conflicts(
    ctx: PlanContext, people: People, seen: dict[str, dict[str, str]]
) -> None:
    """R4.3: one teacher, different signatures on different units; the last unit wins."""
    for pid, by_unit in sorted(seen.items()):
        if len(set(by_unit.values())) < 2:
            continue
        person, _ = people.valid[pid]
        values = ", ".join(f"{sig} on {unit}" for unit, sig in sorted(by_unit.items()))
        ctx.report(
            "signature-conflict",
            f"{person.given_name} {person.family_name} has different signatures on different "
            f"units ({values}). The directory uses {people.signatures[pid]} (the unit that comes "
            f"last in unit order wins), so lessons and groups under the other signature will not "
            f"reach this teacher. Use one signature on every unit in the register.",
            people.signatures[pid],
            persons=(pid,),
        )
