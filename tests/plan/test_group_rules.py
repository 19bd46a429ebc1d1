"""Classes, teaching groups and memberships (R4.3–R4.4, R5, R6, R7) at the plan level.

``tests/integration/test_group_rules.py`` keeps the ones that need the database or the CLI
(platform-first renames, hand-added members, table counts) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from schoolsync.domain.settings import Settings
from tests.builder import PNR, Bundle, school
from tests.plan.harness import PlanDirectory
from tests.rules import codes, find, new_register_id, students


def issue(result: Any, code: str) -> Any:
    return next(i for i in result.issues if i.code == code)


def _class_subject(b: Bundle, ids: dict[str, str]) -> None:
    sv = b.syllabus("GRGRSVE01", "SV", name="Svenska")
    b.activity("Svenska 7A", ids["unit"], [ids["7A"]], sv, [ids["karin_duty"]])


def test_r5_1_classes_and_avdelningar_are_classes_keyed_by_name(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    fth = b.unit("Norrskolans fritidshem", "99990102", ("FTH",))
    b.enrol(ids["elsa"], fth, school_type="FTH")
    b.group("Avdelning Solen", fth, "Avdelning", [ids["elsa"]])
    result = directory.sync(b.write(tmp_path / "a"))
    assert result.changes["classes"]["created"] == 2
    export = directory.export()
    assert [(c["name"], c["school"]) for c in export["classes"]] == [
        ("7A", "Norrskolan"),
        ("Avdelning Solen", "Norrskolans fritidshem"),
    ]
    assert students(find(export, "classes", "7A")) == {PNR[0], PNR[1]}
    assert [g["name"] for g in export["groups"]] == ["Ma 7A"]


def test_r5_2_comma_in_a_class_name_is_an_error_and_the_class_is_not_created(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("8A, 8B", ids["unit"], "Klass", [ids["omar"]])
    result = directory.sync(b.write(tmp_path / "a"))
    problem = issue(result, "class-name-comma")
    assert problem.severity == "error" and problem.rule == "R5.2" and "8A, 8B" in problem.message
    assert result.status == "applied"
    export = directory.export()
    assert "8A, 8B" not in {c["name"] for c in export["classes"]}
    assert find(export, "classes", "7A")["students"]  # the rest of the run went on


def test_r5_3_register_rename_under_the_same_id_keeps_the_class(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.find_group(ids["7A"])["displayName"] = "7A Solrosen"
    result = directory.sync(b.write(tmp_path / "b"))
    assert "group-renamed" in codes(result)
    assert result.changes["classes"]["renamed"] == 1 and result.changes["classes"]["created"] == 0
    assert result.changes["memberships"]["ended"] == 0
    assert [c["name"] for c in directory.export()["classes"]] == ["7A Solrosen"]


def test_r5_3_rename_in_the_wrong_order_archives_the_old_class_and_warns(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    new_register_id(b, ids["7A"], "7B")
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["classes"]["created"] == 1 and result.changes["classes"]["archived"] == 1
    warning = issue(result, "possible-rename")
    assert warning.severity == "warning" and "'7A'" in warning.message and "'7B'" in warning.message
    assert 'schoolsync class rename "7A" "7B" --school "Norrskolan"' in warning.message
    export = directory.export()
    assert find(export, "classes", "7A")["status"] == "archived"
    assert find(export, "classes", "7B")["status"] == "active"


def test_r6_2_group_dates_come_from_its_students(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    b.group("Eng 7", ids["unit"], "Undervisning",
            [(ids["elsa"], "2025-09-01", "2026-01-16"), (ids["omar"], "2025-08-25", None)],
            start="2025-08-18", end="2026-06-12")  # fmt: skip
    b.group("Tom grupp", ids["unit"], "Undervisning", [], start="2025-08-20", end="2025-12-19")
    directory.sync(b.write(tmp_path / "a"))
    export = directory.export()
    eng = find(export, "groups", "Eng 7")
    assert (eng["start_date"], eng["end_date"]) == ("2025-08-25", "2026-06-12")
    empty = find(export, "groups", "Tom grupp")
    assert (empty["start_date"], empty["end_date"]) == ("2025-08-20", "2025-12-19")


def test_r6_3_a_group_name_reused_for_a_new_term_with_new_students_warns(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    old = b.group("Sv 7", ids["unit"], "Undervisning", [ids["elsa"], ids["omar"]],
                  start="2024-08-19", end="2025-06-13", key="sv-old")  # fmt: skip
    directory.sync(b.write(tmp_path / "a"), today=date(2025, 5, 1))
    b.groups = [g for g in b.groups if g["id"] != old]
    newcomer = b.student("Liam", "Sjöberg", PNR[2], ids["unit"])
    b.group("Sv 7", ids["unit"], "Undervisning", [newcomer], key="sv-new")
    result = directory.sync(b.write(tmp_path / "b"))
    warning = issue(result, "group-name-reused")
    assert warning.rule == "R6.3" and "'Sv 7'" in warning.message and "0 of 1" in warning.message
    group = find(directory.export(), "groups", "Sv 7")
    assert students(group) == {PNR[2]} and students(group, active_only=False) == {
        PNR[0], PNR[1], PNR[2]
    }  # fmt: skip


def test_r6_4_a_group_past_its_end_date_is_archived_with_its_members(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ids = school()
    directory.sync(b.write(tmp_path / "a"))
    result = directory.sync(b.write(tmp_path / "a"), today=date(2026, 6, 15))
    assert result.changes["groups"]["archived"] == 1 and result.changes["classes"]["archived"] == 1
    export = directory.export(date(2026, 6, 15))
    ma = find(export, "groups", "Ma 7A")
    assert ma["status"] == "archived" and students(ma, active_only=False) == {PNR[0], PNR[1]}


def test_r6_5_register_naming_makes_a_kla_group_for_a_class_subject_activity(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    _class_subject(b, ids)
    directory.sync(b.write(tmp_path / "a"))
    group = find(directory.export(), "groups", "KLA.7A_SV")
    assert group["subject"] == "SV" and group["teachers"] == ["KAHO"]
    assert students(group) == {PNR[0], PNR[1]}


def test_r6_5_procapita_naming_uses_the_configured_template(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    _class_subject(b, ids)
    settings = Settings.model_validate(
        {"sync": {"group_naming": "procapita", "procapita_template": "KLA.__{class}_{subject}"}}
    )
    directory.sync(b.write(tmp_path / "a"), settings=settings)
    assert "KLA.__7A_SV" in {g["name"] for g in directory.export()["groups"]}


def test_r6_5_ted_naming_follows_the_four_rules(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    _class_subject(b, ids)  # rule 1: KLA.7A_SV
    unit = ids["unit"]
    b.activities = [a for a in b.activities if a["displayName"] != "Matematik 7A"]
    b.activity("Matematik 7A", unit, [ids["ma7a"]], ids["ma"], [ids["karin_duty"]])  # rule 2
    one = b.group("NA25A Ma", unit, "Undervisning", [ids["elsa"]])
    b.activity("Ma1c", unit, [one], b.syllabus("MAT", "MA", "MATMAT01c"), [ids["karin_duty"]])
    two = b.group("NA25A Sv", unit, "Undervisning", [ids["omar"]])
    b.activity("Sv1", unit, [two], b.syllabus("SVE", "SV", "SVESVE01"), [ids["karin_duty"]])
    b.activity("Sv2", unit, [two], b.syllabus("SVE", "SV", "SVESVE02"), [ids["karin_duty"]])
    settings = Settings.model_validate({"sync": {"group_naming": "ted"}})
    directory.sync(b.write(tmp_path / "a"), settings=settings)
    names = {g["name"] for g in directory.export()["groups"]}
    assert names == {
        "KLA.7A_SV",  # 1: class activity
        "Ma 7A__MA",  # 2: subject activity on a teaching group
        "NA25A Ma",  # 3: the only (course) activity on the group
        "NA25A Sv__SVESVE01",  # 4: one of several course activities
        "NA25A Sv__SVESVE02",
    }


def test_r7_1_memberships_carry_dates_and_active(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    b.find_group(ids["ma7a"])["groupMemberships"][1]["endDate"] = "2025-10-01"
    directory.sync(b.write(tmp_path / "a"))
    ma = find(directory.export(), "groups", "Ma 7A")
    omar = next(s for s in ma["students"] if s["civic_no"] == PNR[1])
    assert omar == {"civic_no": PNR[1], "start_date": "2025-08-18", "end_date": "2025-10-01",
                    "active": False}  # fmt: skip


def test_r7_1_a_student_who_leaves_loses_memberships_and_gets_them_back_on_return(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    gone = b.copy()
    gone.get(ids["omar"])["enrolments"][0]["endDate"] = "2025-10-10"
    result = directory.sync(gone.write(tmp_path / "b"))
    assert result.changes["memberships"]["ended"] == 2  # 7A and Ma 7A
    assert PNR[1] not in students(find(directory.export(), "classes", "7A"))
    later = date(2025, 10, 20)
    back = directory.sync(b.write(tmp_path / "a"), today=later)
    assert back.changes["memberships"]["reactivated"] == 2
    assert PNR[1] in students(find(directory.export(later), "classes", "7A"))


def test_r7_2_teachers_join_groups_through_their_signature(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    directory.sync(b.write(tmp_path / "a"))
    assert find(directory.export(), "groups", "Ma 7A")["teachers"] == ["KAHO"]


def test_r4_3_different_signatures_on_two_units_warn_and_the_last_unit_wins(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    other = b.unit("Söderskolan", "99990202")
    b.duty(ids["karin"], other, "Lärare", "KHO")
    result = directory.sync(b.write(tmp_path / "a"))
    warning = issue(result, "signature-conflict")
    assert "KAHO on 99990101" in warning.message and "KHO on 99990202" in warning.message
    karin = directory.user(PNR[5])
    assert karin["signature"] == "KHO"  # 99990202 comes last in unit order


def test_r4_4_two_people_sharing_a_signature_in_one_school_link_nobody(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    twin = b.person("Kalle", "Holmberg", PNR[6])
    b.duty(twin, ids["unit"], "Lärare", "KAHO")
    result = directory.sync(b.write(tmp_path / "a"))
    error = issue(result, "signature-duplicate")
    assert (
        error.severity == "error" and "KAHO" in error.message and "Kalle Holmberg" in error.message
    )
    assert find(directory.export(), "groups", "Ma 7A")["teachers"] == []


def test_r7_3_mentors_come_from_mentor_assignments_unless_the_school_says_none(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.mentor(ids["karin_duty"], ids["7A"])
    directory.sync(b.write(tmp_path / "a"))
    assert find(directory.export(), "classes", "7A")["mentors"] == ["KAHO"]
    settings = Settings.model_validate(
        {"schools": [{"name": "Norrskolan", "units": ["99990101"], "mentor_source": "none"}]}
    )
    result = directory.sync(b.write(tmp_path / "a"), settings=settings)
    assert result.changes["schools"] == {"updated": 1}  # the same school, now configured
    assert result.changes["memberships"]["ended"] == 1
    assert find(directory.export(), "classes", "7A")["mentors"] == []


def test_group_subject_and_course_come_from_the_activity_syllabus(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    course = b.group("Ma1c NA25", ids["unit"], "Undervisning", [ids["elsa"]])
    b.activity("Ma1c", ids["unit"], [course], b.syllabus("MAT", None, "MATMAT01c"))
    directory.sync(b.write(tmp_path / "a"))
    export = directory.export()
    assert (
        find(export, "groups", "Ma 7A")["subject"],
        find(export, "groups", "Ma 7A")["course"],
    ) == ("MA", None)
    assert (
        find(export, "groups", "Ma1c NA25")["subject"],
        find(export, "groups", "Ma1c NA25")["course"],
    ) == ("MAT", "MATMAT01c")


def test_two_register_groups_with_one_name_are_both_skipped(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.group("Ma 7A", ids["unit"], "Undervisning", [ids["omar"]], key="twin")
    result = directory.sync(b.write(tmp_path / "b"))
    assert "duplicate-group-name" in codes(result)
    assert result.changes["groups"] == {"created": 0, "updated": 0, "renamed": 0, "archived": 0}
    assert result.changes["memberships"]["ended"] == 0


def test_r6_3_one_read_with_last_terms_group_under_the_same_name_warns(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    former = b.student("Liam", "Sjöberg", PNR[2], ids["unit"], start="2024-08-19")
    b.group("Ma 7A", ids["unit"], "Undervisning", [(former, "2024-08-19", "2025-06-13")],
            start="2024-08-19", end="2025-06-13", key="ma7a-last-year")  # fmt: skip
    result = directory.sync(b.write(tmp_path / "a"))
    assert "duplicate-group-name" not in codes(result)
    warning = issue(result, "group-name-reused")
    assert "ended on 2025-06-13" in warning.message and "0 of 2" in warning.message
    ma = find(directory.export(), "groups", "Ma 7A")
    assert students(ma) == {PNR[0], PNR[1]} and ma["start_date"] == "2025-08-18"


def test_two_groups_with_one_name_at_the_same_time_are_a_duplicate(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("Ma 7A", ids["unit"], "Undervisning", [ids["omar"]], key="twin")
    result = directory.sync(b.write(tmp_path / "a"))
    assert issue(result, "duplicate-group-name").severity == "error"
    assert "Ma 7A" not in {g["name"] for g in directory.export()["groups"]}
