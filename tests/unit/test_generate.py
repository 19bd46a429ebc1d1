"""Tests of the synthetic SS 12000 bundle generator."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolsync.generate import CLASS_NAME, SIZES, GenerationSummary, generate_bundle
from schoolsync.generate.numbers import PINS_PATH, is_tf_number, luhn_valid

TODAY = date(2025, 10, 1)
Entity = dict[str, Any]
SIGNATURE = re.compile(r"^[A-ZÅÄÖ]{2,4}$")
CIVIC_LIKE = re.compile(r"\d{8}(?:\d{4}|TF\d{2})")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Bundle:
    """A generated bundle read back from disk."""

    summary: GenerationSummary
    organisations: list[Entity]
    persons: list[Entity]
    duties: list[Entity]
    groups: list[Entity]
    activities: list[Entity]
    syllabuses: list[Entity]
    pages: list[dict[str, Any]]

    def by_id(self, kind: str) -> dict[str, Entity]:
        return {entity["id"]: entity for entity in getattr(self, kind)}


def _page(path: Path) -> dict[str, Any]:
    page: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert set(page) == {"data", "pageToken"}
    assert isinstance(page["data"], list)
    return page


def read_bundle(summary: GenerationSummary) -> Bundle:
    root = summary.out_dir
    pages = [_page(path) for path in sorted((root / "persons").glob("*.json"))]
    files = {
        name: _page(root / f"{name}.json")["data"]
        for name in ("organisations", "duties", "groups", "activities", "syllabuses")
    }
    persons = [person for page in pages for person in page["data"]]
    return Bundle(summary, persons=persons, pages=pages, **files)


def generate(tmp: Path, size: str, **options: Any) -> Bundle:
    options.setdefault("today", TODAY)
    return read_bundle(generate_bundle(tmp, size, **options))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return generate(tmp_path_factory.mktemp("small"), "small", seed=7)


@pytest.fixture(scope="module")
def small_clean(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return generate(tmp_path_factory.mktemp("clean"), "small", seed=7, faults=False)


@pytest.fixture(scope="module")
def pins() -> set[str]:
    return set(json.loads(PINS_PATH.read_text(encoding="utf-8")))


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.json"))}


def test_same_arguments_give_identical_files(tmp_path: Path) -> None:
    for name in ("a", "b"):
        generate_bundle(tmp_path / name, "tiny", seed=3, today=TODAY, page_size=20)
    generate_bundle(tmp_path / "c", "tiny", seed=4, today=TODAY, page_size=20)
    first, second, other = (_files(tmp_path / name) for name in ("a", "b", "c"))
    assert first == second
    assert first != other


def test_rerun_into_same_directory_replaces_old_pages(tmp_path: Path) -> None:
    generate_bundle(tmp_path, "tiny", today=TODAY, page_size=10)
    generate_bundle(tmp_path, "tiny", today=TODAY, page_size=1000)
    assert [p.name for p in (tmp_path / "persons").iterdir()] == ["page-0001.json"]


def test_persons_pages_chain(tmp_path: Path) -> None:
    bundle = generate(tmp_path, "tiny", page_size=25)
    tokens = [page["pageToken"] for page in bundle.pages]
    assert len(tokens) > 2
    assert all(isinstance(t, str) and t for t in tokens[:-1])
    assert tokens[-1] is None
    assert len(set(tokens[:-1])) == len(tokens) - 1
    assert all(len(page["data"]) == 25 for page in bundle.pages[:-1])


def test_every_reference_resolves(small: Bundle) -> None:
    orgs, persons = small.by_id("organisations"), small.by_id("persons")
    duties, groups = small.by_id("duties"), small.by_id("groups")
    syllabuses = small.by_id("syllabuses")
    for org in small.organisations:
        assert "parentOrganisation" not in org or org["parentOrganisation"]["id"] in orgs
    for person in small.persons:
        assert all(e["enroledAt"]["id"] in orgs for e in person.get("enrolments", []))
        assert all(r["person"]["id"] in persons for r in person.get("responsibles", []))
    for duty in small.duties:
        assert duty["person"]["id"] in persons and duty["dutyAt"]["id"] in orgs
        assert all(a["group"]["id"] in groups for a in duty.get("assignmentRole", []))
    for group in small.groups:
        assert group["organisation"]["id"] in orgs
        assert all(m["person"]["id"] in persons for m in group["groupMemberships"])
    for activity in small.activities:
        assert activity["organisation"]["id"] in orgs
        assert activity["syllabus"]["id"] in syllabuses
        assert all(g["id"] in groups for g in activity["groups"])
        assert all(t["duty"]["id"] in duties for t in activity["teachers"])


def test_summary_counts_match_disk(small: Bundle, pins: set[str]) -> None:
    summary, persons = small.summary, small.persons
    civic = [p["civicNo"]["value"] for p in persons]
    assert summary.organisations == len(small.organisations)
    assert summary.schools == sum(o["organisationType"] == "Skola" for o in small.organisations)
    assert summary.persons == len(persons)
    assert summary.students == sum(bool(p.get("enrolments")) for p in persons)
    assert summary.staff == len({d["person"]["id"] for d in small.duties})
    guardians = {r["person"]["id"] for p in persons for r in p.get("responsibles", [])}
    assert summary.guardians == len(guardians)
    assert summary.duties == len(small.duties)
    assert summary.groups == len(small.groups)
    assert summary.memberships == sum(len(g["groupMemberships"]) for g in small.groups)
    assert summary.activities == len(small.activities)
    assert summary.syllabuses == len(small.syllabuses)
    assert summary.test_numbers == sum(value in pins for value in civic)
    assert summary.tf_numbers == sum(is_tf_number(value) for value in civic)
    assert summary.school_year_start == date(2025, 8, 18)


def test_small_is_one_school_of_about_500(small: Bundle) -> None:
    types = Counter(o["organisationType"] for o in small.organisations)
    assert types == {"Huvudman": 1, "Skola": 1, "Skolenhet": 2}
    units = [o for o in small.organisations if o["organisationType"] == "Skolenhet"]
    assert sorted(tuple(u["schoolTypes"]) for u in units) == [("FKLASS", "GR"), ("FTH",)]
    assert all(
        u["schoolUnitCode"].startswith("99") and len(u["schoolUnitCode"]) == 8 for u in units
    )
    assert 400 <= small.summary.students <= 600
    assert 5 <= small.summary.students / small.summary.staff <= 11
    assert 1.2 <= small.summary.guardians / small.summary.students <= 1.8


def test_clean_bundle_has_only_valid_unique_numbers(small_clean: Bundle, pins: set[str]) -> None:
    values = [p["civicNo"]["value"] for p in small_clean.persons]
    assert len(values) == len(set(values))
    for person in small_clean.persons:
        value = person["civicNo"]["value"]
        assert value in pins or is_tf_number(value), value
        assert person["birthDate"] == f"{value[:4]}-{value[4:6]}-{value[6:8]}"
        if value in pins:
            assert person["sex"] == ("Man" if int(value[10]) % 2 else "Kvinna")
        assert person["securityMarking"] == "Ingen" and person["personStatus"] == "Aktiv"
        assert not any(e.get("cancelled") for e in person.get("enrolments", []))
    assert small_clean.summary.faults == ()
    assert not any("," in g["displayName"] for g in small_clean.groups if g["groupType"] == "Klass")


def _fault(summary: GenerationSummary, code: str) -> str:
    found = [f for f in summary.faults if f.startswith(f"{code}:")]
    assert len(found) == 1, summary.faults
    return found[0]


def test_faults_are_listed_and_present(small: Bundle) -> None:
    persons = small.by_id("persons")
    values = Counter(p["civicNo"]["value"] for p in small.persons)
    without_ids = [UUID.sub("", fault) for fault in small.summary.faults]
    assert not any(CIVIC_LIKE.search(fault) for fault in without_ids)
    broken = [v for v in values if not is_tf_number(v) and not luhn_valid(v)]
    assert len(broken) == 1
    assert (
        persons[_ids(_fault(small.summary, "invalid-civic-no"))[0]]["civicNo"]["value"] == broken[0]
    )
    twins = _ids(_fault(small.summary, "duplicate-civic-no"))
    assert [v for v, n in values.items() if n > 1] == [persons[twins[0]]["civicNo"]["value"]]
    assert persons[twins[1]]["civicNo"] == persons[twins[0]]["civicNo"]
    hidden, secret = _ids(_fault(small.summary, "protected-identity"))
    assert persons[hidden]["securityMarking"] == "Skyddad folkbokföring"
    for responsible in persons[hidden]["responsibles"]:
        assert persons[responsible["person"]["id"]]["securityMarking"] == "Skyddad folkbokföring"
    assert persons[secret]["securityMarking"] == "Sekretessmarkering"
    tf_pupil = _ids(_fault(small.summary, "tf-number"))[0]
    assert is_tf_number(persons[tf_pupil]["civicNo"]["value"])
    comma = [g for g in small.groups if g["groupType"] == "Klass" and "," in g["displayName"]]
    assert len(comma) == 1 and 2 <= len(comma[0]["groupMemberships"]) <= 6
    assert comma[0]["displayName"] in _fault(small.summary, "class-name-comma")


def _ids(text: str) -> list[str]:
    return UUID.findall(text)


def test_class_names_and_sizes(small: Bundle) -> None:
    classes = [g for g in small.groups if g["groupType"] == "Klass" and "," not in g["displayName"]]
    assert all(CLASS_NAME.match(g["displayName"]) for g in classes)
    sizes = [len(g["groupMemberships"]) for g in classes]
    assert min(sizes) >= 13 and max(sizes) <= 30
    assert 19 <= sum(sizes) / len(sizes) <= 25
    teaching = [
        len(g["groupMemberships"]) for g in small.groups if g["groupType"] == "Undervisning"
    ]
    assert sum(8 <= n <= 32 for n in teaching) / len(teaching) > 0.85


def test_each_pupil_is_in_one_class(small_clean: Bundle) -> None:
    counts = Counter(
        m["person"]["id"]
        for g in small_clean.groups
        if g["groupType"] == "Klass"
        for m in g["groupMemberships"]
    )
    pupils = {p["id"] for p in small_clean.persons if p.get("enrolments")}
    assert set(counts) == pupils
    assert set(counts.values()) == {1}


def test_signatures_unique_per_unit(small_clean: Bundle) -> None:
    per_unit: defaultdict[str, Counter[str]] = defaultdict(Counter)
    signature_of: defaultdict[str, set[str]] = defaultdict(set)
    for duty in small_clean.duties:
        assert SIGNATURE.match(duty["signature"]), duty["signature"]
        per_unit[duty["dutyAt"]["id"]][duty["signature"]] += 1
        signature_of[duty["person"]["id"]].add(duty["signature"])
    assert all(n == 1 for counts in per_unit.values() for n in counts.values())
    assert all(len(signatures) == 1 for signatures in signature_of.values())
    assert any(
        len([d for d in small_clean.duties if d["person"]["id"] == p]) > 1 for p in signature_of
    )


def test_teaching_groups_and_class_subject_activities(small: Bundle) -> None:
    groups = small.by_id("groups")
    taught = Counter(g["id"] for a in small.activities for g in a["groups"])
    start = small.summary.school_year_start.isoformat()
    teaching = [
        g for g in small.groups if g["groupType"] == "Undervisning" and g["startDate"] >= start
    ]
    assert all(taught[g["id"]] == 1 for g in teaching)
    class_subject = [
        a for a in small.activities if groups[a["groups"][0]["id"]]["groupType"] == "Klass"
    ]
    assert {groups[a["groups"][0]["id"]]["displayName"][0] for a in class_subject} == set("123456")
    assert all(a["teachers"][0]["grader"] for a in small.activities)
    mentors = {a["group"]["id"] for d in small.duties for a in d.get("assignmentRole", [])}
    assert all(
        g["id"] in mentors
        for g in small.groups
        if g["groupType"] == "Klass" and "," not in g["displayName"]
    )
    types = Counter(g["groupType"] for g in small.groups)
    assert types["Avdelning"] >= 2 and types["Schema"] >= 1 and types["Mentor"] >= 2


def test_syllabus_codes(small: Bundle) -> None:
    codes = {s["subjectDesignation"]: s["subjectCode"] for s in small.syllabuses}
    assert codes["MA"] == "GRGRMAT01" and codes["SV"] == "GRGRSVE01"
    assert codes["SVA"] == "GRGRSVA01" and codes["IDH"] == "GRGRIDR01"
    assert all(s["curriculum"] == "GR2011" and s["official"] for s in small.syllabuses)


def test_birth_years_fit_year_groups(small: Bundle) -> None:
    for person in small.persons:
        for enrolment in person.get("enrolments", []):
            if enrolment["schoolType"] in ("GR", "FKLASS"):
                expected = 2025 - 6 - enrolment["schoolYear"]
                assert person["birthDate"].startswith(str(expected))


def test_god_man_and_guardian_households(small: Bundle) -> None:
    relations = Counter(r["relationType"] for p in small.persons for r in p.get("responsibles", []))
    assert relations["God man"] >= 1 and relations["Vårdnadshavare"] > 500
    persons = small.by_id("persons")
    for person in small.persons:
        for responsible in person.get("responsibles", []):
            adult = persons[responsible["person"]["id"]]
            assert 1955 <= int(adult["birthDate"][:4]) <= 2001
            assert responsible["person"]["displayName"] == (
                f"{adult['givenName']} {adult['familyName']}"
            )


@pytest.mark.parametrize(
    ("today", "start", "end"),
    [
        (date(2025, 8, 10), "2024-08-19", "2025-06-13"),
        (date(2025, 8, 18), "2025-08-18", "2026-06-12"),
        (date(2026, 3, 1), "2025-08-18", "2026-06-12"),
    ],
)
def test_today_picks_the_school_year(tmp_path: Path, today: date, start: str, end: str) -> None:
    bundle = generate(tmp_path, "tiny", today=today)
    assert bundle.summary.school_year_start.isoformat() == start
    current = {(g["startDate"], g["endDate"]) for g in bundle.groups if g["endDate"] > start}
    assert current == {(start, end)}


def test_rejects_unknown_size(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown size"):
        generate_bundle(tmp_path, "huge")
    assert set(SIZES) == {"tiny", "small", "medium", "large"}


@pytest.mark.slow
def test_medium_municipality(tmp_path: Path) -> None:
    bundle = generate(tmp_path, "medium")
    summary = bundle.summary
    assert summary.schools == 20 and 8000 <= summary.students <= 12500
    orgs = bundle.by_id("organisations")
    closed = [o for o in bundle.organisations if o.get("endDate", "9999") < TODAY.isoformat()]
    assert len(closed) == 1
    departure = next(o for o in bundle.organisations if o["displayName"] == "Avgångna elever")
    persons = bundle.by_id("persons")
    departed = _ids(_fault(summary, "departed"))
    for pid in departed:
        current = [e for e in persons[pid]["enrolments"] if "endDate" not in e]
        assert [e["enroledAt"]["id"] for e in current] == [departure["id"]]
    at_departure = [
        p
        for p in bundle.persons
        if any(e["enroledAt"]["id"] == departure["id"] for e in p.get("enrolments", []))
    ]
    assert len(at_departure) > len(departed)
    cancelled = _ids(_fault(summary, "cancelled-enrolment"))[0]
    assert any(e.get("cancelled") for e in persons[cancelled]["enrolments"])
    assert persons[_ids(_fault(summary, "emigrated"))[0]]["personStatus"] == "Utvandrad"
    teacher = _ids(_fault(summary, "signature-conflict"))[0]
    signatures = {d["signature"] for d in bundle.duties if d["person"]["id"] == teacher}
    assert len(signatures) == 2
    assert {t for o in orgs.values() for t in o.get("schoolTypes", [])} >= {"FS", "GY", "GRS"}


def test_reused_group_name_fault_is_last_years_group_under_this_years_name(small: Bundle) -> None:
    start = small.summary.school_year_start.isoformat()
    old = [g for g in small.groups if g["endDate"] < start]
    assert len(old) == 1 and old[0]["groupType"] == "Undervisning"
    current = [g for g in small.groups if g["displayName"] == old[0]["displayName"]]
    assert len(current) == 2 and old[0]["groupMemberships"]
    assert any(f.startswith("group-name-reused") for f in small.summary.faults)
