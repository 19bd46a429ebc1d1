"""Shared state of one generation run."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from .calendar import SchoolYear
from .ids import IdFactory
from .model import Activity, Duty, Group, Organisation, Person, Syllabus
from .names import NameMaker, NameRegistry
from .numbers import CivicNumberPool

MUNICIPALITY = "Exempelstad"
DOMAIN = "exempelstad.invalid"
STUDENT_DOMAIN = f"elev.{DOMAIN}"
PRIVATE_DOMAIN = "example.invalid"
AD_CONTEXT = f"https://{DOMAIN}/ad/sAMAccountName"
MUNICIPALITY_CODE = "9999"


@dataclass
class Context:
    """Everything one run builds, plus its sources of randomness and names.

    Attributes:
        rng: The only source of randomness.
        ids: Id factory.
        year: The current läsår.
        today: The date the bundle describes.
        numbers: Civic number pool.
        names: Name maker.
        accounts: Registry of account names (sAMAccountName), shared by staff and students.
        mails: Registry of e-mail local parts per domain.
        organisations, persons, duties, groups, activities: Records in creation order.
        syllabuses: Syllabus records by subject key (``MA``, ``GRS:MA``, ``MATMAT01c``).
    """

    rng: random.Random
    ids: IdFactory
    year: SchoolYear
    today: date
    numbers: CivicNumberPool
    names: NameMaker
    accounts: NameRegistry = field(default_factory=NameRegistry)
    mails: NameRegistry = field(default_factory=NameRegistry)
    organisations: list[Organisation] = field(default_factory=list)
    persons: list[Person] = field(default_factory=list)
    duties: list[Duty] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    syllabuses: dict[str, Syllabus] = field(default_factory=dict)

    @property
    def base_day(self) -> date:
        """The day most records were created: two months before the läsår starts."""
        return date.fromordinal(self.year.start.toordinal() - 59)
