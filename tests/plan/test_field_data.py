"""SS 12000 data as real producers write it, at the plan level: what is taken, what is reported,
what is dropped.

Producers depart from the schema (Skolverket's DNP profile, the demo-sis mock server, see
``tests/data/samples``). A departure that can be read safely is read and reported once per run
(``assumed-value``, info); an unreadable part of an optional list is dropped with an issue
(``invalid-element``) and the record kept; a record whose required parts cannot be read is
skipped (``invalid-record``). ``tests/integration/test_field_data.py`` keeps, on SQLite and
PostgreSQL, dates outside what the directory stores and some real samples through the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schoolsync.domain.issues import Issue
from schoolsync.errors import SchoolsyncError
from tests.builder import PNR, Bundle, school, uid
from tests.plan.harness import PlanDirectory
from tests.rules import find
from tests.samples import (
    ENDPOINTS,
    SAMPLE_NAMES,
    SAMPLES,
    postman_bodies,
    sample_bundles,
    skolverket_bundles,
)


def of(issues: list[Issue], code: str) -> list[Issue]:
    return [i for i in issues if i.code == code]


def roles(user: dict[str, Any]) -> set[tuple[str, str, bool]]:
    return {(s["school"], s["role"], s["active"]) for s in user["schools"]}


# --- 1. organisations without organisationType -------------------------------------------------


def test_r4_2_an_organisation_without_type_but_with_a_school_unit_code_is_a_school_unit(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b = Bundle()
    north = b.unit("Norrskolan", "99990101")
    south = b.unit("Söderskolan", "99990102")
    for org in b.organisations:
        del org["organisationType"]
    b.student("Elsa", "Lund", PNR[0], north)
    b.student("Omar", "Nilsson", PNR[1], south)
    result = directory.sync(b.write(tmp_path / "a"))

    assert result.status == "applied"
    assert {s["name"] for s in directory.export()["schools"]} == {"Norrskolan", "Söderskolan"}
    assert roles(directory.user(PNR[0])) == {("Norrskolan", "student", True)}
    assumed = of(result.issues, "assumed-value")
    assert len(assumed) == 1, [i.message for i in assumed]
    assert "organisationType" in assumed[0].message and "2 organisation" in assumed[0].message
    assert "Skolenhet" in assumed[0].message
    assert assumed[0].severity == "info" and assumed[0].rule == "R9"


def test_r4_2_an_organisation_without_type_or_school_unit_code_feeds_no_school(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b = Bundle()
    unit = b.unit("Norrskolan", "99990101")
    b.organisations.append({"id": uid("org", "owner"), "displayName": "Kommunen"})
    b.student("Elsa", "Lund", PNR[0], unit)
    result = directory.sync(b.write(tmp_path / "a"))

    assert [s["name"] for s in directory.export()["schools"]] == ["Norrskolan"]
    assumed = of(result.issues, "assumed-value")
    assert len(assumed) == 1 and "1 organisation" in assumed[0].message
    assert "Övrigt" in assumed[0].message


# --- 2. no startDate ---------------------------------------------------------------------------


def test_r9_enrolments_groups_and_duties_without_start_date_start_open_reported_once_per_kind(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    for person in b.persons:
        for enrolment in person.get("enrolments", []):
            del enrolment["startDate"]
    for group in b.groups:
        del group["startDate"]
    for duty in b.duties:
        del duty["startDate"]
    result = directory.sync(b.write(tmp_path / "a"))

    assert result.status == "applied"
    assert not of(result.issues, "invalid-record")
    elsa = directory.user(PNR[0])
    assert roles(elsa) == {("Norrskolan", "student", True)}
    assert elsa["schools"][0]["start_date"] is None
    assert roles(directory.user(PNR[5])) == {("Norrskolan", "teacher", True)}
    export = directory.export()
    assert {s["civic_no"] for s in find(export, "classes", "7A")["students"]} == {PNR[0], PNR[1]}
    assert find(export, "groups", "Ma 7A")["teachers"] == ["KAHO"]
    assumed = sorted(i.message for i in of(result.issues, "assumed-value"))
    assert len(assumed) == 3, assumed
    assert any("2 enrolment" in m and "startDate" in m for m in assumed)
    assert any("2 group" in m and "startDate" in m for m in assumed)
    assert any("2 dut" in m and "startDate" in m for m in assumed)


# --- 3. enum values in another case ------------------------------------------------------------


def test_r9_enum_values_in_another_case_are_read_as_the_standard_spelling_reported_per_field(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    for group in b.groups:
        if group["groupType"] == "Undervisning":
            group["groupType"] = "UNDERVISNING"
    b.group("Sv 7A", ids["unit"], "undervisning", [ids["elsa"]])
    for duty in b.duties:
        if duty["dutyRole"] == "Rektor":
            duty["dutyRole"] = "REKTOR"
    hidden = b.student("Hemlig", "Person", PNR[2], ids["unit"])
    b.get(hidden)["securityMarking"] = "skyddad folkbokföring"
    result = directory.sync(b.write(tmp_path / "a"))

    assert not of(result.issues, "invalid-record")
    export = directory.export()
    assert {g["name"] for g in export["groups"]} == {"Ma 7A", "Sv 7A"}
    assert roles(directory.user(PNR[7])) == {("Norrskolan", "staff", True)}
    assert PNR[2] not in {u["civic_no"] for u in export["users"]}  # protected: left out (R11)
    assert len(of(result.issues, "protected-identity-excluded")) == 1
    assumed = {i.message for i in of(result.issues, "assumed-value")}
    assert len(assumed) == 2, assumed  # a marking is never mapped: any but "Ingen" protects
    assert any("groupType" in m and "2 group" in m and "'Undervisning'" in m for m in assumed)
    assert any("dutyRole" in m and "'Rektor'" in m for m in assumed)
    assert not any("Hemlig" in m or "securityMarking" in m for m in assumed)


def test_r9_a_value_outside_the_enum_in_any_case_still_makes_the_record_unreadable(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.group("Klubben", ids["unit"], "Klubb", [ids["elsa"]])
    result = directory.sync(b.write(tmp_path / "a"))
    bad = of(result.issues, "invalid-record")
    assert len(bad) == 1 and "field groupType: Input should be 'Undervisning'" in bad[0].message


# --- 4. an unreadable element of an optional list ----------------------------------------------


def test_r1_1_an_assignment_role_outside_the_enum_drops_that_role_only_not_the_duty(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    duty = next(d for d in b.duties if d["id"] == ids["karin_duty"])
    duty["assignmentRole"] = [
        {"group": {"id": ids["ma7a"]}, "assignmentRoleType": "Lärare"},
        {"group": {"id": ids["7A"]}, "assignmentRoleType": "Mentor"},
    ]
    result = directory.sync(b.write(tmp_path / "a"))

    assert not of(result.issues, "invalid-record")
    assert roles(directory.user(PNR[5])) == {("Norrskolan", "teacher", True)}
    assert find(directory.export(), "classes", "7A")["mentors"] == ["KAHO"]
    dropped = of(result.issues, "invalid-element")
    assert len(dropped) == 1
    assert "duty record 1 of duties.json" in dropped[0].message
    assert "assignmentRole[0]" in dropped[0].message and "assignmentRoleType" in dropped[0].message
    assert dropped[0].severity == "warning"


def test_r1_1_unreadable_emails_phone_numbers_and_identifiers_are_dropped_the_person_kept(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    elsa = b.get(ids["elsa"])
    elsa["emails"] = [
        {"value": "elsa@example.invalid", "type": "Skola"},  # not an e-mail type
        {"value": "elsa.lund@skola.example.invalid", "type": "Skola elev"},
    ]
    elsa["phoneNumbers"] = [{"value": "070-000 00 00", "type": "Hem"}]  # mobile is required
    elsa["externalIdentifiers"] = [{"value": "abc"}, "x"]
    elsa["addresses"] = "Storgatan 1"  # not a list at all
    result = directory.sync(b.write(tmp_path / "a"))

    assert not of(result.issues, "invalid-record")
    user = directory.user(PNR[0])
    assert roles(user) == {("Norrskolan", "student", True)}
    assert user["email"] == "elsa.lund@skola.example.invalid"
    dropped = of(result.issues, "invalid-element")
    assert len(dropped) == 1, [i.message for i in dropped]  # one issue for the record
    text = dropped[0].message
    for part in ("emails[0]", "phoneNumbers[0]", "externalIdentifiers[0]", "addresses"):
        assert part in text, text
    assert "person record 1 of persons.json" in text


def test_r1_1_required_parts_still_make_the_record_unreadable(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    del b.get(ids["omar"])["givenName"]
    b.get(ids["elsa"])["enrolments"][0]["enroledAt"] = None
    result = directory.sync(b.write(tmp_path / "a"))
    bad = sorted(i.message for i in of(result.issues, "invalid-record"))
    assert len(bad) == 2
    assert any("givenName" in m for m in bad) and any("enroledAt" in m for m in bad)


# --- 5. activity teachers given by person ------------------------------------------------------


def test_r9_an_activity_teacher_given_by_person_is_that_persons_duty_at_the_activitys_unit(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.activities[0]["teachers"] = [{"person": {"id": ids["karin"]}}]
    nobody = b.person("Nils", "Ek", PNR[8])  # no duty anywhere
    b.activity("Svenska 7A", ids["unit"], [ids["ma7a"]], None, [])
    b.activities[1]["teachers"] = [{"person": {"id": nobody}}]
    b.activity("Engelska 7A", ids["unit"], [ids["ma7a"]], None, [])
    b.activities[2]["teachers"] = [{"person": {"id": ids["karin"]}}]
    result = directory.sync(b.write(tmp_path / "a"))

    assert not of(result.issues, "invalid-record")
    assert find(directory.export(), "groups", "Ma 7A")["teachers"] == ["KAHO"]
    assumed = of(result.issues, "assumed-value")
    assert len(assumed) == 1, [i.message for i in assumed]
    assert "3 activity teacher" in assumed[0].message and "person" in assumed[0].message
    unresolved = [i for i in of(result.issues, "unknown-reference") if nobody in i.message]
    assert len(unresolved) == 1 and "no duty" in unresolved[0].message


def test_r9_an_activity_teacher_by_person_with_two_duties_at_the_unit_is_reported(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.duty(ids["karin"], ids["unit"], "Förstelärare", "KAHO")
    b.activities[0]["teachers"] = [{"person": {"id": ids["karin"]}}]
    result = directory.sync(b.write(tmp_path / "a"))
    assert find(directory.export(), "groups", "Ma 7A")["teachers"] == []
    unresolved = [i for i in of(result.issues, "unknown-reference") if "2 duties" in i.message]
    assert len(unresolved) == 1


# --- 6. calendar events of an unreadable activity ----------------------------------------------


def test_r8_calendar_events_of_an_unreadable_activity_say_that_it_cannot_be_read(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    activity = b.activities[0]
    activity["displayName"] = 42
    folder = b.write(tmp_path / "a")
    event = {
        "id": uid("event", 1),
        "activity": {"id": activity["id"]},
        "startTime": "2025-10-20T08:00:00+02:00",
        "endTime": "2025-10-20T09:00:00+02:00",
    }
    (folder / "calendarEvents.json").write_text(json.dumps({"data": [event]}), encoding="utf-8")
    result = directory.sync(folder)

    about = [i for i in result.issues if activity["id"] in i.message and "calendar" in i.message]
    assert len(about) == 1
    assert "cannot be read" in about[0].message
    assert "not in activities.json" not in about[0].message


# --- both reading paths ------------------------------------------------------------------------


def _messages(issues: list[Issue], *codes: str) -> list[str]:
    return sorted(i.message for i in issues if i.code in codes)


def test_r1_1_a_file_with_a_broken_record_gives_the_same_assumptions_and_drops_as_a_clean_one(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    for person in b.persons:
        for enrolment in person.get("enrolments", []):
            del enrolment["startDate"]
    b.get(ids["elsa"])["emails"] = [{"value": "x@example.invalid", "type": "Skola"}]
    b.get(ids["omar"])["sex"] = "MAN"
    clean = directory.sync(b.write(tmp_path / "a"))
    b.persons.append({"id": uid("person", "broken"), "givenName": 42})  # forces record by record
    broken = directory.sync(b.write(tmp_path / "b"))

    codes = ("assumed-value", "invalid-element")
    assert _messages(broken.issues, *codes) == _messages(clean.issues, *codes)
    assert len(_messages(clean.issues, *codes)) == 3
    assert len(of(broken.issues, "invalid-record")) == 1


# --- 7. the samples (dates outside what the directory stores: tests/integration) ------------


def test_every_sample_keeps_its_licence_and_source_note() -> None:
    for sample in ("skolverket-dnp", "demo-sis"):
        readme = (SAMPLES / sample / "README.md").read_text(encoding="utf-8")
        assert "licence" in readme and "source repository" in readme
    assert "Apache License" in (SAMPLES / "skolverket-dnp" / "LICENSE").read_text(encoding="utf-8")
    assert "MIT" in (SAMPLES / "demo-sis" / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_a_real_sample_syncs_with_issues_or_fails_naming_its_file_and_a_second_sync_is_a_no_op(
    name: str, directory: PlanDirectory, tmp_path: Path
) -> None:
    bundle = sample_bundles(tmp_path)[name]
    try:  # anything but a SchoolsyncError would be an internal error: the test fails
        first = directory.sync(bundle)
    except SchoolsyncError:
        err = directory.stopped(bundle)  # what the CLI says: a sentence naming the file
        assert any(f"{f.name}:" in err for f in bundle.glob("*.json")), err
        assert len(err.strip().splitlines()) <= 3, err
        assert isinstance(directory.export(), dict)
        return
    report = first.as_report()
    assert report["status"] == "applied", report
    changes = directory.sync(bundle).as_report()["changes"]
    assert all(n == 0 for kind in changes.values() for n in kind.values()), changes
    assert isinstance(directory.export(), dict)


def test_demo_sis_minimal_keeps_every_duty_and_activity_and_says_why_staff_are_not_linked(
    directory: PlanDirectory,
) -> None:
    result = directory.sync(SAMPLES / "demo-sis" / "minimal")
    assert result.status == "applied"
    assert not of(result.issues, "invalid-record")  # 5 duties and 7 activities were lost before
    dropped = of(result.issues, "invalid-element")
    assert len(dropped) == 5 and all("assignmentRoleType" in i.message for i in dropped)
    assumed = [i.message for i in of(result.issues, "assumed-value")]
    assert any("activity teacher" in m for m in assumed), assumed
    # The duties are placed on the Skola, the activities on the Skolenhet: no duty to resolve to.
    assert of(result.issues, "unknown-unit")
    assert not any("not in activities.json" in i.message for i in result.issues)


def test_demo_sis_lotr_says_for_each_teacher_by_person_why_no_duty_was_found(
    directory: PlanDirectory,
) -> None:
    result = directory.sync(SAMPLES / "demo-sis" / "lotr")
    assert result.status == "applied"
    assert not of(result.issues, "invalid-record")  # 49 activities were lost before
    unresolved = [
        i.message for i in of(result.issues, "unknown-reference") if "as teacher" in i.message
    ]
    assert unresolved and all("has no duty there (only at Rivendell" in m for m in unresolved)


def test_skolverket_ingest_records_out_of_their_wrapper_are_read_with_assumptions(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    bodies = postman_bodies(SAMPLES / "skolverket-dnp" / "Ref-api.postman_collection.json", "PUT")
    folder = tmp_path / "unwrapped"
    folder.mkdir()
    for endpoint in ENDPOINTS:  # the records unchanged; only {"persons": [...]} becomes [...]
        records = json.loads(bodies[endpoint])[endpoint]
        (folder / f"{endpoint}.json").write_text(json.dumps(records), encoding="utf-8")
    result = directory.sync(folder)

    assert result.status == "applied"
    assert not of(result.issues, "invalid-record")
    assert [s["name"] for s in directory.export()["schools"]] == ["Wilhelm Test"]
    assumed = " ".join(i.message for i in of(result.issues, "assumed-value"))
    assert "organisationType" in assumed and "groupType" in assumed and "startDate" in assumed
    dropped = of(result.issues, "invalid-element")
    assert len(dropped) == 1 and "assignmentRole" in dropped[0].message  # "REKTOR", not a list
    assert of(result.issues, "invalid-civic-no")  # the standard's own example number


def test_the_samples_in_the_test_data_are_the_shared_ones_unchanged() -> None:
    shared = Path("/work/shared/samples")
    if not shared.is_dir():
        pytest.skip("the shared samples are not on this machine")
    for ours in SAMPLES.rglob("*"):
        if ours.is_file():
            theirs = shared / ours.relative_to(SAMPLES)
            assert theirs.read_bytes() == ours.read_bytes(), ours


def test_skolverket_bodies_as_they_are_wrapped_or_single_are_read_with_one_assumption_each(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    bundle = skolverket_bundles(tmp_path)["postman-put"]
    report = directory.sync(bundle).as_report()
    shapes = [i for i in report["issues"] if "is not in the SS 12000 page shape" in i["message"]]
    assert {i["subject"] for i in shapes} >= {"persons.json", "organisations.json"}
    assert any('a list under "persons"' in i["message"] for i in shapes)
    assert report["changes"]["schools"]["created"] >= 1
