"""Households: siblings share guardians and an address; guardians are made after the children."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .context import PRIVATE_DOMAIN, Context
from .model import Person
from .names import Address, mail_base
from .names_data import SWEDISH, Origin
from .numbers import KVINNA, MAN

SIBLING_SHARE = 0.16
"""Chance that a new pupil is a sibling of a pupil already generated."""

SINGLE_GUARDIAN_SHARE = 0.16
"""Share of households with one vårdnadshavare."""

STAFF_GUARDIAN_SHARE = 0.02
"""Share of second guardians who also work in the municipality's schools."""

GOD_MAN_SHARE = 0.004
"""Share of pupils whose only responsible is a god man (e.g. ensamkommande)."""

VARDNADSHAVARE = "Vårdnadshavare"
GOD_MAN = "God man"


@dataclass(slots=True)
class Family:
    """A household of children and their guardians.

    Attributes:
        origin: Where the family's names come from.
        name: The family name most children carry.
        other_name: The second guardian's family name.
        address: Shared Folkbokföring address.
        single: Whether there is one guardian only.
        children: Pupils of the household.
        guardians: Responsible adults, made by :meth:`FamilyPool.make_guardians`.
        god_man: Whether the responsible is a god man rather than parents.
    """

    origin: Origin
    name: str
    other_name: str
    address: Address
    single: bool
    children: list[Person] = field(default_factory=list)
    guardians: list[Person] = field(default_factory=list)
    god_man: bool = False


def fictional_mobile(ctx: Context) -> str:
    """Return a mobile number from PTS's range for fiction, 070-174 06 05 … 070-174 06 99."""
    return f"070-174 06 {ctx.rng.randint(5, 99):02d}"


def is_minor(person: Person, on: date) -> bool:
    """Return whether ``person`` is under 18 on ``on``."""
    born = person.birth_date
    try:
        adult = born.replace(year=born.year + 18)
    except ValueError:  # 29 February
        adult = date(born.year + 18, 3, 1)
    return on < adult


class FamilyPool:
    """Places new pupils in households and later creates their guardians."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.families: list[Family] = []
        self._open: list[Family] = []

    def family_for_new_child(self) -> Family:
        """Return the household of a new pupil: most often a new one, sometimes a sibling's."""
        rng = self.ctx.rng
        if self._open and rng.random() < SIBLING_SHARE:
            index = rng.randrange(len(self._open))
            family = self._open[index]
            if len(family.children) >= 2:
                self._open[index] = self._open[-1]
                self._open.pop()
            return family
        origin = self.ctx.names.origin()
        name = self.ctx.names.family(origin)
        single = rng.random() < SINGLE_GUARDIAN_SHARE
        other = name if single or rng.random() < 0.6 else self.ctx.names.family(origin)
        family = Family(origin, name, other, self.ctx.names.address(), single)
        self.families.append(family)
        self._open.append(family)
        return family

    def child_names(self, family: Family, sex: str) -> tuple[str, str, str | None]:
        """Return given, family and middle name for a new child of ``family``."""
        rng = self.ctx.rng
        given = self.ctx.names.given(family.origin, sex, child=True)
        surname = family.other_name if rng.random() < 0.15 else family.name
        middle = None
        if rng.random() < 0.07:
            middle = family.other_name if family.other_name != surname else family.name
            middle = middle if middle != surname else self.ctx.names.family(family.origin)
        return given, surname, middle

    def make_guardians(self, staff: list[Person]) -> None:
        """Create guardians for every household with a child under 18 and link them.

        Args:
            staff: Staff members who may also be a second guardian.
        """
        staff_index: dict[tuple[str, int], list[Person]] = {}
        for person in staff:
            staff_index.setdefault((person.sex, person.birth_date.year), []).append(person)
        self._choose_god_man_families()
        god_men: list[Person] = []
        for family in self.families:
            minors = [c for c in family.children if is_minor(c, self.ctx.year.start)]
            if not minors:
                continue
            if family.god_man:
                family.guardians = [self._god_man(god_men)]
                relation = GOD_MAN
            else:
                family.guardians = self._parents(family, staff_index)
                relation = VARDNADSHAVARE
            for child in minors:
                child.responsibles = [(g.id, relation) for g in family.guardians]

    def _choose_god_man_families(self) -> None:
        alone = [f for f in self.families if len(f.children) == 1]
        wanted = max(1, round(GOD_MAN_SHARE * sum(len(f.children) for f in self.families)))
        for family in self.ctx.rng.sample(alone, min(wanted, len(alone))):
            family.god_man = True

    def _god_man(self, god_men: list[Person]) -> Person:
        if god_men and len(god_men) % 3 != 0 and self.ctx.rng.random() < 0.5:
            return god_men[-1]
        year = self.ctx.rng.randint(1955, 1985)
        person = self._adult(SWEDISH, year, None, self.ctx.names.family(SWEDISH), None)
        god_men.append(person)
        return person

    def _parents(
        self, family: Family, staff_index: dict[tuple[str, int], list[Person]]
    ) -> list[Person]:
        rng = self.ctx.rng
        oldest = min(c.birth_date.year for c in family.children)
        first_year = min(max(oldest - rng.randint(22, 42), 1965), 1998)
        first_sex = KVINNA if rng.random() < 0.6 else MAN
        first = self._adult(family.origin, first_year, first_sex, family.name, family.address)
        if family.single:
            return [first]
        second_sex = first_sex if rng.random() < 0.02 else (MAN if first_sex == KVINNA else KVINNA)
        second_year = min(max(first_year + rng.randint(-3, 6), 1965), 1998)
        candidates = staff_index.get((second_sex, second_year))
        if candidates and rng.random() < STAFF_GUARDIAN_SHARE:
            return [first, candidates.pop()]
        second = self._adult(
            family.origin, second_year, second_sex, family.other_name, family.address
        )
        return [first, second]

    def _adult(
        self, origin: Origin, year: int, sex: str | None, surname: str, address: Address | None
    ) -> Person:
        ctx = self.ctx
        number = ctx.numbers.take(year, sex)
        given = ctx.names.given(origin, number.sex, child=False)
        person = Person(
            ctx.ids.next("person"),
            given,
            surname,
            number.sex,
            number.value,
            number.birth_date,
            ctx.base_day,
        )
        if ctx.rng.random() < 0.9:
            mail = ctx.mails.claim_address(mail_base(given, surname), PRIVATE_DOMAIN)
            person.email, person.email_type = mail, "Privat"
        if ctx.rng.random() < 0.95:
            person.phone, person.phone_type = fictional_mobile(ctx), "Hem"
        person.address = address or ctx.names.address()
        ctx.persons.append(person)
        return person
