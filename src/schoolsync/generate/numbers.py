"""Civic numbers (personnummer) for synthetic persons.

Only two kinds are ever handed out: numbers from Skatteverket's published test lists, and
temporary ``TF`` numbers (``YYYYMMDD`` + ``TF`` + two digits) once a birth year's test numbers
are used up. Nothing else that could be a real person's number is made up.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

PINS_PATH = Path(__file__).resolve().parents[1] / "data" / "testpersonnummer" / "allPins.json"
"""Skatteverket's test personnummer, 12-digit strings."""

TF_PATTERN = re.compile(r"^(\d{4})(\d{2})(\d{2})TF(\d{2})$")

MAN = "Man"
KVINNA = "Kvinna"


@dataclass(frozen=True)
class CivicNumber:
    """A civic number handed to one person.

    Attributes:
        value: The 12-character number (digits, or a date + ``TF`` + two digits).
        birth_date: The date in the number.
        sex: ``Man`` or ``Kvinna``.
        is_tf: Whether this is a temporary TF number.
    """

    value: str
    birth_date: date
    sex: str
    is_tf: bool


def load_test_pins(path: Path = PINS_PATH) -> list[str]:
    """Load the test personnummer, without duplicates, in sorted order."""
    with path.open(encoding="utf-8") as handle:
        pins: list[str] = json.load(handle)
    return sorted(set(pins))


def luhn_valid(number: str) -> bool:
    """Return whether the last ten digits of a 12-digit ``number`` pass the Luhn check."""
    digits = number[-10:]
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(digits):
        product = int(char) * (2 if position % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return total % 10 == 0


def sex_of(number: str) -> str:
    """Return the sex encoded in a 12-digit number: odd ninth digit (of ten) means ``Man``."""
    return MAN if int(number[10]) % 2 else KVINNA


def birth_date_of(number: str) -> date:
    """Return the date in the first eight characters of ``number``."""
    return date(int(number[:4]), int(number[4:6]), int(number[6:8]))


def is_tf_number(value: str) -> bool:
    """Return whether ``value`` is a TF number with a real calendar date."""
    match = TF_PATTERN.match(value)
    if match is None:
        return False
    try:
        birth_date_of(value)
    except ValueError:
        return False
    return True


def break_check_digit(number: str) -> str:
    """Return ``number`` with its check digit changed, so that the Luhn check fails."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


class CivicNumberPool:
    """Hands out each test number at most once, by birth year and sex, then TF numbers.

    Args:
        pins: The test numbers to draw from.
        rng: The generator's random source; the pool shuffles each year's numbers with it.
    """

    def __init__(self, pins: list[str], rng: random.Random) -> None:
        self._rng = rng
        self._free: dict[tuple[int, str], list[str]] = {}
        for pin in pins:
            self._free.setdefault((int(pin[:4]), sex_of(pin)), []).append(pin)
        for key in sorted(self._free):
            rng.shuffle(self._free[key])
        self._tf_used: dict[date, int] = {}
        self.issued: set[str] = set()

    def take(self, year: int, sex: str | None = None) -> CivicNumber:
        """Return a fresh number for someone born in ``year``.

        Args:
            year: Birth year.
            sex: ``Man`` or ``Kvinna``; drawn at random when omitted.

        Returns:
            A test number when one of that year and sex is left, else a TF number.
        """
        wanted = sex or (MAN if self._rng.random() < 0.5 else KVINNA)
        free = self._free.get((year, wanted))
        if free:
            pin = free.pop()
            self.issued.add(pin)
            return CivicNumber(pin, birth_date_of(pin), wanted, False)
        return self.take_tf(year, wanted)

    def take_tf(self, year: int, sex: str | None = None) -> CivicNumber:
        """Return a fresh TF number with a random real date in ``year``."""
        wanted = sex or (MAN if self._rng.random() < 0.5 else KVINNA)
        days = (date(year, 12, 31) - date(year, 1, 1)).days
        while True:
            day = date(year, 1, 1) + timedelta(days=self._rng.randint(0, days))
            used = self._tf_used.get(day, 0)
            if used < 99:
                break
        self._tf_used[day] = used + 1
        value = f"{day:%Y%m%d}TF{used + 1:02d}"
        self.issued.add(value)
        return CivicNumber(value, day, wanted, True)
