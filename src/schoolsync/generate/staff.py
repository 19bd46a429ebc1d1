"""Staff members, their duties and signatures, and the matching of teachers to teaching."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .catalogue import TEACHER_PROFILES
from .context import DOMAIN, Context
from .families import fictional_mobile
from .model import AssignmentRole, Duty, Organisation, Person
from .names import mail_base, signature_candidates, staff_account_base

LARARE = "Lärare"
TWO_UNIT_SHARE = 0.03
"""Share of new teachers who are a teacher of another unit taking a second duty."""

TEACHING_SHARE = 0.75
"""Share of a post spent on teaching groups; the rest goes to planning, mentoring, meetings."""


@dataclass(slots=True)
class Teacher:
    """A teaching duty at one unit, with the competences and load used to assign work.

    Attributes:
        person: The staff member.
        duty: The duty at this unit.
        areas: Competence areas (``MA``, ``SV``, ``KL`` for klasslärare …).
        capacity: Share of a full-time post available at this unit.
        load: Share already assigned.
        mentor_of: Number of classes or groups the teacher is mentor of.
    """

    person: Person
    duty: Duty
    areas: tuple[str, ...]
    capacity: float
    load: float = 0.0
    mentor_of: int = 0


@dataclass
class Staffing:
    """Creates staff and duties for the whole municipality.

    Attributes:
        ctx: The run's context.
        staff: Every staff member, in creation order.
        teachers: Teachers by unit id.
        signatures: Signatures in use, by unit id.
    """

    ctx: Context
    staff: list[Person] = field(default_factory=list)
    teachers: dict[str, list[Teacher]] = field(default_factory=dict)
    signatures: dict[str, set[str]] = field(default_factory=dict)
    _borrowable: list[Teacher] = field(default_factory=list)

    def new_person(self) -> Person:
        """Create a staff member born 1960–2001 with an account, work e-mail and phone."""
        ctx = self.ctx
        number = ctx.numbers.take(ctx.rng.randint(1960, 2001))
        origin = ctx.names.origin()
        given = ctx.names.given(origin, number.sex, child=False)
        family = ctx.names.family(origin)
        person = Person(
            ctx.ids.next("person"),
            given,
            family,
            number.sex,
            number.value,
            number.birth_date,
            ctx.base_day,
        )
        person.account = ctx.accounts.claim(staff_account_base(given, family))
        person.eppn = f"{person.account}@{DOMAIN}"
        person.email = ctx.mails.claim_address(mail_base(given, family), DOMAIN)
        person.email_type = "Skola personal"
        if ctx.rng.random() < 0.85:
            person.phone, person.phone_type = fictional_mobile(ctx), "Arbete"
        person.address = ctx.names.address()
        ctx.persons.append(person)
        self.staff.append(person)
        return person

    def _start_date(self) -> date:
        rng, year = self.ctx.rng, self.ctx.year.first_year
        if rng.random() < 0.1:
            return date(year - rng.randint(1, 10), 8, 1) + timedelta(days=rng.randint(20, 250))
        return date(year - min(rng.randint(0, 20), rng.randint(0, 20)), 8, 1)

    def add_duty(
        self,
        person: Person,
        unit: Organisation,
        role: str,
        percent: int | None = None,
        signature: str | None = None,
    ) -> Duty:
        """Give ``person`` a duty at ``unit`` with a signature that is unique there.

        Args:
            person: The staff member.
            unit: The school unit.
            role: An SS 12000 DutyRole.
            percent: Tjänstgöringsgrad; drawn when omitted.
            signature: The signature to use; one is made from the name when omitted.

        Returns:
            The new duty.
        """
        used = self.signatures.setdefault(unit.id, set())
        if signature is None:
            candidates = signature_candidates(person.given, person.family)
            signature = next(s for s in candidates if s not in used)
        used.add(signature)
        if percent is None:
            percent = self.ctx.rng.choices((100, 80, 75, 50), weights=(80, 10, 5, 5))[0]
        start = self._start_date()
        duty = Duty(self.ctx.ids.next("duty"), person.id, unit.id, role, signature, percent, start)
        person.created = min(person.created, start - timedelta(days=59))
        self.ctx.duties.append(duty)
        return duty

    def new_teacher(self, unit: Organisation, area: str, role: str = LARARE) -> Teacher:
        """Add a teacher for ``area`` at ``unit``: a new person, or one from another unit."""
        teacher = self._borrow(unit, area, role) if role == LARARE else None
        if teacher is None:
            person = self.new_person()
            areas: tuple[str, ...] = (area,)
            seconds = TEACHER_PROFILES.get(area, ())
            if seconds and self.ctx.rng.random() < 0.7:
                areas = (area, self.ctx.rng.choice(seconds))
            duty = self.add_duty(person, unit, role)
            teacher = Teacher(person, duty, areas, duty.percent / 100)
            if role == LARARE:
                self._borrowable.append(teacher)
        self.teachers.setdefault(unit.id, []).append(teacher)
        return teacher

    def _borrow(self, unit: Organisation, area: str, role: str) -> Teacher | None:
        rng = self.ctx.rng
        if not self._borrowable or rng.random() >= TWO_UNIT_SHARE:
            return None
        used = self.signatures.setdefault(unit.id, set())
        for _ in range(20):
            index = rng.randrange(len(self._borrowable))
            other = self._borrowable[index]
            if other.duty.unit == unit.id or area not in other.areas:
                continue
            if other.duty.signature in used:
                continue
            self._borrowable[index] = self._borrowable[-1]
            self._borrowable.pop()
            other.duty.percent = 60
            duty = self.add_duty(other.person, unit, role, 40, other.duty.signature)
            return Teacher(other.person, duty, other.areas, 0.4)
        return None

    def assign(self, unit: Organisation, area: str, load: float, role: str = LARARE) -> Teacher:
        """Return a teacher of ``area`` at ``unit`` with room for ``load``, adding one if needed.

        The fullest teacher that still has room is chosen, so that posts fill up before a new
        teacher is added.
        """
        best: Teacher | None = None
        for teacher in self.teachers.get(unit.id, ()):
            room = teacher.capacity * TEACHING_SHARE + 0.02
            fits = area in teacher.areas and teacher.load + load <= room
            if fits and (best is None or teacher.load > best.load):
                best = teacher
        if best is None:
            best = self.new_teacher(unit, area, role)
        best.load += load
        return best

    def make_mentor(self, teacher: Teacher, group_id: str, start: date) -> None:
        """Record ``teacher`` as mentor of the group ``group_id``."""
        teacher.duty.assignments.append(AssignmentRole(group_id, "Mentor", start))
        teacher.mentor_of += 1

    def release_borrowable(self, unit_id: str) -> None:
        """Stop offering the teachers of ``unit_id`` to other units (e.g. fritidshem staff)."""
        self._borrowable = [t for t in self._borrowable if t.duty.unit != unit_id]
