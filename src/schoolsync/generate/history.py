"""Past events in the register: pupils who left last läsår through the avgångsenhet."""

from __future__ import annotations

from datetime import date, timedelta

from .calendar import autumn_start
from .context import STUDENT_DOMAIN, Context
from .model import Enrolment, Person
from .names import student_account_base
from .schools import Unit

LEAVERS = 6
"""How many former år 9 pupils the avgångsenhet holds."""


def add_leavers(ctx: Context, units: list[Unit]) -> list[Person]:
    """Add pupils who finished år 9 last läsår and were moved to the avgångsenhet.

    Their enrolments at the school and at the avgångsenhet have both ended, so they are no
    longer current pupils anywhere.

    Returns:
        The former pupils.
    """
    departure = next((u for u in units if u.kind == "DEPARTURE"), None)
    schools = [u for u in units if u.kind == "GR" and 9 in u.parallels]
    if departure is None or not schools:
        return []
    last = ctx.year.previous()
    leavers: list[Person] = []
    for index in range(LEAVERS):
        school = schools[index % len(schools)]
        number = ctx.numbers.take(ctx.year.first_year - 16)
        origin = ctx.names.origin()
        given = ctx.names.given(origin, number.sex, child=True)
        family = ctx.names.family(origin)
        started = autumn_start(ctx.year.first_year - 3)
        pupil = Person(
            ctx.ids.next("person"),
            given,
            family,
            number.sex,
            number.value,
            number.birth_date,
            started - timedelta(days=59),
        )
        pupil.account = ctx.accounts.claim(student_account_base(given, family))
        pupil.eppn = pupil.email = f"{pupil.account}@{STUDENT_DOMAIN}"
        pupil.email_type = "Skola elev"
        pupil.address = ctx.names.address()
        moved = last.end + timedelta(days=1)
        pupil.enrolments = [
            Enrolment(school.org.id, "GR", 9, started, last.end),
            Enrolment(departure.org.id, "GR", 9, moved, date(ctx.year.first_year, 6, 30)),
        ]
        ctx.persons.append(pupil)
        leavers.append(pupil)
    return leavers
