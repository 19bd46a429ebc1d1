"""Tying a schedule's lessons to groups and teachers, exactly as R8 says, and explaining misses.

R8.1: a lesson is tied to the teaching group whose name is EXACTLY the lesson's group, and to the
teachers whose signature is EXACTLY the lesson's. R8.2: a lesson may name a class instead; it is
tied to the teaching group with exactly the lesson's subject whose students all belong to that
class. Anything else is explained (R8.3), with the nearest name when only case, spacing,
punctuation or a damaged å/ä/ö stands in the way.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from schoolsync.domain.near import describe_near, near_matches
from schoolsync.domain.schedule import DatedLesson
from schoolsync.engine.plan.view import DirectoryView, GroupInfo

GROUP_KINDS = ("group", "mentor", "other")


@dataclass(frozen=True, slots=True)
class Tie:
    """Where a lesson goes: its group (and class, R8.2), or why it goes nowhere."""

    school_id: str | None
    group_id: str | None = None
    class_id: str | None = None
    problem: str | None = None


@dataclass
class Finding:
    """One kind of miss for one name, gathered over all the lessons it concerns."""

    code: str
    subject: str
    school_id: str | None
    detail: str = ""
    rows: set[str] = field(default_factory=set)
    lessons: int = 0


class Linker:
    """Ties lessons of one run; remembers every miss to report it once per name."""

    def __init__(self, view: DirectoryView) -> None:
        self.view = view
        self.findings: dict[tuple[str, str, str | None, str], Finding] = {}
        self._cache: dict[tuple[str | None, str, str | None], Tie] = {}
        self._by_school: dict[str | None, list[GroupInfo]] = defaultdict(list)
        for group in view.groups.values():
            self._by_school[group.school_id].append(group)

    def note(self, code: str, subject: str, school: str | None, lesson: DatedLesson,
             detail: str = "", count: int = 1) -> None:  # fmt: skip
        """Remember a miss for the report (of ``count`` dated lessons of the lesson's row)."""
        key = (code, subject, school, detail)
        finding = self.findings.get(key)
        if finding is None:
            finding = self.findings[key] = Finding(code, subject, school, detail)
        finding.rows.add(lesson.where)
        finding.lessons += count

    def school_for(self, code: str | None, name: str | None) -> str | None:
        """The directory school of a schedule file, from its SchoolID or School head value."""
        for key in (code, name):
            if key and key.lower() in self.view.schools_by_key:
                return self.view.schools_by_key[key.lower()]
        schools = list(self.view.school_names)
        return schools[0] if len(schools) == 1 else None

    # -- R8.1 / R8.2: by name ------------------------------------------------------------------

    def tie_by_name(self, school: str | None, lesson: DatedLesson, count: int = 1) -> Tie:
        """Tie a Novaschem lesson by its group name (R8.1) or class name + subject (R8.2); with
        ``count``, that many dated lessons of its row that are alike but for their dates."""
        key = (school, lesson.group_name, lesson.subject)
        tie = self._cache.get(key)
        if tie is None:
            tie = self._cache[key] = self._tie_by_name(school, lesson)
        if tie.problem:
            self.note(tie.problem, lesson.group_name, tie.school_id, lesson,
                      lesson.subject or "", count)  # fmt: skip
        elif tie.group_id:
            self.check_teachers(tie, lesson.teachers, lesson, count)
        return tie

    def _find(self, school: str | None, kinds: tuple[str, ...], name: str) -> list[GroupInfo]:
        schools = [school] if school is not None else list(self._by_school)
        return [
            g
            for s in schools
            for kind in kinds
            if (g := self.view.by_name.get((s, kind, name))) is not None  # type: ignore[arg-type]
        ]

    def _tie_by_name(self, school: str | None, lesson: DatedLesson) -> Tie:
        name = lesson.group_name
        groups = self._find(school, GROUP_KINDS, name)
        if len(groups) == 1:
            return Tie(groups[0].school_id, groups[0].id)
        classes = self._find(school, ("class",), name)
        if len(groups) > 1 or len(classes) > 1:
            return Tie(school, problem="schedule-unknown-group")
        if classes:
            return self._tie_class(classes[0], lesson.subject)
        return Tie(school, problem="schedule-unknown-group")

    def _tie_class(self, klass: GroupInfo, subject: str | None) -> Tie:
        """R8.2: the group with exactly this subject whose students are all in the class."""
        candidates = [
            g
            for g in self._by_school[klass.school_id]
            if g.kind == "group" and subject is not None and g.subject == subject and g.students
        ]
        pure = [g for g in candidates if g.students <= klass.students]
        if pure:
            best = sorted(pure, key=lambda g: (-len(g.students), g.name))[0]
            return Tie(klass.school_id, best.id, klass.id)
        code = "schedule-class-mixed" if candidates else "schedule-class-no-subject-group"
        return Tie(klass.school_id, class_id=klass.id, problem=code)

    # -- teachers ------------------------------------------------------------------------------

    def check_teachers(
        self, tie: Tie, signatures: tuple[str, ...], lesson: DatedLesson, count: int = 1
    ) -> None:
        """R8.1: each signature must be a known teacher's, and that teacher should teach it."""
        group = self.view.groups[tie.group_id or ""]
        for signature in signatures:
            users = self.view.signature_users.get(signature)
            if not users:
                self.note("schedule-unknown-signature", signature, tie.school_id, lesson,
                          count=count)  # fmt: skip
            elif users.isdisjoint(group.teachers):
                self.note("schedule-teacher-not-in-group", signature, tie.school_id, lesson,
                          group.name, count)  # fmt: skip

    # -- SS 12000 calendar events: by register id ----------------------------------------------

    def tie_by_id(self, lesson: DatedLesson) -> Tie:
        """Tie an SS 12000 lesson through its activity's group (or the group it generated)."""
        group_id = lesson.group_ids[0]
        generated = self.view.by_register.get(f"gen:{lesson.activity_id}:{group_id}")
        group = generated or self.view.by_register.get(group_id)
        if group is None:
            self.note("schedule-unknown-group", group_id, None, lesson, "register id")
            return Tie(None, problem="schedule-unknown-group")
        if group.kind == "class" and generated is None:
            return Tie(group.school_id, group.id, group.id)
        klass = self.view.by_register.get(group_id) if generated else None
        return Tie(group.school_id, group.id, klass.id if klass else None)

    # -- the report ----------------------------------------------------------------------------

    def names_at(self, school: str | None) -> list[str]:
        """Every group and class name at a school (all schools when unknown)."""
        if school is None:
            return [g.name for g in self.view.groups.values()]
        return [g.name for g in self._by_school.get(school, [])]

    def signature_hint(self, signature: str) -> str:
        """Near signatures: another case or spacing, or a signature used on another unit."""
        near, _ = near_matches(signature, self.view.signature_users)
        parts = [f"{name!r} ({why})" for name, why in near]
        other_unit = self.view.unit_signatures.get(signature)
        if other_unit:
            holders = {self.view.user_signature.get(u, "") for u in other_unit} - {""}
            parts.append(
                f"it is this teacher's signature on another unit, but the directory uses "
                f"{', '.join(sorted(holders)) or 'another one'} (R4.3)"
            )
        return ("Near match: " + "; ".join(parts) + ".") if parts else ""

    def group_hint(self, name: str, school: str | None) -> str:
        """The near names of a group or class at a school."""
        return describe_near(name, self.names_at(school))
