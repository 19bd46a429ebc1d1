"""Swedish civic numbers: personnummer, samordningsnummer, TF numbers and interim numbers (R1.1).

A civic number is accepted in any of the usual written forms::

    YYMMDD-NNNC   YYMMDD+NNNC   YYMMDDNNNC
    YYYYMMDD-NNNC YYYYMMDD+NNNC YYYYMMDDNNNC

and stored in one canonical 12-character form (``YYYYMMDDNNNC``). The rules:

* ``NNN`` is the birth number (``000`` is never issued) and ``C`` a Luhn check digit computed
  over the nine digits ``YYMMDDNNN``.
* The date of a personnummer must exist in the calendar. A samordningsnummer (coordination
  number) adds 60 to the day (61-91). Skatteverket's own test samordningsnummer also use month
  ``00`` and/or day ``60`` (day ``00`` + 60) for an unknown birth month or day, and some have a
  day the month does not have (e.g. April 31, February 29 in a common year). A samordningsnummer
  is therefore accepted with any month 00-12 and day 60-91; when the date is not a real one its
  birth date is unknown (None).
* A 10-character number gets its century from ``today``: the most recent year not after
  today's year; a ``+`` separator means the person is 100 years older. A 12-character number
  keeps its century, and a ``+`` in it is accepted and ignored.
* TF numbers, temporary numbers that schools hand out (``YYYYMMDDTFnn``), have a real date, the
  letters ``TF`` and two digits, and no check digit.
* Interim numbers (personnummer specification 3.1) have one of the letters
  ``T R S U W X J K L M N`` in the first birth-number position; the letter counts as the digit 1
  in the Luhn sum.

Nothing here does I/O, and no error message repeats a full number: a civic number is personal
data, so messages name at most its date part.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "CivicNo",
    "CivicNoError",
    "CivicNoErrorReason",
    "CivicNoKind",
    "Sex",
    "birth_date_of",
    "is_valid_civic_no",
    "mask_civic_no",
    "parse_civic_no",
]

CivicNoKind: TypeAlias = Literal["personnummer", "samordningsnummer", "tf", "interim"]
CivicNoErrorReason: TypeAlias = Literal["format", "checksum", "date", "birth-number", "letter"]
Sex: TypeAlias = Literal["Man", "Kvinna"]

# Optional century, YY, MM, DD, optional separator, and the last four: four digits, a letter and
# three digits (interim numbers, or a letter that is not allowed), or "TF" and two digits.
_CIVIC_NO_RE: Final = re.compile(
    r"([0-9]{2})?([0-9]{2})([0-9]{2})([0-9]{2})([-+]?)([0-9]{4}|[A-Za-z][0-9]{3}|[Tt][Ff][0-9]{2})",
    re.ASCII,
)
# The 10-character written forms, for masking only (the last four may be anything).
_SHORT_FORM_RE: Final = re.compile(r"([0-9]{2})([0-9]{4})([-+]?)[0-9A-Za-z]{4}", re.ASCII)

_DIGITS: Final = frozenset("0123456789")
_INTERIM_LETTERS: Final = frozenset("TRSUWXJKLMN")
# Luhn: a digit in a weight-2 position contributes the digit sum of its double (as a byte value,
# for bytes.translate).
_DOUBLED: Final = bytes.maketrans(
    b"0123456789", bytes((2 * d) // 10 + (2 * d) % 10 for d in range(10))
)
_MASK: Final = "****"


class CivicNoError(ValueError):
    """An invalid civic number.

    ``str(exc)`` is a plain English sentence saying what is wrong. It never repeats the full
    number; at most it names the date part (e.g. ``the date 2012-02-30 does not exist``).

    Attributes:
        reason: A short machine-readable code: ``format``, ``checksum``, ``date``,
            ``birth-number`` or ``letter``.
    """

    reason: CivicNoErrorReason

    def __init__(self, message: str, reason: CivicNoErrorReason) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self) -> tuple[type[CivicNoError], tuple[str, CivicNoErrorReason]]:
        return (type(self), (str(self), self.reason))


@dataclass(frozen=True, slots=True, repr=False)
class CivicNo:
    """A valid civic number in canonical form.

    Attributes:
        value: The canonical 12 characters: ``YYYYMMDDNNNC``, ``YYYYMMDDTFnn`` for a TF number,
            or ``YYYYMMDDXNNC`` for an interim number (``X`` an upper-case letter).
        kind: ``personnummer``, ``samordningsnummer``, ``tf`` or ``interim``.
        birth_date: The birth date, or None when it is unknown: a samordningsnummer with month
            ``00``, day ``60``, or a day the month does not have.
        sex: ``Man`` when the third birth-number digit is odd, ``Kvinna`` when it is even; None
            for TF numbers.
    """

    value: str
    kind: CivicNoKind
    birth_date: datetime.date | None
    sex: Sex | None

    def masked(self) -> str:
        """Return the number with its last four characters hidden.

        Returns:
            ``YYYYMMDD-****``.
        """
        return f"{self.value[:8]}-{_MASK}"

    def __repr__(self) -> str:
        # Masked so that a logged or printed value never shows the full number.
        return (
            f"CivicNo(value={self.masked()!r}, kind={self.kind!r}, "
            f"birth_date={self.birth_date!r}, sex={self.sex!r})"
        )


def _infer_year(yy: int, separator: str, today: datetime.date) -> int:
    """Return the full year for a two-digit year in a 10-character number."""
    base = today.year
    year = base - (base - yy) % 100
    if separator == "+":
        year -= 100
    return year


def _luhn_check_digit(nine: str) -> int:
    """Return the Luhn check digit for nine ASCII digits (weights 2, 1, 2, ...).

    Summed as bytes (once per person of every read): the doubled digits translated to their
    digit sums, the others as character codes less ``ord("0")`` each.
    """
    digits = nine.encode("ascii")
    total = sum(digits[0::2].translate(_DOUBLED)) + sum(digits[1::2]) - 4 * ord("0")
    return -total % 10


def _birth_date(year: int, month: int, day: int, *, coordination: bool) -> datetime.date | None:
    """Check the date part and return the birth date (None when unknown).

    Args:
        year: Full year.
        month: Month as written (0-99).
        day: Day of month, already reduced by 60 for a samordningsnummer.
        coordination: Whether the number is a samordningsnummer, which may leave the month or
            the day unknown (``00``) or name a day the month does not have.

    Raises:
        CivicNoError: The date does not exist (reason ``date``).
    """
    if month > 12:
        raise CivicNoError(f"the month {month:02d} does not exist", "date")
    if month == 0 or day == 0:
        if coordination:
            return None
        part = "month" if month == 0 else "day"
        raise CivicNoError(
            f"the {part} 00 (unknown) is only allowed in a samordningsnummer", "date"
        )
    try:
        return datetime.date(year, month, day)
    except ValueError:
        if coordination:
            # Skatteverket's published test samordningsnummer include some whose day the month
            # does not have (e.g. 1920-04-31). Skatteverket has reportedly said such numbers are
            # not issued in production (ActiveLogin.Identity issue #126), so accepting them only
            # keeps test registers and generated data working; the birth date is unknown.
            return None
        raise CivicNoError(
            f"the date {year:04d}-{month:02d}-{day:02d} does not exist", "date"
        ) from None


def parse_civic_no(text: str, *, today: datetime.date) -> CivicNo:
    """Parse and validate a civic number (rule R1.1).

    Args:
        text: The number as written: 10 or 12 characters, optionally with ``-`` or ``+`` before
            the last four. Leading and trailing whitespace is ignored.
        today: The date a 10-character number's century is inferred from (the run's today;
            never the clock). Not used for 12-character numbers.

    Returns:
        The number in canonical form with its kind, birth date and sex.

    Raises:
        CivicNoError: The text is not a valid personnummer, samordningsnummer, TF number or
            interim number. The message never contains the full number.
    """
    if not isinstance(text, str):
        raise CivicNoError("a civic number must be given as text", "format")
    match = _CIVIC_NO_RE.fullmatch(text.strip())
    if match is None:
        raise CivicNoError(
            "a civic number must have the form YYMMDD-NNNC or YYYYMMDD-NNNC "
            "(the separator is optional and may be + instead of -)",
            "format",
        )
    century, yy, mm, dd, separator, tail = match.groups()
    if century is None:
        year = _infer_year(int(yy), separator, today)
    else:
        year = int(century) * 100 + int(yy)
    if year < datetime.MINYEAR:
        raise CivicNoError("the year 0000 does not exist", "date")
    month = int(mm)
    day = int(dd)
    date_part = f"{year:04d}{mm}{dd}"
    first = tail[0]

    if first in _DIGITS:
        coordination = 60 <= day <= 91
        kind: CivicNoKind = "samordningsnummer" if coordination else "personnummer"
        birth_date = _birth_date(
            year, month, day - 60 if coordination else day, coordination=coordination
        )
        if tail[:3] == "000":
            raise CivicNoError("the birth number 000 is never issued", "birth-number")
        luhn_digits = yy + mm + dd + tail[:3]
        canonical_tail = tail
    else:
        letters = tail[:2].upper()
        if letters == "TF":
            birth_date = _birth_date(year, month, day, coordination=False)
            return CivicNo(date_part + "TF" + tail[2:], "tf", birth_date, None)
        letter = first.upper()
        if letter not in _INTERIM_LETTERS:
            raise CivicNoError(
                f"the letter {letter} is not allowed in a civic number "
                "(interim numbers use T, R, S, U, W, X, J, K, L, M or N)",
                "letter",
            )
        kind = "interim"
        birth_date = _birth_date(year, month, day, coordination=False)
        # The interim letter counts as the digit 1 in the Luhn sum.
        luhn_digits = yy + mm + dd + "1" + tail[1:3]
        canonical_tail = letter + tail[1:]

    if _luhn_check_digit(luhn_digits) != int(tail[3]):
        raise CivicNoError("the check digit (the last digit) does not match", "checksum")
    sex: Sex = "Man" if int(tail[2]) % 2 else "Kvinna"
    return CivicNo(date_part + canonical_tail, kind, birth_date, sex)


def is_valid_civic_no(text: str, *, today: datetime.date) -> bool:
    """Tell whether a text is a valid civic number (rule R1.1).

    Args:
        text: The number as written (see `parse_civic_no`).
        today: The date a 10-character number's century is inferred from (the run's today).

    Returns:
        True if `parse_civic_no` accepts the text.
    """
    try:
        parse_civic_no(text, today=today)
    except CivicNoError:
        return False
    return True


def mask_civic_no(value: str, *, today: datetime.date) -> str:
    """Hide the last four characters of something that may be a civic number.

    Best effort on any text; never raises and never shows the last four characters. The
    number does not have to be valid.

    Args:
        value: Any text, typically a civic number in one of its written forms.
        today: The date a 10-character number's century is inferred from (the run's today).

    Returns:
        ``YYYYMMDD-****`` when the text starts with eight digits followed by at least four
        more characters, or is a 10-character form (``YYMMDD-NNNC``, century inferred);
        otherwise ``****``.
    """
    if not isinstance(value, str):
        return _MASK
    text = value.strip()
    short = _SHORT_FORM_RE.fullmatch(text)
    if short is not None:
        yy, mmdd, separator = short.groups()
        return f"{_infer_year(int(yy), separator, today):04d}{mmdd}-{_MASK}"
    head = text[:8]
    if len(text) >= 12 and head.isascii() and head.isdigit():
        return f"{head}-{_MASK}"
    return _MASK


def birth_date_of(value: str) -> datetime.date | None:
    """Return the birth date encoded in a canonical civic number.

    Args:
        value: A canonical 12-character civic number (`CivicNo.value`).

    Returns:
        The birth date, or None when the value is not a valid canonical number or the birth
        date is unknown (a samordningsnummer with month ``00``, day ``60`` or a day the month
        does not have).
    """
    if not isinstance(value, str) or len(value) != 12:
        return None
    head = value[:8]
    if not (head.isascii() and head.isdigit()):
        return None
    try:
        return parse_civic_no(value, today=datetime.date.min).birth_date  # 12 characters
    except CivicNoError:
        return None


def mask_details(details: dict[str, Any], *, today: datetime.date) -> dict[str, Any]:
    """A change-log entry's details with every personnummer masked (``civic_no`` values).

    The change log is history that people read (``runs show``); only the export carries full
    numbers.
    """
    if "civic_no" not in details:
        return details
    value = details["civic_no"]
    if isinstance(value, list):
        masked: Any = [mask_civic_no(v, today=today) if isinstance(v, str) else v for v in value]
    else:
        masked = mask_civic_no(value, today=today) if isinstance(value, str) else value
    return {**details, "civic_no": masked}
