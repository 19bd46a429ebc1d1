"""The schedule (R8) at the plan level: Novaschem exports and SS 12000 lessons tied to groups.

``tests/integration/test_schedule_rules.py`` keeps a lesson's way through the database (times,
time zones) and a resync's table counts on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

from schoolsync.domain.directory import HeldLessons
from schoolsync.domain.schedule import Lessons
from schoolsync.engine.run import RunResult
from schoolsync.generate import generate_bundle
from tests.builder import school
from tests.conftest import EXAMPLE_BUNDLE, TODAY
from tests.plan.harness import PlanDirectory
from tests.rules import tied
from tests.schedule_builder import SECOND_GUID, Lesson, Schedule, school_with_schedule, two_rows


def run(directory: PlanDirectory, *sources: Path, today: date = TODAY) -> RunResult:
    return directory.sync(*sources, today=today)


def issues(result: RunResult, code: str) -> list[Any]:
    return [i for i in result.issues if i.code == code]


def test_r8_1_an_unknown_signature_is_reported_and_the_lesson_still_reaches_the_group(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("Ma 7A", teachers="ZZQ")])
    result = run(directory, bundle, schedule)
    (problem,) = issues(result, "schedule-unknown-signature")
    assert "'ZZQ'" in problem.message and "1 lesson row (24 dated lessons" in problem.message
    assert len(tied(directory, group="Ma 7A")) == 24


def test_r8_1_a_known_teacher_who_does_not_teach_the_group_is_a_warning(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("Ma 7A", teachers="KAHO,SOEK")])
    result = run(directory, bundle, schedule)
    (problem,) = issues(result, "schedule-teacher-not-in-group")
    assert (
        problem.severity == "warning" and "SOEK" in problem.message and "'Ma 7A'" in problem.message
    )
    assert tied(directory, group="Ma 7A")[0]["teachers"] == ["KAHO", "SOEK"]


def test_r8_2_a_class_lesson_is_tied_to_the_classes_own_subject_group(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("7A", subject="MA")])
    result = run(directory, bundle, schedule)
    assert not issues(result, "schedule-unknown-group")
    lessons = tied(directory, group="Ma 7A")
    assert len(lessons) == 24 and lessons[0]["class"] == "7A"


def test_r8_2_a_class_lesson_whose_subject_group_mixes_classes_is_not_tied(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    outsider = b.student("Liam", "Sjöberg", "201201022389", ids["unit"])
    sv = b.group("Sv 7A/7B", ids["unit"], "Undervisning", [ids["elsa"], ids["omar"], outsider])
    b.activity("Svenska", ids["unit"], [sv], b.syllabus("GRGRSVE01", "SV"), [ids["karin_duty"]])
    schedule = Schedule(lessons=[Lesson("7A", subject="SV")]).write(tmp_path / "s.txt")
    result = run(directory, b.write(tmp_path / "b"), schedule)
    (problem,) = issues(result, "schedule-class-mixed")
    assert "'7A'" in problem.message and "'SV'" in problem.message
    assert tied(directory, subject="SV") == []


def test_r8_2_a_class_lesson_with_no_group_for_its_subject_is_reported(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("7A", subject="EN")])
    result = run(directory, bundle, schedule)
    (problem,) = issues(result, "schedule-class-no-subject-group")
    assert "'EN'" in problem.message and problem.rule == "R8.2"


def test_r8_3_an_unknown_group_is_reported_with_the_nearest_name(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("Slöjd 7A", ids["unit"], "Undervisning", [ids["elsa"]])
    lessons = [Lesson("ma 7A"), Lesson("Ma 7A "), Lesson("Sl?jd 7A"), Lesson("Tyska 9")]
    schedule = Schedule(lessons=lessons).write(tmp_path / "s.txt")
    result = run(directory, b.write(tmp_path / "b"), schedule)
    found = {i.subject: i.message for i in issues(result, "schedule-unknown-group")}
    assert "'Ma 7A' (differs only in upper/lower case)" in found["ma 7A"]
    assert "'Ma 7A' (differs only in spaces)" in found["Ma 7A "]
    assert "'Slöjd 7A' (has å/ä/ö damaged by a wrong character encoding)" in found["Sl?jd 7A"]
    assert "nearest" not in found["Tyska 9"]
    assert len(directory.export()["lessons"]) == 0


def test_r8_3_a_signature_from_another_unit_is_named(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    other = b.unit("Söderskolan", "99990202")
    b.duty(ids["karin"], other, "Lärare", "KHO")  # the directory keeps KHO (R4.3)
    schedule = Schedule(lessons=[Lesson("Ma 7A", teachers="KAHO")]).write(tmp_path / "s.txt")
    result = run(directory, b.write(tmp_path / "b"), schedule)
    (problem,) = issues(result, "schedule-unknown-signature")
    assert "another unit" in problem.message and "KHO" in problem.message


def test_rows_that_make_no_sense_are_reported_and_skipped(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    lessons = [
        Lesson("Ma 7A"),
        Lesson("Ma 7A", day="7", start="0:00", length="2210"),
        Lesson("Ma 7A", length="3000"),
        Lesson("Ma 7A", weeks="27-30"),
        Lesson("Ma 7A", weeks="x-y"),
        Lesson("", weeks="35"),
    ]
    _, _, bundle, schedule = school_with_schedule(tmp_path, lessons)
    result = run(directory, bundle, schedule)
    bad = issues(result, "schedule-bad-row")
    assert len(bad) == 5 and result.status == "applied"
    assert any("'7'" in i.message and "line" in i.message and "Lesson (7100)" in i.message
               for i in bad)  # fmt: skip
    assert any("outside the school year" in i.message for i in bad)
    assert len(tied(directory, group="Ma 7A")) == 24


def test_a_lesson_with_a_period_and_no_weeks_uses_the_periods_calendar(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(
        tmp_path, [Lesson("Ma 7A", period="Ht", day="Onsdag")]
    )
    run(directory, bundle, schedule)
    lessons = tied(directory, group="Ma 7A")
    assert len(lessons) == 18  # Wednesdays from 20 Aug to 17 Dec
    assert lessons[0]["start"].startswith("2025-08-20") and lessons[-1]["start"].startswith(
        "2025-12-17"
    )


def test_co_teaching_signatures_and_several_groups_in_one_cell(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(
        tmp_path, [Lesson("Ma 7A,7A", teachers="KAHO,SOEK")]
    )
    run(directory, bundle, schedule)
    assert len(tied(directory, group="Ma 7A", teachers=["KAHO", "SOEK"])) == 48


def test_cp1252_and_utf8_exports_keep_swedish_names_exactly(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("Slöjd 7A", ids["unit"], "Undervisning", [ids["elsa"]])
    bundle = b.write(tmp_path / "b")
    cp = Schedule(lessons=[Lesson("Slöjd 7A", weeks="35")]).write(tmp_path / "cp.txt")
    assert "Slöjd".encode("cp1252") in cp.read_bytes()
    result = run(directory, bundle, cp)
    assert result.sources[1]["encoding"] == "cp1252"
    assert tied(directory)[0]["group"] == "Slöjd 7A"
    utf = Schedule(lessons=[Lesson("Slöjd 7A", weeks="35")], school_id="X").write(
        tmp_path / "utf.txt", "utf-8-sig"
    )
    result = run(directory, bundle, utf)
    assert result.sources[1]["encoding"] == "utf-8 with BOM"
    assert [x["group"] for x in tied(directory)] == ["Slöjd 7A", "Slöjd 7A"]


def test_a_changed_schedule_changes_only_future_lessons_that_changed(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(
        tmp_path, [Lesson("Ma 7A"), Lesson("Ma 7A", day="Fredag")]
    )
    run(directory, bundle, schedule)
    changed = Schedule(lessons=[Lesson("Ma 7A", start="9:15"),
                                Lesson("Ma 7A", day="Fredag", weeks="34-43")])  # fmt: skip
    result = run(directory, bundle, changed.write(tmp_path / "changed.txt"))
    # Today is Wednesday 2025-10-15 (week 42): Monday lessons from week 43 on move
    # (1 + 7 + 7 = 15); Friday lessons after week 43 are gone from the schedule (7 + 7 = 14).
    assert result.changes["lessons"] == {"created": 0, "moved": 15, "cancelled": 0,
                                         "removed": 14, "updated": 0}  # fmt: skip
    lessons = tied(directory, group="Ma 7A")
    assert len(lessons) == 48  # nothing deleted
    mondays = [x["start"] for x in lessons if date.fromisoformat(x["start"][:10]).weekday() == 0]
    assert all(("T08:10" in s) == (s < "2025-10-15") for s in mondays)  # the past is history
    assert sum(x["cancelled"] for x in lessons) == 14


def test_a_register_only_run_leaves_the_lessons_as_they_are(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, [Lesson("Ma 7A")])
    run(directory, bundle, schedule)
    before = directory.export()["lessons"]
    result = run(directory, bundle, today=date(2025, 10, 20))
    assert not any(result.changes["lessons"].values())
    assert directory.export()["lessons"] == before


def test_ss12000_calendar_events_keep_cancellations_substitutes_and_rooms(
    directory: PlanDirectory,
) -> None:
    result = run(directory, EXAMPLE_BUNDLE, today=date(2025, 9, 1))
    assert result.changes["lessons"]["created"] == 6
    lessons = directory.export()["lessons"]
    cancelled = [x for x in lessons if x["cancelled"]]
    assert len(cancelled) == 1 and cancelled[0]["group"] == "Matematik 7A"
    substitute = next(x for x in lessons if x["start"] == "2025-09-09T09:00:00+02:00")
    assert substitute["teachers"] == ["MIST"]  # JOBE is away, MIST stands in
    assert {x["room"] for x in lessons} >= {"B201", "Aulan"}


def _rows_asked(monkeypatch: Any) -> list[str]:
    """Every source key whose whole row a plan asks the directory for."""
    asked: list[str] = []
    rows = HeldLessons.rows

    def noting(self: HeldLessons, keys: Any) -> Any:
        asked.extend(keys)
        return rows(self, keys)

    monkeypatch.setattr(HeldLessons, "rows", noting)
    return asked


def test_r8_a_resync_tells_unchanged_lessons_by_their_digests_and_reads_only_changed_rows(
    directory: PlanDirectory, tmp_path: Path, monkeypatch: Any
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, two_rows())
    run(directory, bundle, schedule)
    asked = _rows_asked(monkeypatch)
    again = run(directory, bundle, schedule)
    assert not any(again.changes["lessons"].values()) and asked == []
    moved = Schedule(lessons=two_rows(start="13:00")).write(tmp_path / "moved.txt")
    result = run(directory, bundle, moved)
    assert result.changes["lessons"]["moved"] == 15  # the second row's lessons still to come
    assert len(asked) == 15 and all(key.startswith(SECOND_GUID) for key in asked)
    asked.clear()
    assert not any(run(directory, bundle, moved).changes["lessons"].values()) and asked == []


def test_r8_lessons_written_before_digests_get_theirs_with_no_change_logged(
    directory: PlanDirectory, tmp_path: Path, monkeypatch: Any
) -> None:
    _, _, bundle, schedule = school_with_schedule(tmp_path, two_rows())
    run(directory, bundle, schedule)
    directory.state.lessons = {
        k: replace(row, digest=None) for k, row in directory.state.lessons.items()
    }
    upgraded = run(directory, bundle, schedule)
    assert not any(upgraded.changes["lessons"].values())
    future = [r for r in directory.state.lessons.values() if r.start.date() >= TODAY]
    assert len(future) == 30 and all(row.digest is not None for row in future)  # history is kept
    asked = _rows_asked(monkeypatch)
    assert not any(run(directory, bundle, schedule).changes["lessons"].values()) and asked == []


def test_r8_a_timetable_row_planned_at_once_gives_what_its_lessons_one_by_one_give(
    tmp_path: Path, monkeypatch: Any
) -> None:
    # A Novaschem row's dated lessons are tied once per group and made straight into values;
    # planning them one dated lesson at a time must give the same lessons and the same issues
    # (their counts of lesson rows and dated lessons included).
    summary = generate_bundle(tmp_path / "g", "tiny", seed=5, today=TODAY)
    sources = [tmp_path / "g", *summary.schedules]

    def planned() -> tuple[list[Any], list[tuple[str, str]]]:
        directory = PlanDirectory()
        result = directory.sync(*sources, allow_mass_changes=True)
        state = directory.state
        names = {g.id: g.name for g in state.groups.values()}
        names.update((school.id, school.name) for school in state.schools.values())
        lessons = sorted(  # each run makes ids of its own: by names, without ids or digests
            (
                replace(
                    row,
                    id="",
                    digest=None,
                    school_id=names.get(row.school_id or ""),
                    group_id=names.get(row.group_id or ""),
                    class_id=names.get(row.class_id or ""),
                )
                for row in state.lessons.values()
            ),
            key=lambda r: (r.source, r.source_key),
        )
        return lessons, sorted((i.code, i.message) for i in result.issues)

    at_once = planned()
    monkeypatch.setattr(Lessons, "parts", lambda self: list(self))  # one dated lesson at a time
    one_by_one = planned()
    assert len(at_once[0]) > 1000 and any("dated lesson" in m for _, m in at_once[1])
    assert at_once == one_by_one
