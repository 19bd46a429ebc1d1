"""Teaching weeks of a läsår, and the ways a schedule export writes them.

The autumn term runs from the läsår's first week to week 51 without höstlov (week 44); the spring
term from week 2 to the last week of the läsår without sportlov (week 8) and påsklov (the week of
Easter Monday).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from .calendar import SchoolYear

AUTUMN_LAST_WEEK = 51
HOSTLOV_WEEK = 44
SPRING_FIRST_WEEK = 2
SPORTLOV_WEEK = 8


def easter_sunday(year: int) -> date:
    """Return Easter Sunday of ``year`` (Gregorian calendar, the anonymous algorithm).

    Args:
        year: Calendar year.

    Returns:
        The date of Easter Sunday.
    """
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * weekday) // 433
    month = (h + weekday - 7 * m + 90) // 25
    day = (h + weekday - 7 * m + 33 * month + 19) % 32
    return date(year, month, day)


def paasklov_week(year: int) -> int:
    """Return the ISO week of påsklov in the spring of ``year``: the week of Easter Monday."""
    return (easter_sunday(year) + timedelta(days=1)).isocalendar().week


def runs(weeks: tuple[int, ...]) -> list[tuple[int, int]]:
    """Split weeks in teaching order into runs of consecutive week numbers.

    Args:
        weeks: ISO week numbers in the order they are taught.

    Returns:
        ``(first, last)`` of each run.
    """
    found: list[tuple[int, int]] = []
    for week in weeks:
        if found and week == found[-1][1] + 1:
            found[-1] = (found[-1][0], week)
        else:
            found.append((week, week))
    return found


@dataclass(frozen=True)
class TeachingWeeks:
    """The teaching weeks of one läsår.

    Attributes:
        first_year: The calendar year in which the läsår starts.
        autumn: ISO weeks of the hösttermin (in the first year).
        spring: ISO weeks of the vårtermin (in the next year).
    """

    first_year: int
    autumn: tuple[int, ...]
    spring: tuple[int, ...]

    @classmethod
    def of(cls, year: SchoolYear) -> TeachingWeeks:
        """Return the teaching weeks of ``year``."""
        first = year.start.isocalendar().week
        autumn = tuple(w for w in range(first, AUTUMN_LAST_WEEK + 1) if w != HOSTLOV_WEEK)
        last = year.end.isocalendar().week
        breaks = {SPORTLOV_WEEK, paasklov_week(year.first_year + 1)}
        spring = tuple(w for w in range(SPRING_FIRST_WEEK, last + 1) if w not in breaks)
        return cls(year.first_year, autumn, spring)

    @property
    def all(self) -> tuple[int, ...]:
        """Every teaching week, autumn first."""
        return self.autumn + self.spring

    def term(self, period: str) -> tuple[int, ...]:
        """Return the weeks of the period ``Ht`` or ``Vt``."""
        return self.autumn if period == "Ht" else self.spring

    def week_ranges(self, weeks: tuple[int, ...]) -> str:
        """Write weeks as an ActualWeeks list, e.g. ``34-43, 45-51, 2-7``."""
        return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs(weeks))

    def date_ranges(self, weeks: tuple[int, ...]) -> str:
        """Write weeks as ``d/m-d/m`` ranges from each run's Monday to its Friday."""
        parts: list[str] = []
        for first, last in runs(weeks):
            year = self.first_year if first in self.autumn else self.first_year + 1
            monday = date.fromisocalendar(year, first, 1)
            friday = date.fromisocalendar(year, last, 5)
            parts.append(f"{_day_month(monday)}-{_day_month(friday)}")
        return ", ".join(parts)


def _day_month(day: date) -> str:
    return f"{day.day}/{day.month}"
