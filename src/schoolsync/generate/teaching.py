"""Teaching in grundskola: class-subject activities, teaching groups, mentors."""

from __future__ import annotations

from collections import defaultdict

from .builders import activity, chunks, gr_syllabus, group, grs_syllabus, halves
from .catalogue import (
    CLASS_TEACHER_SUBJECTS,
    GR_SUBJECTS,
    GRS_SUBJECTS,
    HIGH_CLASS_SUBJECTS,
    LOW_CLASS_SUBJECTS,
    MID_CLASS_SUBJECTS,
    MODERN_LANGUAGES,
)
from .context import Context
from .model import Group, Person
from .numbers import KVINNA, MAN
from .schools import ClassInfo, Unit
from .staff import Staffing, Teacher

CO_TEACHING_SHARE = 0.1
SCHEMA_SPLIT_SHARE = 0.3


class GrundskolaTeaching:
    """Builds the teaching of one grundskola unit.

    Args:
        ctx: The run's context.
        staffing: Staff factory; teachers are added as the teaching needs them.
        unit: The grundskola unit, with its classes filled.
    """

    def __init__(self, ctx: Context, staffing: Staffing, unit: Unit) -> None:
        self.ctx = ctx
        self.staffing = staffing
        self.unit = unit
        self.taught_by: defaultdict[str, list[Teacher]] = defaultdict(list)
        self.mentor_group_year = ctx.rng.choice((7, 8, 9))
        rate = ctx.rng.uniform(0.03, 0.2)
        self.sva = {p.id for c in unit.classes for p in c.students if ctx.rng.random() < rate}

    def build(self) -> None:
        """Create every group, activity and mentor assignment of the unit."""
        by_grade: defaultdict[int, list[ClassInfo]] = defaultdict(list)
        for info in self.unit.classes:
            by_grade[info.grade].append(info)
        for grade, classes in sorted(by_grade.items()):
            if grade == 0:
                self._forskoleklass(classes)
                continue
            for info in classes:
                if grade <= 6:
                    self._class_subjects(info)
                else:
                    self._subject_groups(info)
            if grade >= 7:
                self._idrott(classes)
            self._sva(grade, classes)
            if grade >= 6:
                self._languages(grade, classes)
        for info in self.unit.classes:
            if info.grade >= 7:
                self._mentors(info)

    def _teach(self, info: ClassInfo, area: str, load: float, role: str = "Lärare") -> Teacher:
        teacher = self.staffing.assign(self.unit.org, area, load, role)
        if teacher not in self.taught_by[info.group.id]:
            self.taught_by[info.group.id].append(teacher)
        return teacher

    def _forskoleklass(self, classes: list[ClassInfo]) -> None:
        for info in classes:
            teacher = self._teach(info, "FK", 0.75, "Förskollärare")
            self.staffing.make_mentor(teacher, info.group.id, info.group.start)

    def _class_subjects(self, info: ClassInfo) -> None:
        """Tie the class itself to its subjects (no teaching group), as år 1–6 often do."""
        class_teacher = self._teach(info, "KL", 0.7)
        self.staffing.make_mentor(class_teacher, info.group.id, info.group.start)
        subjects = LOW_CLASS_SUBJECTS if info.grade <= 3 else MID_CLASS_SUBJECTS
        for key in subjects:
            subject = GR_SUBJECTS[key]
            teacher = class_teacher
            if key not in CLASS_TEACHER_SUBJECTS:
                teacher = self._teach(info, subject.area, subject.load)
            name = f"{subject.name} {info.group.display_name}"
            activity(self.ctx, self.unit, name, [info.group], gr_syllabus(self.ctx, key), [teacher])
        if info.grade >= 4:
            self._slojd(info)

    def _slojd(self, info: ClassInfo) -> None:
        subject = GR_SUBJECTS["SL"]
        for half, label in zip(halves(info.students), ("trä", "textil"), strict=True):
            name = f"Sl {info.group.display_name} {label}"
            self._teaching_group(info, name, half, "SL", subject.load / 2)

    def _subject_groups(self, info: ClassInfo) -> None:
        for key in HIGH_CLASS_SUBJECTS:
            pupils = info.students
            if key == "SV":
                pupils = [p for p in pupils if p.id not in self.sva]
            subject = GR_SUBJECTS[key]
            name = f"{subject.short} {info.group.display_name}"
            self._teaching_group(info, name, pupils, key, subject.load)
        self._slojd(info)
        if self.ctx.rng.random() < SCHEMA_SPLIT_SHARE:
            for index, half in enumerate(halves(info.students), start=1):
                name = f"{info.group.display_name}:{index}"
                group(self.ctx, self.unit, name, "GR", half, "Schema")

    def _teaching_group(
        self, info: ClassInfo, name: str, pupils: list[Person], key: str, load: float
    ) -> Group:
        subject = GR_SUBJECTS[key]
        made = group(self.ctx, self.unit, name, "GR", pupils)
        teachers = [self._teach(info, subject.area, load)]
        if info.grade >= 7 and self.ctx.rng.random() < CO_TEACHING_SHARE:
            teachers.append(self._teach(info, "SPEC", 0.04, "Speciallärare/specialpedagog"))
        activity(self.ctx, self.unit, name, [made], gr_syllabus(self.ctx, key), teachers)
        return made

    def _idrott(self, classes: list[ClassInfo]) -> None:
        """Idrott in år 7–9: two classes together, girls and boys apart; a lone class whole."""
        subject = GR_SUBJECTS["IDH"]
        for index in range(0, len(classes), 2):
            pair = classes[index : index + 2]
            label = "/".join(c.group.display_name for c in pair)
            if len(pair) == 1:
                self._teaching_group(pair[0], f"Idh {label}", pair[0].students, "IDH", subject.load)
                continue
            pupils = pair[0].students + pair[1].students
            for sex, word in ((KVINNA, "flickor"), (MAN, "pojkar")):
                chosen = [p for p in pupils if p.sex == sex]
                self._teaching_group(pair[0], f"Idh {label} {word}", chosen, "IDH", subject.load)

    def _sva(self, grade: int, classes: list[ClassInfo]) -> None:
        pupils = [p for c in classes for p in c.students if p.id in self.sva]
        names = [c.group.display_name for c in classes]
        label = "/".join(names) if len(names) <= 3 else f"åk {grade}"
        groups = chunks(pupils, 20)
        for index, members in enumerate(groups, start=1):
            suffix = f" grupp {index}" if len(groups) > 1 else ""
            load = GR_SUBJECTS["SVA"].load
            self._teaching_group(classes[0], f"Sva {label}{suffix}", members, "SVA", load)

    def _languages(self, grade: int, classes: list[ClassInfo]) -> None:
        """Språkval from år 6: pupils choose a modern language, taught across the year group."""
        chosen: dict[str, list[Person]] = {key: [] for key, _ in MODERN_LANGUAGES}
        for info in classes:
            for pupil in info.students:
                draw = self.ctx.rng.random()
                for key, share in MODERN_LANGUAGES:
                    if draw < share:
                        chosen[key].append(pupil)
                        break
                    draw -= share
        for key, pupils in chosen.items():
            subject = GR_SUBJECTS[key]
            groups = chunks(pupils, 28)
            for index, members in enumerate(groups, start=1):
                suffix = f" grupp {index}" if len(groups) > 1 else ""
                name = f"{subject.short} {grade}{suffix}"
                self._teaching_group(classes[0], name, members, key, subject.load)

    def _mentors(self, info: ClassInfo) -> None:
        """Two mentors per class in år 7–9; one year group is also split into mentor groups."""
        candidates = [t for t in self.taught_by[info.group.id] if t.duty.role == "Lärare"]
        ranked = sorted(enumerate(candidates), key=lambda pair: (pair[1].mentor_of, pair[0]))
        mentors = [teacher for _, teacher in ranked[:2]]
        for teacher in mentors:
            self.staffing.make_mentor(teacher, info.group.id, info.group.start)
        if len(mentors) == 2 and info.grade == self.mentor_group_year:
            for teacher, half in zip(mentors, halves(info.students), strict=True):
                name = f"Mentorsgrupp {info.group.display_name} {teacher.duty.signature}"
                made = group(self.ctx, self.unit, name, "GR", half, "Mentor")
                self.staffing.make_mentor(teacher, made.id, made.start)


def teach_grs(ctx: Context, staffing: Staffing, unit: Unit) -> None:
    """Give each anpassad grundskola class a class teacher and class-subject activities."""
    for info in unit.classes:
        teacher = staffing.assign(unit.org, "GRS", 0.75)
        staffing.make_mentor(teacher, info.group.id, info.group.start)
        for key in GRS_SUBJECTS:
            name = f"{GR_SUBJECTS[key].name} {info.group.display_name}"
            activity(ctx, unit, name, [info.group], grs_syllabus(ctx, key), [teacher])
