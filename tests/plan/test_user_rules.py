"""The user rules (R1–R4) at the plan level: register bundle → plan → the directory in memory.

Each test is named after the rule it checks and asserts what an administrator would see in the
directory export or the run report. ``tests/integration/test_user_rules.py`` keeps the ones that
need the database (hand edits, table counts, the unique-key swap) on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from schoolsync.domain.settings import Settings
from tests.builder import PNR, Bundle, school, with_contact
from tests.conftest import TODAY, without_ids
from tests.plan.harness import PlanDirectory


def codes(result: object) -> list[str]:
    return [i.code for i in result.issues]  # type: ignore[attr-defined]


def roles(user: dict[str, object]) -> set[tuple[str, str, bool]]:
    return {(s["school"], s["role"], s["active"]) for s in user["schools"]}  # type: ignore[attr-defined, index]


def test_r1_1_users_are_created_and_matched_by_civic_no(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    result = directory.sync(b.write(tmp_path / "a"))
    assert result.changes["users"]["created"] == 5
    first_ids = {u["civic_no"]: u["id"] for u in directory.export()["users"]}
    b2 = b.copy()
    for p in b2.persons:  # the register gives everyone new register ids: civic no still matches
        p["id"] = p["id"][::-1]
    for d in b2.duties:
        d["person"]["id"] = d["person"]["id"][::-1]
    for p in b2.persons:
        for r in p.get("responsibles", []):
            r["person"]["id"] = r["person"]["id"][::-1]
    directory.sync(b2.write(tmp_path / "b"))
    assert {u["civic_no"]: u["id"] for u in directory.export()["users"]} == first_ids


def test_r1_1_short_and_separated_civic_no_forms_are_stored_as_12_digits(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b = Bundle()
    unit = b.unit("Norrskolan", "99990101")
    b.student("Elsa", "Lund", "120101-2380", unit)
    b.student("Omar", "Nilsson", "20120101-2398", unit)
    directory.sync(b.write(tmp_path / "a"))
    assert {u["civic_no"] for u in directory.export()["users"]} == {PNR[0], PNR[1]}


def test_r1_1_invalid_civic_no_is_reported_and_only_that_person_skipped(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    unit = b.organisations[0]["id"]
    b.student("Vera", "Fel", "201201012381", unit)  # check digit wrong
    result = directory.sync(b.write(tmp_path / "a"))
    assert codes(result).count("invalid-civic-no") == 1
    issue = next(i for i in result.issues if i.code == "invalid-civic-no")
    assert "201201012381" not in issue.message and "20120101-****" in issue.message
    assert issue.rule == "R1.1" and issue.severity == "error"
    assert len(directory.export()["users"]) == 5


def test_r1_1_tf_number_and_samordningsnummer_are_users(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b = Bundle()
    unit = b.unit("Norrskolan", "99990101")
    b.student("Noah", "Karlsson", "20120315TF01", unit)
    b.student("Ana", "Silva", "191500722390", unit)  # test samordningsnummer, month 00
    result = directory.sync(b.write(tmp_path / "a"))
    assert result.changes["users"]["created"] == 2
    assert {u["civic_no"] for u in directory.export()["users"]} == {"20120315TF01", "191500722390"}


def test_r1_2_changed_register_data_updates_the_user(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["elsa"])["familyName"] = "Lund-Berg"
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"]["updated"] == 1
    assert directory.user(PNR[0])["family_name"] == "Lund-Berg"


def test_r1_3_new_civic_no_under_stable_person_id_rekeys_the_same_user(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    old = directory.user(PNR[0])
    b.get(ids["elsa"])["civicNo"]["value"] = PNR[2]
    result = directory.sync(b.write(tmp_path / "b"))
    assert "civic-no-changed" in codes(result)
    assert result.changes["users"] == {"created": 0, "updated": 1, "ended": 0, "reactivated": 0}
    new = directory.user(PNR[2])
    assert new["id"] == old["id"] and new["status"] == "active"
    assert PNR[0] not in {u["civic_no"] for u in directory.export()["users"]}


def test_r1_7_duplicate_civic_no_skips_those_rows_and_keeps_the_existing_user(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ids = school()
    directory.sync(b.write(tmp_path / "a"))
    copy = b.person("Elsa", "Kopia", PNR[0], key="copy")
    b.enrol(copy, b.organisations[0]["id"], start="2025-09-01")
    result = directory.sync(b.write(tmp_path / "b"))
    dup = [i for i in result.issues if i.code == "duplicate-civic-no"]
    assert len(dup) == 1 and dup[0].severity == "error" and PNR[0] not in dup[0].message
    elsa = directory.user(PNR[0])
    assert elsa["family_name"] == "Lund" and elsa["status"] == "active"
    assert result.changes["users"]["ended"] == 0


def test_r2_1_register_data_overwrites_directory_each_sync(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["addresses"] = [
        {"type": "Folkbokföring", "streetAddress": "Björkvägen 3", "locality": "Exempelby",
         "postalCode": "999 98", "country": "Sverige"}
    ]  # fmt: skip
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["elsa"])["addresses"][0]["streetAddress"] = "Ekvägen 9"
    b.get(ids["elsa"])["givenName"] = "Elsa Maria"
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"]["updated"] == 1
    assert directory.user(PNR[0])["given_name"] == "Elsa Maria"


def test_r2_2_email_and_mobile_are_filled_when_the_directory_has_none(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    assert directory.user(PNR[10])["email"] is None
    with_contact(b, ids["lena"], "lena@exempel.invalid", "070-0000001")
    directory.sync(b.write(tmp_path / "b"))
    lena = directory.user(PNR[10])
    assert (lena["email"], lena["mobile"]) == ("lena@exempel.invalid", "070-0000001")


def test_r3_1_passed_end_date_ends_the_link_and_the_user(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["omar"])["enrolments"][0]["endDate"] = "2025-10-10"
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"]["ended"] == 1
    omar = directory.user(PNR[1])
    assert omar["status"] == "ended"
    assert omar["schools"] == [
        {"school": "Norrskolan", "role": "student", "start_date": "2025-08-18",
         "end_date": "2025-10-10", "active": False}
    ]  # fmt: skip


def test_r3_1_future_end_date_ends_nothing_yet(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    b.get(ids["omar"])["enrolments"][0]["endDate"] = "2025-12-19"
    directory.sync(b.write(tmp_path / "a"))
    assert directory.user(PNR[1])["status"] == "active"
    result = directory.sync(b.write(tmp_path / "a"), today=date(2026, 1, 7))
    assert result.changes["users"]["ended"] == 1
    assert directory.user(PNR[1], today=date(2026, 1, 7))["status"] == "ended"


def test_r3_1_person_status_other_than_aktiv_ends_every_link(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["omar"])["personStatus"] = "Utvandrad"
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"]["ended"] == 1
    omar = directory.user(PNR[1])
    assert omar["status"] == "ended"
    assert omar["schools"][0]["end_date"] == "2025-10-14"


def test_r3_1_cancelled_enrolment_ends_the_link(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["omar"])["enrolments"][0]["cancelled"] = True
    directory.sync(b.write(tmp_path / "b"))
    assert directory.user(PNR[1])["status"] == "ended"


def test_r3_1_move_to_a_departure_unit_ends_the_link(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    gone = b.unit("Avgångna elever", "99990999")
    settings = Settings.model_validate({"sync": {"departure_units": ["99990999"]}})
    directory.sync(b.write(tmp_path / "a"), settings=settings)
    b.get(ids["omar"])["enrolments"] = []
    b.enrol(ids["omar"], gone, start="2025-10-01")
    result = directory.sync(b.write(tmp_path / "b"), settings=settings)
    assert result.changes["users"]["ended"] == 1
    export = directory.export()
    assert directory.user(PNR[1])["status"] == "ended"
    assert "Avgångna elever" not in {s["name"] for s in export["schools"]}


def test_r3_1_absence_from_a_full_read_ends_the_user(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] != ids["omar"]]
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"]["ended"] == 1
    assert directory.user(PNR[1])["status"] == "ended"


def test_r3_1_a_record_that_cannot_be_read_is_not_a_person_who_left(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["omar"])["enrolments"][0]["schoolType"] = "XYZ"  # unknown enum
    b.get(ids["omar"])["familyName"] = "Ändrad"
    result = directory.sync(b.write(tmp_path / "b"))
    assert "invalid-record" in codes(result)
    assert result.changes["users"] == {"created": 0, "updated": 0, "ended": 0, "reactivated": 0}
    omar = directory.user(PNR[1])
    assert omar["status"] == "active" and omar["family_name"] == "Nilsson"


def test_r3_1_an_unreadable_record_without_id_stops_absence_endings(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.persons = [p for p in b.persons if p["id"] != ids["omar"]]
    b.persons.append({"givenName": 42})  # no id, wrong type
    result = directory.sync(b.write(tmp_path / "b"))
    assert {"invalid-record", "absence-ending-suspended"} <= set(codes(result))
    assert directory.user(PNR[1])["status"] == "active"


def test_r3_3_a_returning_student_gets_the_same_account_back(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    first = directory.user(PNR[1])
    gone = b.copy()
    gone.persons = [p for p in gone.persons if p["id"] != ids["omar"]]
    directory.sync(gone.write(tmp_path / "b"))
    result = directory.sync(b.write(tmp_path / "a"), today=date(2025, 10, 20))
    assert result.changes["users"]["reactivated"] == 1
    back = directory.user(PNR[1], today=date(2025, 10, 20))
    assert back["id"] == first["id"] and back["status"] == "active"
    assert back["schools"][0]["end_date"] is None


def test_r3_3_moving_school_keeps_the_history_of_the_old_school(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    other = b.unit("Söderskolan", "99990202")
    directory.sync(b.write(tmp_path / "a"))
    omar = b.get(ids["omar"])
    omar["enrolments"][0]["endDate"] = "2025-10-10"
    b.enrol(ids["omar"], other, start="2025-10-13")
    directory.sync(b.write(tmp_path / "b"))
    links = {(s["school"], s["active"], s["end_date"]) for s in directory.user(PNR[1])["schools"]}
    assert links == {("Norrskolan", False, "2025-10-10"), ("Söderskolan", True, None)}


def test_r4_1_a_user_can_belong_to_several_schools(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    other = b.unit("Söderskolan", "99990202")
    b.duty(ids["karin"], other, "Lärare", "KAHO")
    directory.sync(b.write(tmp_path / "a"))
    assert roles(directory.user(PNR[5])) == {
        ("Norrskolan", "teacher", True),
        ("Söderskolan", "teacher", True),
    }


def test_r4_2_one_school_fed_by_several_units(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    fth = b.unit("Norrskolans fritidshem", "99990102", ("FTH",))
    b.enrol(ids["elsa"], fth, school_type="FTH")
    settings = Settings.model_validate(
        {"schools": [{"name": "Norrskolan F-9", "units": ["99990101", "99990102"]}]}
    )
    directory.sync(b.write(tmp_path / "a"), settings=settings)
    export = directory.export()
    assert without_ids(export["schools"]) == [
        {"name": "Norrskolan F-9", "units": ["99990101", "99990102"]}
    ]
    assert roles(directory.user(PNR[0])) == {("Norrskolan F-9", "student", True)}


def test_r4_2_default_is_one_school_per_unit_and_closed_units_are_not_new_schools(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    b.unit("Söderskolan", "99990202")
    b.unit("Gamla skolan", "99990303", endDate="2024-06-30")
    directory.sync(b.write(tmp_path / "a"))
    names = [s["name"] for s in directory.export()["schools"]]
    assert names == ["Norrskolan", "Söderskolan"]


def test_staff_duty_makes_teacher_with_signature_or_staff(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    directory.sync(b.write(tmp_path / "a"))
    karin, sofia = directory.user(PNR[5]), directory.user(PNR[7])
    assert karin["schools"][0]["role"] == "teacher" and karin["signature"] == "KAHO"
    assert sofia["schools"][0]["role"] == "staff"


def test_guardian_is_linked_at_the_students_schools_for_as_long_as_the_student(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    fth = b.unit("Norrskolans fritidshem", "99990102", ("FTH",))
    b.enrol(ids["elsa"], fth, school_type="FTH", end="2026-06-12")
    directory.sync(b.write(tmp_path / "a"))
    lena = directory.user(PNR[10])
    assert {(s["school"], s["role"], s["end_date"]) for s in lena["schools"]} == {
        ("Norrskolan", "guardian", None),
        ("Norrskolans fritidshem", "guardian", "2026-06-12"),
    }
    assert directory.user(PNR[0])["guardians"] == [
        {"civic_no": PNR[10], "relation": "Vårdnadshavare", "active": True}
    ]


def test_guardian_who_is_no_longer_named_loses_the_link_but_keeps_the_account(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["elsa"])["responsibles"] = []
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["guardianships"] == {"ended": 1}
    assert directory.user(PNR[10])["status"] == "ended"
    assert directory.user(PNR[0])["guardians"][0]["active"] is False


def test_guardian_keeps_links_while_the_students_record_cannot_be_read(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["elsa"])["sex"] = "okänd"  # not an SS 12000 value: the record is skipped
    result = directory.sync(b.write(tmp_path / "b"))
    assert "invalid-record" in codes(result)
    assert result.changes["users"]["ended"] == 0 and result.changes["guardianships"] == {}
    assert directory.user(PNR[10])["status"] == "active"


def test_person_without_enrolment_duty_or_guardianship_is_not_synced(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    b.person("Ingen", "Koppling", PNR[11])
    directory.sync(b.write(tmp_path / "a"))
    assert PNR[11] not in {u["civic_no"] for u in directory.export()["users"]}


def test_protected_persons_and_links_through_them_are_left_out(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["securityMarking"] = "Skyddad folkbokföring"
    result = directory.sync(b.write(tmp_path / "a"))
    civics = {u["civic_no"] for u in directory.export()["users"]}
    assert PNR[0] not in civics and PNR[10] not in civics  # Elsa and the guardian through her
    assert "protected-identity-excluded" in codes(result)
    assert all("Elsa" not in i.message for i in result.issues)


def test_today_decides_what_is_active(directory: PlanDirectory, tmp_path: Path) -> None:
    b, ids = school()
    b.get(ids["omar"])["enrolments"][0]["startDate"] = "2025-11-01"
    directory.sync(b.write(tmp_path / "a"))
    omar = directory.user(PNR[1])
    assert omar["status"] == "active" and omar["schools"][0]["active"] is False
    assert directory.user(PNR[1], today=date(2025, 11, 1))["schools"][0]["active"] is True
    assert date(2025, 10, 15) == TODAY
