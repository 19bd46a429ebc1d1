"""Deliberate faults that make the sync's error reports show something.

Each fault is described in plain words that name persons by their id, never by civic number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from .context import Context
from .families import Family
from .model import Enrolment, Group, Membership, Person
from .numbers import break_check_digit
from .schools import ClassInfo, Unit
from .staff import Staffing


@dataclass
class FaultMaker:
    """Writes the faults into the generated records.

    Attributes:
        ctx: The run's context.
        units: The municipality's units, classes filled.
        families: Households, to find one whose guardians can be protected too.
        staffing: Staff and signatures, for the signature conflict.
        rng: A random source of its own, so that the rest of the bundle is the same either way.
    """

    ctx: Context
    units: list[Unit]
    families: list[Family]
    staffing: Staffing
    rng: random.Random

    def __post_init__(self) -> None:
        self.faults: list[str] = []
        self._taken: set[str] = set()
        self._classes = [c for u in self.units if u.kind == "GR" for c in u.classes if c.grade]
        self._unit_names = {u.org.id: u.org.display_name for u in self.units}

    def apply(self, with_history: bool) -> list[str]:
        """Write every fault and return their descriptions."""
        self._broken_check_digit()
        self._duplicate_number()
        self._protected()
        self._tf_number()
        self._comma_class()
        self._reused_group_name()
        self._signature_conflict()
        if with_history:
            self._departed(3)
            self._cancelled()
            self._emigrated()
        return self.faults

    def _pupil(self, test_number: bool = True) -> tuple[Person, ClassInfo]:
        """Pick a pupil not used by another fault, with a test number if asked."""
        while True:
            info = self.rng.choice(self._classes)
            if not info.students:
                continue
            pupil = self.rng.choice(info.students)
            if pupil.id in self._taken or (test_number and "TF" in pupil.civic_no):
                continue
            self._taken.add(pupil.id)
            return pupil, info

    def _broken_check_digit(self) -> None:
        pupil, info = self._pupil()
        pupil.civic_no = break_check_digit(pupil.civic_no)
        self.faults.append(
            f"invalid-civic-no: pupil {pupil.id} in class {info.group.display_name} has a civic "
            "number whose check digit is wrong"
        )

    def _duplicate_number(self) -> None:
        original, info = self._pupil()
        given = self.rng.choice([p.given for p in info.students if p.sex == original.sex])
        copy = Person(
            self.ctx.ids.next("person"),
            given,
            original.family,
            original.sex,
            original.civic_no,
            original.birth_date,
            original.created,
        )
        copy.account = self.ctx.accounts.claim(f"{original.account}x")
        copy.eppn = copy.email = f"{copy.account}@{str(original.eppn).split('@')[1]}"
        copy.email_type, copy.address = original.email_type, original.address
        copy.enrolments = [
            Enrolment(e.unit, e.school_type, e.school_year, e.start)
            for e in original.enrolments[:1]
        ]
        copy.responsibles = list(original.responsibles)
        self.ctx.persons.append(copy)
        info.students.append(copy)
        info.group.members.append(Membership(copy.id, info.group.start))
        self._taken.add(copy.id)
        self.faults.append(
            f"duplicate-civic-no: pupils {original.id} and {copy.id} in class "
            f"{info.group.display_name} share one civic number"
        )

    def _protected(self) -> None:
        staff = {p.id for p in self.staffing.staff}
        homes = [
            f
            for f in self.families
            if len(f.children) == 1
            and f.guardians
            and not f.god_man
            and f.children[0].id not in self._taken
            and not staff & {g.id for g in f.guardians}
        ]
        family = self.rng.choice(homes)
        for person in [family.children[0], *family.guardians]:
            person.security_marking = "Skyddad folkbokföring"
            person.address = None
        self._taken.add(family.children[0].id)
        pupil, _ = self._pupil(test_number=False)
        pupil.security_marking = "Sekretessmarkering"
        self.faults.append(
            f"protected-identity: pupil {family.children[0].id} and their guardians have "
            f"skyddad folkbokföring; pupil {pupil.id} has sekretessmarkering"
        )

    def _tf_number(self) -> None:
        pupil, info = self._pupil()
        number = self.ctx.numbers.take_tf(pupil.birth_date.year, pupil.sex)
        pupil.civic_no, pupil.birth_date = number.value, number.birth_date
        self.faults.append(
            f"tf-number: pupil {pupil.id} in class {info.group.display_name} has a temporary "
            "TF number"
        )

    def _comma_class(self) -> None:
        """Move a few pupils of two classes into a class whose name has a comma."""
        by_unit: dict[str, list[ClassInfo]] = {}
        for info in self._classes:
            by_unit.setdefault(info.group.organisation, []).append(info)
        unit_id = self.rng.choice(sorted(u for u, c in by_unit.items() if len(c) >= 2))
        classes = sorted(by_unit[unit_id], key=lambda c: (abs(c.grade - 8), c.group.display_name))
        first, second = sorted(classes[:2], key=lambda c: c.group.display_name)
        name = f"{first.group.display_name}, {second.group.display_name}"
        source = first.group
        made = Group(
            self.ctx.ids.next("group"),
            name,
            "Klass",
            source.school_type,
            unit_id,
            source.start,
            source.end,
        )
        for info in (first, second):
            moved = [m for m in info.group.members if m.person not in self._taken][:2]
            for member in moved:
                info.group.members.remove(member)
                made.members.append(Membership(member.person, member.start))
                self._taken.add(member.person)
        self.ctx.groups.append(made)
        self.faults.append(
            f"class-name-comma: class '{name}' at {self._unit_names[unit_id]} has "
            f"{len(made.members)} pupils"
        )

    def _reused_group_name(self) -> None:
        """Last läsår's teaching group under this läsår's name, with last year's pupils.

        The pupils who were in year N last läsår are in year N+1 now, so the two groups share a
        name but hardly any pupils: the register reused the name for a new term.
        """
        groups = {g.display_name: g for g in self.ctx.groups if g.group_type == "Undervisning"}
        by_unit_grade = {(c.group.organisation, c.grade): c for c in self._classes}
        for info in sorted(self._classes, key=lambda c: (c.grade, c.group.display_name)):
            older = by_unit_grade.get((info.group.organisation, info.grade + 1))
            current = next(
                (g for name, g in sorted(groups.items()) if name.endswith(info.group.display_name)),
                None,
            )
            if older is None or current is None or not older.students:
                continue
            last = self.ctx.year.previous()
            old = Group(
                self.ctx.ids.next("group"),
                current.display_name,
                "Undervisning",
                current.school_type,
                current.organisation,
                last.start,
                last.end,
            )
            old.members = [Membership(p.id, last.start, last.end) for p in older.students[:20]]
            self.ctx.groups.append(old)
            self.faults.append(
                f"group-name-reused: teaching group '{current.display_name}' was also last "
                f"läsår's group of {len(old.members)} pupils now in {older.group.display_name}"
            )
            return

    def _departed(self, count: int) -> None:
        departure = next(u for u in self.units if u.kind == "DEPARTURE")
        year = self.ctx.year
        running = max((min(self.ctx.today, year.end) - year.start).days, 1)
        moved = year.start + timedelta(days=self.rng.randint(1, running))
        ids: list[str] = []
        while len(ids) < count:
            pupil, _info = self._pupil(test_number=False)
            if pupil.enrolments[0].start >= moved:
                continue
            for enrolment in pupil.enrolments:
                enrolment.end = moved - timedelta(days=1)
            school_year = pupil.enrolments[0].school_year
            pupil.enrolments.append(Enrolment(departure.org.id, "GR", school_year, moved))
            ids.append(pupil.id)
        self.faults.append(
            f"departed: pupils {', '.join(ids)} have their only current enrolment at "
            f"{departure.org.display_name} but are still in their classes"
        )

    def _cancelled(self) -> None:
        pupil, info = self._pupil(test_number=False)
        pupil.enrolments[0].cancelled = True
        self.faults.append(
            f"cancelled-enrolment: pupil {pupil.id} in class {info.group.display_name} has a "
            "cancelled enrolment"
        )

    def _emigrated(self) -> None:
        pupil, info = self._pupil(test_number=False)
        pupil.status = "Utvandrad"
        self.faults.append(
            f"emigrated: pupil {pupil.id} in class {info.group.display_name} has personStatus "
            "Utvandrad"
        )

    def _signature_conflict(self) -> None:
        by_person: dict[str, list[int]] = {}
        for index, duty in enumerate(self.ctx.duties):
            if duty.role in ("Lärare", "Fritidspedagog"):
                by_person.setdefault(duty.person, []).append(index)
        shared = [indexes for indexes in by_person.values() if len(indexes) > 1]
        if not shared:
            return
        first, second = (self.ctx.duties[i] for i in self.rng.choice(shared)[:2])
        used = self.staffing.signatures[second.unit]
        stem = first.signature[:-1]
        new = next(stem + letter for letter in "XZQWVYK" if stem + letter not in used)
        used.add(new)
        second.signature = new
        self.faults.append(
            f"signature-conflict: teacher {first.person} signs {first.signature} at "
            f"{self._unit_names[first.unit]} but {new} at {self._unit_names[second.unit]}"
        )
