"""Protected identity (skyddad identitet, R11): the pseudonym a protected person is synced under.

With ``protected_identity = "pseudonymise"`` a person with ``securityMarking`` other than ``Ingen``
becomes a user with a generated name and a TF-style key derived from their register id: the same
pseudonym at every sync, and nothing that points back to the person (no real name, number, birth
date, contact data, addresses, identifiers or guardians).
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, timedelta

from schoolsync.domain.personnummer import CivicNo
from schoolsync.domain.records import Person

_DAYS_1800S = 36524


def _digest(register_id: str) -> bytes:
    return hashlib.sha256(f"schoolsync-pseudonym:{register_id}".encode()).digest()


def pseudonym_key(register_id: str) -> str:
    """A TF-style key ``YYYYMMDDTFnn`` with a date in the 1800s, stable for a register id.

    No school-age person, guardian or member of staff has such a number, so it cannot collide with
    a real personnummer or a TF number given to a real person.
    """
    n = int.from_bytes(_digest(register_id)[:8], "big")
    day = date(1800, 1, 1) + timedelta(days=n % _DAYS_1800S)
    return f"{day:%Y%m%d}TF{(n // _DAYS_1800S) % 100:02d}"


def pseudonym_names(register_id: str) -> tuple[str, str]:
    """The given and family name of the pseudonym: ``Skyddad`` ``identitet 7F3A``."""
    return "Skyddad", f"identitet {_digest(register_id)[:2].hex().upper()}"


def pseudonym(person: Person) -> tuple[Person, CivicNo]:
    """The person as the directory may know them: a pseudonym and a key, links kept."""
    given, family = pseudonym_names(person.id)
    masked = dataclasses.replace(
        person,
        civic_no=pseudonym_key(person.id),
        given_name=given,
        family_name=family,
        middle_name=None,
        birth_date=None,
        sex=None,
        email=None,
        mobile=None,
        addresses="[]",
        identifiers="{}",
        responsibles=(),
    )
    key = CivicNo(pseudonym_key(person.id), "tf", None, None)
    return masked, key
