"""Teaching in gymnasieskola: course groups per class, shared courses of small programmes."""

from __future__ import annotations

from collections import defaultdict

from .builders import activity, group, gy_syllabus
from .catalogue import GY_COURSES, PROGRAMMES
from .context import Context
from .schools import ClassInfo, Unit
from .staff import Staffing, Teacher


class GymnasiumTeaching:
    """Builds the course groups, activities and mentors of one gymnasium unit.

    Course groups are named either by course code (``MATMAT01c NA24A``) or by the short course
    name (``Ma1c NA24A``), one style per school, as registers differ. Small programmes read the
    courses they share together (``Sv1 EE24/TE24``).
    """

    def __init__(self, ctx: Context, staffing: Staffing, unit: Unit) -> None:
        self.ctx = ctx
        self.staffing = staffing
        self.unit = unit
        self.by_code = ctx.rng.random() < 0.5
        self.taught_by: defaultdict[str, list[Teacher]] = defaultdict(list)

    def build(self) -> None:
        """Create every course group, activity and mentor assignment of the unit."""
        by_year: defaultdict[int, list[ClassInfo]] = defaultdict(list)
        for info in self.unit.classes:
            by_year[info.grade].append(info)
        for year, classes in sorted(by_year.items()):
            small = [c for c in classes if PROGRAMMES[str(c.programme)].small]
            shared = self._shared_courses(year, small)
            for info in classes:
                for code in self._courses(info):
                    if info in small and code in shared:
                        continue
                    self._course_group([info], code)
            for code in shared:
                self._course_group([c for c in small if code in self._courses(c)], code)
        for info in self.unit.classes:
            self._mentors(info)

    @staticmethod
    def _courses(info: ClassInfo) -> tuple[str, ...]:
        return PROGRAMMES[str(info.programme)].years[info.grade - 1]

    def _shared_courses(self, year: int, small: list[ClassInfo]) -> list[str]:
        counts: dict[str, int] = {}
        for info in small:
            for code in self._courses(info):
                counts[code] = counts.get(code, 0) + 1
        return [code for code, count in counts.items() if count > 1]

    def _course_group(self, classes: list[ClassInfo], code: str) -> None:
        course = GY_COURSES[code]
        label = "/".join(c.group.display_name for c in classes)
        name = f"{code if self.by_code else course.short} {label}"
        pupils = [p for c in classes for p in c.students]
        made = group(self.ctx, self.unit, name, "GY", pupils)
        teacher = self.staffing.assign(self.unit.org, course.area, course.load)
        for info in classes:
            if teacher not in self.taught_by[info.group.id]:
                self.taught_by[info.group.id].append(teacher)
        activity(self.ctx, self.unit, name, [made], gy_syllabus(self.ctx, code), [teacher])

    def _mentors(self, info: ClassInfo) -> None:
        candidates = list(enumerate(self.taught_by[info.group.id]))
        ranked = sorted(candidates, key=lambda pair: (pair[1].mentor_of, pair[0]))
        count = 2 if self.ctx.rng.random() < 0.3 else 1
        for _, teacher in ranked[:count]:
            self.staffing.make_mentor(teacher, info.group.id, info.group.start)
