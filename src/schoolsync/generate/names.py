"""Names, addresses, account names and teacher signatures for synthetic persons."""

from __future__ import annotations

import itertools
import random
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .names_data import DISTRICTS, ORIGINS, STREET_STEMS, STREET_SUFFIXES, SWEDISH, Origin
from .numbers import MAN

_SPECIAL_FOLDS = {
    "ł": "l",
    "Ł": "L",
    "ø": "o",
    "Ø": "O",
    "æ": "ae",
    "Æ": "AE",
    "ß": "ss",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
}
_SWEDISH_LETTERS = frozenset("åäöÅÄÖ")


def ascii_fold(text: str) -> str:
    """Return ``text`` with diacritics removed and only ASCII letters and digits kept."""
    folded = "".join(_SPECIAL_FOLDS.get(char, char) for char in text)
    decomposed = unicodedata.normalize("NFKD", folded)
    return "".join(char for char in decomposed if char.isascii() and char.isalnum())


def _signature_letters(text: str) -> str:
    """Upper-case letters of ``text`` for a signature; keeps å, ä and ö, folds other marks."""
    kept = "".join(char if char in _SWEDISH_LETTERS else ascii_fold(char) for char in text)
    return "".join(char for char in kept if char.isalpha()).upper()


@dataclass(frozen=True, slots=True)
class Address:
    """A Folkbokföring address.

    Attributes:
        street: Street and number, e.g. ``Björkvägen 3``.
        postal_code: Postal code in the unused ``999 xx`` range.
        locality: Post town.
    """

    street: str
    postal_code: str
    locality: str


class NameMaker:
    """Draws origins, given and family names, and addresses.

    Args:
        rng: The generator's random source.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._origin_weights = list(itertools.accumulate(o.weight for o in ORIGINS))
        self._family_weights = {
            o.families: list(
                itertools.accumulate(1.0 / (rank + 2) ** 0.5 for rank in range(len(o.families)))
            )
            for o in ORIGINS
        }

    def origin(self) -> Origin:
        """Return the origin of a new family, weighted by how common it is."""
        return self._rng.choices(ORIGINS, cum_weights=self._origin_weights)[0]

    def given(self, origin: Origin, sex: str, child: bool) -> str:
        """Return a given name that fits ``sex`` and generation.

        Children of families of other origins get a name from the Swedish list one time in
        five, as many do.
        """
        if child and origin is not SWEDISH and self._rng.random() < 0.2:
            origin = SWEDISH
        if child:
            names = origin.boys if sex == MAN else origin.girls
        else:
            names = origin.men if sex == MAN else origin.women
        return self._rng.choice(names)

    def family(self, origin: Origin) -> str:
        """Return a family name of ``origin``; common names are drawn more often."""
        names = origin.families
        return self._rng.choices(names, cum_weights=self._family_weights[names])[0]

    def address(self) -> Address:
        """Return a fictional address in the municipality."""
        stem = self._rng.choice(STREET_STEMS)
        suffix = self._rng.choice(STREET_SUFFIXES)
        number = self._rng.randint(1, 60)
        code = self._rng.randint(10, 99)
        locality = DISTRICTS[code % len(DISTRICTS)]
        return Address(f"{stem}{suffix} {number}", f"999 {code:02d}", locality)


class NameRegistry:
    """Claims unique names (account names, e-mail local parts) with a running number."""

    def __init__(self) -> None:
        self._taken: dict[str, int] = {}

    def claim(self, base: str) -> str:
        """Return ``base`` the first time, then ``base2``, ``base3`` … ."""
        count = self._taken.get(base, 0) + 1
        self._taken[base] = count
        return base if count == 1 else f"{base}{count}"

    def claim_address(self, local: str, domain: str) -> str:
        """Return a unique e-mail address ``local@domain``, numbered from the second on."""
        return f"{self.claim(f'{domain}/{local}').split('/', 1)[1]}@{domain}"


def staff_account_base(given: str, family: str) -> str:
    """Return the account-name stem of a staff member: two letters of each name."""
    return (ascii_fold(given)[:2] + ascii_fold(family)[:2]).lower() or "staff"


def student_account_base(given: str, family: str) -> str:
    """Return the account-name stem of a student: three letters of each name."""
    return (ascii_fold(given)[:3] + ascii_fold(family)[:3]).lower() or "elev"


def mail_base(given: str, family: str) -> str:
    """Return the ``fornamn.efternamn`` e-mail stem."""
    return f"{ascii_fold(given).lower()}.{ascii_fold(family).lower()}"


def signature_candidates(given: str, family: str) -> Iterator[str]:
    """Yield signatures of 2–4 upper-case letters built from a name, the usual forms first."""
    first = _signature_letters(given) or "X"
    last = _signature_letters(family) or "X"
    shapes: Sequence[tuple[int, int]] = ((2, 2), (1, 2), (1, 1), (2, 1), (1, 3), (3, 1))
    for g, f in shapes:
        yield first[:g] + last[:f]
    pool = last[1:] + first[1:]
    for a, b in itertools.product(pool, repeat=2):
        yield first[0] + last[0] + a + b
    for a, b in itertools.product("ABCDEFGHIJKLMNOPRSTUVY", repeat=2):
        yield first[0] + last[0] + a + b
