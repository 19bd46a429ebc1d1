"""Lessons of one school unit: weekly positions for every activity, with rooms and weeks."""

from __future__ import annotations

import random
from dataclasses import dataclass

from .model import Activity, Group
from .schedule_view import UnitView
from .weeks import TeachingWeeks

WEEKDAYS = ("Måndag", "Tisdag", "Onsdag", "Torsdag", "Fredag")
SLOT_STARTS = (8 * 60, 9 * 60, 10 * 60, 11 * 60, 12 * 60 + 30, 13 * 60 + 30, 14 * 60 + 30)
"""Start of each lesson slot of a day; lunch falls between the fourth and the fifth."""

CELLS = len(WEEKDAYS) * len(SLOT_STARTS)
STEPS = (1, 2, 3, 4, 6, 8, 9, 11, 12, 13, 16, 17)
"""Strides through the week's cells; all coprime to :data:`CELLS`, so every cell is visited."""

WEEKLY_ROWS = {"SV": 2, "MA": 2, "EN": 2, "SVA": 2, "IDH": 2}
"""Lesson rows a week by subject designation; other grundskola subjects have one."""

EARLY_SINGLE = frozenset({"EN", "SVA"})
"""Subjects with only one row a week in år 1–3."""

ONE_TERM_SUBJECTS = frozenset({"BL", "MU", "TK", "HKK"})
"""Grundskola subjects that schools often read in one term only."""

DOUBLE_SUBJECTS = frozenset({"IDH", "SL", "HKK", "BL", "IDR", "EST"})
"""Subjects often read in one 80-minute block."""

SPECIAL_ROOMS = {
    "IDH": "Idrottshallen", "IDR": "Idrottshallen", "HKK": "Hemkunskap", "MU": "Musiksal",
    "BL": "Bildsal", "BI": "NO-sal 1", "FY": "NO-sal 2", "KE": "NO-sal 1", "EST": "Aula",
}  # fmt: skip
SHARED_ROOMS = ("Sal 1", "Sal 2", "Sal 3", "Sal 4", "Sal 5", "Sal 6", "Biblioteket")
PERIOD_SHARE = 0.03
"""Share of rows that give a period (``Ht``/``Vt``) instead of a week list."""

PARALLEL_FAMILIES = frozenset({"M2", "IDH", "SL"})
"""Subject families whose groups drawn from the same classes are taught side by side."""

CO_TEACHING_ROWS = 3
"""Fewest rows per file that list two signatures."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where a lesson lies in the week.

    Attributes:
        cell: Day index times the slots a day, plus the slot index.
        double: Whether the lesson also takes the next slot.
        start: Start in minutes after midnight.
        length: Length in minutes.
    """

    cell: int
    double: bool
    start: int
    length: int

    @property
    def day(self) -> int:
        """Day index, 0 for Måndag."""
        return self.cell // len(SLOT_STARTS)

    @property
    def cells(self) -> tuple[int, ...]:
        """The cells the lesson takes."""
        return (self.cell, self.cell + 1) if self.double else (self.cell,)


def _position(cell: int, double: bool, offset: int, length: int) -> Position:
    """Return the position at ``cell``; a double lesson only where it need not cross lunch."""
    slot = cell % len(SLOT_STARTS)
    return Position(cell, double and _can_double(slot), SLOT_STARTS[slot] + offset, length)


@dataclass(slots=True, eq=False)
class Lesson:
    """One row of the Lesson table.

    Attributes:
        day: ``Måndag`` … ``Fredag`` (or a placeholder's ``7``).
        start: Start time in minutes after midnight.
        length: Length in minutes.
        subject: Subject short code.
        teachers: Signatures.
        group: Group or class name.
        room: Room name.
        weeks: ISO weeks the lesson is held; empty when a period is given instead.
        course: Course code (gymnasium).
        period: ``Ht`` or ``Vt`` for rows without a week list.
        placeholder: Whether the row is a placeholder that holds no real lesson.
        group_id: Id of the register's class or group the row was made for (not written).
    """

    day: str
    start: int
    length: int
    subject: str
    teachers: list[str]
    group: str
    room: str
    weeks: tuple[int, ...]
    course: str = ""
    period: str = ""
    placeholder: bool = False
    group_id: str = ""

    @property
    def starttime(self) -> str:
        """Start written ``H:MM``."""
        return f"{self.start // 60}:{self.start % 60:02d}"


class Timetable:
    """Places the lessons of one unit.

    Every activity gets one to three rows a week. Rows are put in cells (day and slot) where the
    classes the group draws from and the teachers are still free, on different days when they
    can be; when no cell is free the first one tried is used.

    Args:
        rng: The schedule's random source.
        view: The unit.
        weeks: The läsår's teaching weeks.
    """

    def __init__(self, rng: random.Random, view: UnitView, weeks: TeachingWeeks) -> None:
        self.rng = rng
        self.view = view
        self.weeks = weeks
        self.busy: dict[str, set[int]] = {}
        self.subjects: dict[str, str] = {}
        names = sorted(c.display_name for c in view.classes)
        self.home_rooms = {name: _classroom(index) for index, name in enumerate(names)}
        self.grades = {info.group.display_name: info.grade for info in view.unit.classes}
        self.blocks: dict[str, list[Position]] = {}

    def build(self) -> list[Lesson]:
        """Return the unit's lesson rows, with period rows and co-teaching mixed in."""
        lessons: list[Lesson] = []
        for activity in self.view.activities:
            lessons.extend(self.activity_lessons(activity))
        self._period_rows(lessons)
        self._co_teaching(lessons)
        return lessons

    def activity_lessons(self, activity: Activity) -> list[Lesson]:
        """Place the weekly rows of one activity."""
        group = self.view.by_id[activity.groups[0]]
        subject, full_text = self.view.subject(activity)
        self.subjects.setdefault(subject, full_text)
        syllabus = self.view.syllabuses[activity.syllabus]
        teachers = self.view.signatures(activity)
        own = [f"t:{signature}" for signature in teachers]
        keys = [f"c:{name}" for name in self.view.drawn_from[group.id]] or [f"g:{group.id}"]
        room = self._room(group, subject)
        weeks = self.weeks.all
        if subject in ONE_TERM_SUBJECTS and not self.view.gymnasium:
            weeks = self.weeks.term(self.rng.choice(("Ht", "Vt")))
        block = self.blocks.setdefault(self._block(group, subject), [])
        days: set[int] = set()
        made: list[Lesson] = []
        for index in range(self._weekly_rows(group, subject, syllabus.points)):
            double = subject in DOUBLE_SUBJECTS and self.rng.random() < 0.5
            if index < len(block) and self._free(own, block[index]):
                position = block[index]
                self._occupy(own, position)
            else:
                position = self.place(keys + own, days, double)
                if index >= len(block):
                    block.append(position)
            days.add(position.day)
            lesson = Lesson(
                day=WEEKDAYS[position.day],
                start=position.start,
                length=position.length,
                subject=subject,
                teachers=list(teachers),
                group=group.display_name,
                room=room,
                weeks=weeks,
                course=syllabus.course_code or "",
                group_id=group.id,
            )
            made.append(lesson)
        return made

    def _block(self, group: Group, subject: str) -> str:
        """Return the key of the groups read side by side with ``group``, or a key of its own.

        Språkval groups of a year group, the idrott groups of two classes and the slöjd halves
        of a class are taught at the same time.
        """
        family = "M2" if subject.startswith("M2") else subject
        if family in PARALLEL_FAMILIES and not self.view.gymnasium:
            return f"{family}:{','.join(self.view.drawn_from[group.id])}"
        return f"group:{group.id}"

    def _weekly_rows(self, group: Group, subject: str, points: int | None) -> int:
        """Rows a week: by gymnasiepoäng (50 a row), or by subject and year group."""
        if self.view.gymnasium:
            return max(1, min(3, (points or 100) // 50))
        grades = [self.grades.get(name, 9) for name in self.view.drawn_from[group.id]]
        if subject in EARLY_SINGLE and min(grades, default=9) <= 3:
            return 1
        return WEEKLY_ROWS.get(subject, 1)

    def place(self, keys: list[str], days: set[int], double: bool) -> Position:
        """Find a cell for a lesson and mark it busy for ``keys``.

        Args:
            keys: What must be free: ``c:<class>``, ``t:<signature>`` or ``g:<group id>``.
            days: Days the activity already has a lesson on; tried last.
            double: Whether the lesson should take two slots (80 minutes).

        Returns:
            Where and when the lesson is.
        """
        first, step = self.rng.randrange(CELLS), self.rng.choice(STEPS)
        cells = ((first + k * step) % CELLS for k in range(CELLS))
        order = [_position(cell, double, 0, 0) for cell in cells]
        chosen = next((p for p in order if p.day not in days and self._free(keys, p)), None)
        if chosen is None:
            chosen = min(order, key=lambda p: self._clashes(keys, p))
        if chosen.double:
            offset, length = self.rng.choice((0, 10)), 80
        else:
            offset = self.rng.choice((0, 5, 10))
            length = self.rng.choice([n for n in (40, 45, 50, 55, 60) if n + offset <= 60])
        position = _position(chosen.cell, chosen.double, offset, length)
        self._occupy(keys, position)
        return position

    def _occupy(self, keys: list[str], position: Position) -> None:
        for key in keys:
            self.busy.setdefault(key, set()).update(position.cells)

    def _free(self, keys: list[str], position: Position) -> bool:
        return self._clashes(keys, position) == 0

    def _clashes(self, keys: list[str], position: Position) -> int:
        return sum(c in self.busy.get(key, ()) for key in keys for c in position.cells)

    def _room(self, group: Group, subject: str) -> str:
        if subject == "SL":
            return "Textilslöjd" if "textil" in group.display_name else "Träslöjd"
        if subject in SPECIAL_ROOMS:
            return SPECIAL_ROOMS[subject]
        home = self.home_rooms.get(group.display_name)
        if home is not None:
            return home
        classes = self.view.drawn_from[group.id]
        if len(classes) == 1 and not self.view.gymnasium:
            return self.home_rooms[classes[0]]
        if self.view.gymnasium:
            return self.rng.choice([*SHARED_ROOMS, _classroom(self.rng.randrange(40))])
        return self.rng.choice(SHARED_ROOMS)

    def _period_rows(self, lessons: list[Lesson]) -> None:
        """Let a few rows give the period instead of a week list."""
        if not lessons:
            return
        count = max(1, round(len(lessons) * PERIOD_SHARE))
        for index in sorted(self.rng.sample(range(len(lessons)), count)):
            lesson = lessons[index]
            if lesson.weeks in (self.weeks.autumn, self.weeks.spring):
                lesson.period = "Ht" if lesson.weeks == self.weeks.autumn else "Vt"
            else:
                lesson.period = self.rng.choice(("Ht", "Vt"))
            lesson.weeks = ()

    def _co_teaching(self, lessons: list[Lesson]) -> None:
        """Make sure a few rows list two signatures, adding a teacher of the same class.

        Where the class has no other teacher, another teacher of the unit joins.
        """
        shared = sum(len(lesson.teachers) > 1 for lesson in lessons)
        by_class: dict[str, list[str]] = {}
        everyone: list[str] = []
        for activity in self.view.activities:
            signatures = self.view.signatures(activity)
            everyone.extend(s for s in signatures if s not in everyone)
            for name in self.view.drawn_from[activity.groups[0]]:
                known = by_class.setdefault(name, [])
                known.extend(s for s in signatures if s not in known)
        single = [index for index, lesson in enumerate(lessons) if len(lesson.teachers) == 1]
        self.rng.shuffle(single)
        for index in single[: max(0, CO_TEACHING_ROWS - shared)]:
            lesson = lessons[index]
            classes = self.view.drawn_from[lesson.group_id]
            near = [s for name in classes for s in by_class.get(name, [])]
            others = [s for s in near if s not in lesson.teachers]
            others = others or [s for s in everyone if s not in lesson.teachers]
            if others:
                lesson.teachers.append(self.rng.choice(others))


def _can_double(slot: int) -> bool:
    """Whether a lesson starting in ``slot`` may run on into the next slot (not over lunch)."""
    return slot + 1 < len(SLOT_STARTS) and slot != 3


def _classroom(index: int) -> str:
    return f"{'ABCD'[index // 20 % 4]}{index % 20 + 1:02d}"
