"""School-year arithmetic: which läsår a date falls in and where its terms start and end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

AUTUMN_START_WEEK = 34
"""ISO week whose Monday starts the autumn term (hösttermin)."""

SPRING_END_WEEK = 24
"""ISO week whose Friday ends the spring term (vårtermin)."""


def autumn_start(year: int) -> date:
    """Return the first day of the autumn term of ``year``.

    Args:
        year: Calendar year in which the läsår starts.

    Returns:
        The Monday of ISO week 34 of ``year``.
    """
    return date.fromisocalendar(year, AUTUMN_START_WEEK, 1)


def spring_end(year: int) -> date:
    """Return the last day of the spring term that ends in ``year``.

    Args:
        year: Calendar year in which the läsår ends.

    Returns:
        The Friday of ISO week 24 of ``year``.
    """
    return date.fromisocalendar(year, SPRING_END_WEEK, 5)


@dataclass(frozen=True)
class SchoolYear:
    """One läsår, from the first day of the autumn term to the last day of the spring term.

    Attributes:
        first_year: The calendar year in which the läsår starts.
        start: First day of the autumn term.
        end: Last day of the spring term.
    """

    first_year: int
    start: date
    end: date

    @classmethod
    def of(cls, first_year: int) -> SchoolYear:
        """Build the läsår that starts in the autumn of ``first_year``."""
        return cls(first_year, autumn_start(first_year), spring_end(first_year + 1))

    @classmethod
    def containing(cls, today: date) -> SchoolYear:
        """Return the current läsår on ``today``.

        The current läsår is the one whose autumn term has started on or before ``today``; over
        the summer that is still the läsår that ended in June.
        """
        year = today.year if today >= autumn_start(today.year) else today.year - 1
        return cls.of(year)

    @property
    def label(self) -> str:
        """The läsår written the usual way, e.g. ``2025/26``."""
        return f"{self.first_year}/{(self.first_year + 1) % 100:02d}"

    def previous(self) -> SchoolYear:
        """Return the läsår before this one."""
        return SchoolYear.of(self.first_year - 1)

    def day_in_term(self, fraction: float) -> date:
        """Return the day at ``fraction`` (0..1) of the way from start to end."""
        span = (self.end - self.start).days
        return self.start + timedelta(days=round(span * min(max(fraction, 0.0), 1.0)))
