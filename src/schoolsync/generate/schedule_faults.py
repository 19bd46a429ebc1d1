"""Deliberate faults in a schedule export, as real Novaschem files have them.

They go into one unit's lessons so that the schedule report has something to show: group names
that differ from the register's by case, a trailing space or damaged å/ä/ö; a signature nobody
has; a class lesson whose only subject group mixes classes; a placeholder row.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from .schedule_view import UnitView
from .timetable import SLOT_STARTS, WEEKDAYS, Lesson

UNKNOWN_SIGNATURES = ("ZZQ", "ZQX", "QZZ", "XZQ", "ZZX")
PLACEHOLDER_LENGTH = 2210
DAMAGE = str.maketrans("åäöÅÄÖ", "??????")


@dataclass(frozen=True)
class MarkedRow:
    """A row a fault wrote.

    Attributes:
        lesson: The row.
        code: Fault code, e.g. ``schedule-group-case``.
        detail: What is wrong, in plain words.
    """

    lesson: Lesson
    code: str
    detail: str


@dataclass
class ScheduleFaults:
    """Writes the schedule faults into one unit's lesson rows.

    Attributes:
        view: The unit.
        lessons: Its lesson rows; changed in place.
        rng: A random source of its own.
        known_signatures: Every signature in the register.
        all_weeks: Every teaching week of the läsår, for the rows added.
    """

    view: UnitView
    lessons: list[Lesson]
    rng: random.Random
    known_signatures: set[str]
    all_weeks: tuple[int, ...]
    marked: list[MarkedRow] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._names = {g.display_name for g in self.view.by_id.values()}
        self._touched: set[Lesson] = set()
        self._groups_touched: set[str] = set()
        self._group_ids = {g.id for g in self.view.groups}

    def apply(self) -> list[MarkedRow]:
        """Write every fault that the unit's data allows and return the rows written."""
        self._case()
        self._trailing_space()
        self._unknown_signature()
        self._class_with_mixed_group()
        self._placeholder()
        self._damaged_letters()
        return self.marked

    def _candidates(self) -> list[Lesson]:
        """Plain rows on a teaching group (one teacher, a week list) not used by another fault."""
        return [
            lesson
            for lesson in self.lessons
            if lesson.group_id in self._group_ids
            and len(lesson.teachers) == 1
            and lesson.weeks
            and lesson not in self._touched
            and lesson.group_id not in self._groups_touched
        ]

    def _pick(self, rows: list[Lesson]) -> Lesson | None:
        if not rows:
            return None
        chosen = self.rng.choice(rows)
        self._touched.add(chosen)
        self._groups_touched.add(chosen.group_id)
        return chosen

    def _mark(self, lesson: Lesson, code: str, detail: str) -> None:
        self.marked.append(MarkedRow(lesson, code, detail))

    def _case(self) -> None:
        rows = [r for r in self._candidates() if _other_case(r.group) not in self._names]
        lesson = self._pick(rows)
        if lesson is None:
            return
        real, lesson.group = lesson.group, _other_case(lesson.group)
        self._mark(
            lesson,
            "schedule-group-case",
            f"names group '{lesson.group}'; the register's group is '{real}' (other case)",
        )

    def _trailing_space(self) -> None:
        lesson = self._pick(self._candidates())
        if lesson is None:
            return
        real, lesson.group = lesson.group, f"{lesson.group} "
        self._mark(
            lesson,
            "schedule-group-space",
            f"names group '{lesson.group}' with a trailing space; the register's is '{real}'",
        )

    def _unknown_signature(self) -> None:
        lesson = self._pick(self._candidates())
        if lesson is None:
            return
        signature = next(s for s in UNKNOWN_SIGNATURES if s not in self.known_signatures)
        self.unknown.append(signature)
        lesson.teachers = [signature]
        self._mark(
            lesson,
            "schedule-unknown-signature",
            f"on group '{lesson.group}' has signature {signature}, which no staff member has "
            "in the register",
        )

    def _class_with_mixed_group(self) -> None:
        """A lesson on a class and a subject whose only group with the class's pupils mixes."""
        found = self._mixed_choices()
        if not found:
            return
        name, subject, group_id = self.rng.choice(found)
        model = next(r for r in self.lessons if r.group_id == group_id and r not in self._touched)
        day, slot = self.rng.randrange(len(WEEKDAYS)), self.rng.choice(SLOT_STARTS)
        lesson = replace(
            model, day=WEEKDAYS[day], start=slot, length=60, group=name, period="", group_id=""
        )
        lesson.teachers, lesson.weeks = list(model.teachers), self.all_weeks
        self._touched.add(lesson)
        self._insert_after(model, lesson)
        mixed = self.view.by_id[group_id]
        others = ", ".join(c for c in self.view.drawn_from[group_id] if c != name)
        self._mark(
            lesson,
            "schedule-class-mixed-group",
            f"names class '{name}' with subject {subject}, but no {subject} group has pupils of "
            f"{name} only: '{mixed.display_name}' also has pupils of {others}",
        )

    def _mixed_choices(self) -> list[tuple[str, str, str]]:
        """Return (class, subject, mixed group id) where no pure group of that class exists."""
        pure: set[tuple[str, str]] = set()
        mixed: list[tuple[str, str, str]] = []
        scheduled = {r.group_id for r in self.lessons}
        for activity in self.view.activities:
            group_id = activity.groups[0]
            subject, _ = self.view.subject(activity)
            classes = self.view.drawn_from[group_id]
            if len(classes) == 1:
                pure.add((classes[0], subject))
            elif group_id in scheduled and group_id not in self._groups_touched:
                mixed.extend((name, subject, group_id) for name in classes)
        return sorted({m for m in mixed if (m[0], m[1]) not in pure})

    def _placeholder(self) -> None:
        model = self._pick(self._candidates())
        if model is None:
            return
        lesson = replace(model, day="7", start=0, length=PLACEHOLDER_LENGTH, placeholder=True)
        lesson.teachers = list(model.teachers)
        self._touched.add(lesson)
        self._insert_after(model, lesson)
        self._mark(
            lesson,
            "schedule-placeholder",
            f"is a placeholder row for group '{lesson.group}': DayOfWeek 7, start 0:00, "
            f"{PLACEHOLDER_LENGTH} minutes",
        )

    def _damaged_letters(self) -> None:
        rows = [r for r in self._candidates() if r.group.translate(DAMAGE) != r.group]
        lesson = self._pick(rows)
        if lesson is None:
            return
        real, lesson.group = lesson.group, lesson.group.translate(DAMAGE)
        self._mark(
            lesson,
            "schedule-group-encoding",
            f"names group '{lesson.group}'; the register's group is '{real}' (å/ä/ö damaged)",
        )

    def _insert_after(self, model: Lesson, lesson: Lesson) -> None:
        self.lessons.insert(self.lessons.index(model) + 1, lesson)


def _other_case(name: str) -> str:
    """Return ``name`` with its first word in lower case, or all upper case if that changes nothing.

    ``Ma 7A`` becomes ``ma 7A``.
    """
    first, _, rest = name.partition(" ")
    lowered = f"{first.lower()} {rest}" if rest else first.lower()
    return lowered if lowered != name else name.upper()
