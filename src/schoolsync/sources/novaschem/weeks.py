"""Dates in a Novaschem export: ISO week lists and ``d/m-d/m`` calendar ranges.

The school year starts in the autumn of its first calendar year (BaseYear + OffsetYear). Weeks and
dates of the autumn belong to that year, those of the spring to the next.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_RANGE = re.compile(r"^\s*([0-9]{1,2})\s*(?:-\s*([0-9]{1,2}))?\s*$")
_DAY_MONTH = re.compile(r"^\s*([0-9]{1,2})/([0-9]{1,2})\s*$")
AUTUMN_FROM_WEEK = 27  # weeks from here on are autumn weeks (the school year's first year)
AUTUMN_FROM_MONTH = 7


def weeks_in(year: int) -> int:
    """How many ISO weeks a year has (52 or 53)."""
    return date(year, 12, 28).isocalendar()[1]


def parse_weeks(text: str, first_year: int) -> list[tuple[int, int]] | None:
    """``35-43, 45-51, 2-8`` → [(iso year, week), ...]; None when it cannot be read.

    A range that goes past the new year (``50-2``) wraps round.
    """
    out: list[tuple[int, int]] = []
    for token in text.split(","):
        if not token.strip():
            continue
        match = _RANGE.match(token)
        if match is None:
            return None
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if first < 1 or last < 1 or first > 53 or last > 53:
            return None
        if first <= last and (first >= AUTUMN_FROM_WEEK) == (last >= AUTUMN_FROM_WEEK):
            weeks = list(range(first, last + 1))
        elif first > last:  # wraps over the new year
            weeks = list(range(first, weeks_in(first_year) + 1)) + list(range(1, last + 1))
        else:  # spring to autumn, e.g. 20-40: not a term
            return None
        for week in weeks:
            year = first_year if week >= AUTUMN_FROM_WEEK else first_year + 1
            if week > weeks_in(year):
                return None
            out.append((year, week))
    return out


def parse_ranges(text: str, first_year: int) -> list[tuple[date, date]] | None:
    """``19/8-20/12, 7/1-13/6`` → [(start, end), ...]; None when it cannot be read."""
    out: list[tuple[date, date]] = []
    for token in text.split(","):
        if not token.strip():
            continue
        parts = token.split("-")
        if len(parts) != 2:
            return None
        bounds = []
        for part in parts:
            match = _DAY_MONTH.match(part)
            if match is None:
                return None
            day, month = int(match[1]), int(match[2])
            year = first_year if month >= AUTUMN_FROM_MONTH else first_year + 1
            try:
                bounds.append(date(year, month, day))
            except ValueError:
                return None
        if bounds[1] < bounds[0]:
            return None
        out.append((bounds[0], bounds[1]))
    return out


def dates_on(weekday: int, ranges: list[tuple[date, date]]) -> list[date]:
    """Every date with ISO ``weekday`` (1 = Monday) inside the ranges."""
    out = []
    for start, end in ranges:
        day = start + timedelta(days=(weekday - start.isoweekday()) % 7)
        while day <= end:
            out.append(day)
            day += timedelta(days=7)
    return out
