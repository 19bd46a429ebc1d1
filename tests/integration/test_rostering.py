"""``schoolsync export --format oneroster|sds``: a generated municipality read back from the CSV
files as a OneRoster or SDS client reads them, on SQLite and PostgreSQL (issue 12).

The column sets are the specifications' tables, written out here (not taken from the code): the
OneRoster 1.2 CSV binding's, and for SDS the headers of Microsoft's v2.1 samples in
``tests/data/samples/sds/v2.1``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.builder import GeneratedRegister
from tests.conftest import ROOT, invoke

TODAY = "2025-10-15"
SDS_SAMPLES = ROOT / "tests" / "data" / "samples" / "sds" / "v2.1"

# OneRoster 1.2 CSV binding: each file's columns in order, and those that must have a value.
ONEROSTER = {
    "orgs": ("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
             {"sourcedId", "name", "type"}),
    "academicSessions": ("sourcedId,status,dateLastModified,title,type,startDate,endDate,"
                         "parentSourcedId,schoolYear",
                         {"sourcedId", "title", "type", "startDate", "endDate", "schoolYear"}),
    "courses": ("sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,grades,"
                "orgSourcedId,subjects,subjectCodes", {"sourcedId", "title", "orgSourcedId"}),
    "classes": ("sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
                "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
                {"sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId",
                 "termSourcedIds"}),
    "users": ("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,"
              "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
              "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
              "preferredFamilyName,primaryOrgSourcedId,pronouns",
              {"sourcedId", "enabledUser", "givenName", "familyName"}),
    "roles": ("sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
              "orgSourcedId,userProfileSourcedId",
              {"sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"}),
    "enrollments": ("sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                    "userSourcedId,role,primary,beginDate,endDate",
                    {"sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"}),
    "demographics": ("sourcedId,status,dateLastModified,birthDate,sex,"
                     "americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,"
                     "nativeHawaiianOrOtherPacificIslander,white,demographicRaceTwoOrMoreRaces,"
                     "hispanicOrLatinoEthnicity,countryOfBirthCode,stateOfBirthAbbreviation,"
                     "cityOfBirth,publicSchoolResidenceStatus", {"sourcedId"}),
}  # fmt: skip
ROLES_1P2 = {
    "aide",
    "counselor",
    "districtAdministrator",
    "guardian",
    "parent",
    "principal",
    "proctor",
    "relative",
    "siteAdministrator",
    "student",
    "systemAdministrator",
    "teacher",
}
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def cli(db_url: str, *args: str) -> Any:
    return invoke("--db", db_url, "--today", TODAY, *args)


def read_set(folder: Path) -> dict[str, list[dict[str, str]]]:
    """Every CSV file of a folder as a client reads it: bytes checked, then rows by header."""
    out: dict[str, list[dict[str, str]]] = {}
    for path in sorted(folder.glob("*.csv")):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), f"{path.name} starts with a byte order mark"
        assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b""), path.name
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            out[path.stem] = list(reader)
            out[f"{path.stem}#header"] = [dict.fromkeys(reader.fieldnames or [], "")]
    return out


def exported(
    db_url: str, out: Path, *args: str, config: tuple[str, ...] = ()
) -> tuple[str, dict[str, list[dict[str, str]]]]:
    """``export --format …`` into ``out`` (it must succeed): what it printed, and the set."""
    done = cli(db_url, *config, "export", *args, "--out", str(out))
    assert done.code == 0, done.err
    return done.out, read_set(out)


def header(files: dict[str, list[dict[str, str]]], name: str) -> str:
    return ",".join(files[f"{name}#header"][0])


@pytest.fixture
def municipality(db_url: str, tmp_path: Path) -> tuple[str, Path]:
    """The tiny generated municipality, synced once (run 1)."""
    bundle = tmp_path / "kommun"
    assert cli(db_url, "generate", "--size", "tiny", "--out", str(bundle)).code == 0
    synced = cli(db_url, "sync", str(bundle))
    assert synced.code == 0, synced.err
    return db_url, bundle


def test_a_oneroster_client_reads_the_whole_municipality_from_the_csv_set(
    municipality: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, _ = municipality
    out = tmp_path / "oneroster"
    printed, files = exported(db_url, out, "--format", "oneroster")
    assert "Wrote OneRoster 1.2 CSV (a whole set) to" in printed and "enrollments.csv" in printed
    manifest = {r["propertyName"]: r["value"] for r in files["manifest"]}
    assert (manifest["manifest.version"], manifest["oneroster.version"]) == ("1.0", "1.2")
    written = {p.stem for p in out.glob("*.csv")} - {"manifest"}
    listed = {k.removeprefix("file."): v for k, v in manifest.items() if k.startswith("file.")}
    assert {k for k, v in listed.items() if v == "bulk"} == written
    # Demographics are a setting, off by default.
    assert written == {
        "orgs",
        "academicSessions",
        "courses",
        "classes",
        "users",
        "roles",
        "enrollments",
    }  # fmt: skip
    assert not list(out.glob(".schoolsync-*")), "the work folder is left behind"
    for name in written:
        columns, required = ONEROSTER[name]
        assert header(files, name) == columns, name
        for row in files[name]:
            assert all(row[c] for c in required), (name, row)
            assert row["status"] == row["dateLastModified"] == "", (name, row)  # a bulk set
            for col in ("startDate", "endDate", "beginDate", "birthDate"):
                assert not row.get(col) or DAY.match(row[col]), (name, col, row)

    ids = {name: {r["sourcedId"] for r in files[name]} for name in written}
    orgs = {r["sourcedId"]: r for r in files["orgs"]}
    district = [r for r in files["orgs"] if r["type"] == "district"]
    assert len(district) == 1
    assert all(
        r["parentSourcedId"] == district[0]["sourcedId"]
        for r in files["orgs"]
        if r["type"] == "school"
    )
    for klass in files["classes"]:
        assert klass["classType"] in ("homeroom", "scheduled")
        assert klass["courseSourcedId"] in ids["courses"]
        assert orgs[klass["schoolSourcedId"]]["type"] == "school"
        assert set(klass["termSourcedIds"].split(",")) <= ids["academicSessions"]
    for role in files["roles"]:
        assert role["role"] in ROLES_1P2 and role["roleType"] in ("primary", "secondary")
        assert role["userSourcedId"] in ids["users"] and role["orgSourcedId"] in orgs
    primaries = [r["userSourcedId"] for r in files["roles"] if r["roleType"] == "primary"]
    assert sorted(primaries) == sorted(ids["users"]), "one primary role per user"
    for user in files["users"]:
        assert user["enabledUser"] == "true"
        assert set(filter(None, user["agentSourcedIds"].split(","))) <= ids["users"]
        assert user["primaryOrgSourcedId"] in orgs
    for e in files["enrollments"]:
        assert e["classSourcedId"] in ids["classes"] and e["userSourcedId"] in ids["users"]
        assert e["role"] in ("student", "teacher") and e["primary"] in ("true", "false")

    # The same people and classes the directory's own export shows as active on that day.
    doc = json.loads(cli(db_url, "export", "--json").out)
    active_users = {u["id"] for u in doc["users"] if u["status"] == "active"}
    assert ids["users"] == active_users
    shown = {
        g["id"] for g in doc["classes"] + doc["groups"] if g["status"] == "active" and g["visible"]
    }
    assert ids["classes"] == shown
    students = {
        (g["id"], s["civic_no"])
        for g in doc["classes"] + doc["groups"]
        if g["id"] in shown
        for s in g["students"]
        if s["end_date"] is None or s["end_date"] >= TODAY
    }
    civic = {u["id"]: u["civic_no"] for u in doc["users"]}
    enrolled = {
        (e["classSourcedId"], civic[e["userSourcedId"]])
        for e in files["enrollments"]
        if e["role"] == "student"
    }
    assert enrolled == students


def test_a_delta_set_says_who_changed_and_who_left_since_a_run(
    municipality: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, bundle = municipality
    reg = GeneratedRegister(bundle)
    students, _ = reg.students_and_a_teacher()
    renamed, gone = students[0], students[1]
    renamed["familyName"] += "-Lind"
    reg.persons.remove(gone)
    reg.write()
    assert cli(db_url, "sync", str(bundle)).code == 0  # run 2
    ids = {u["civic_no"]: u["id"] for u in json.loads(cli(db_url, "export", "--json").out)["users"]}

    def civic_of(person: dict[str, Any]) -> str:
        value: str = person["civicNo"]["value"]
        return value.replace("-", "")

    printed, files = exported(db_url, tmp_path / "delta", "--format", "oneroster", "--since", "1")
    assert "a delta since run 1" in printed
    manifest = {r["propertyName"]: r["value"] for r in files["manifest"]}
    assert manifest["file.users"] == manifest["file.enrollments"] == "delta"
    users = {r["sourcedId"]: r for r in files["users"]}
    assert users[ids[civic_of(renamed)]]["familyName"].endswith("-Lind")
    assert users[ids[civic_of(renamed)]]["status"] == "active"
    assert (users[ids[civic_of(gone)]]["status"], users[ids[civic_of(gone)]]["enabledUser"]) == (
        "tobedeleted",
        "false",
    )
    assert len(users) < 10, "a delta holds only what changed"
    ended = [e for e in files["enrollments"] if e["userSourcedId"] == ids[civic_of(gone)]]
    assert ended and all(e["status"] == "tobedeleted" for e in ended)
    for name in ("users", "roles", "enrollments"):
        for row in files[name]:
            assert row["status"] in ("active", "tobedeleted"), row
            assert STAMP.match(row["dateLastModified"]), row

    # Nothing changed after run 2: its delta is empty, headers only.
    _, again = exported(db_url, tmp_path / "empty", "--format", "oneroster", "--since", "2")
    assert again["users"] == again["enrollments"] == again["classes"] == []


def test_an_sds_set_has_the_columns_and_formats_of_microsofts_samples(
    municipality: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, _ = municipality
    out = tmp_path / "sds"
    done = cli(db_url, "export", "--format", "sds", "--out", str(out))
    assert done.code == 0, done.err
    left_out = re.search(r"Warning: (\d+) user\(s\) are not in the SDS set", done.err)
    assert left_out, done.err  # the generated guardians without an e-mail, the protected
    ours = read_set(out)
    oneroster = read_set(exported(db_url, tmp_path / "or", "--format", "oneroster")[0] and
                         tmp_path / "or")  # fmt: skip
    assert len(ours["users"]) == len(oneroster["users"]) - int(left_out[1])
    samples = read_set(SDS_SAMPLES)
    written = {p.stem for p in out.glob("*.csv")}
    assert written == {
        "orgs",
        "users",
        "roles",
        "classes",
        "courses",
        "enrollments",
        "academicSessions",
        "relationships",
    }
    for name in written:
        assert header(ours, name) == header(samples, name), name
        assert ours[name], f"{name}.csv is empty"
    # Values formatted as in the samples: ISO dates, upper-case flags, the same vocabularies.
    for row in ours["roles"] + samples["roles"]:
        assert row["isPrimary"] in ("TRUE", "FALSE")
        assert all(not row[c] or DAY.match(row[c]) for c in ("roleStartDate", "roleEndDate"))
    assert {r["role"] for r in ours["roles"]} <= {"student", "teacher", "staff"}
    assert {r["role"] for r in ours["enrollments"]} == {"student", "teacher"}
    assert {r["relationshipRole"] for r in ours["relationships"]} <= {"guardian", "relative"}
    for row in ours["academicSessions"]:
        assert DAY.match(row["startDate"]) and DAY.match(row["endDate"])
        assert row["type"] in ("schoolYear", "term") and row["schoolYear"].isdigit()
    users = {r["sourcedId"] for r in ours["users"]}
    classes = {r["sourcedId"] for r in ours["classes"]}
    orgs = {r["sourcedId"] for r in ours["orgs"]}
    assert all(
        r["classSourcedId"] in classes and r["userSourcedId"] in users for r in ours["enrollments"]
    )
    assert all(r["orgSourcedId"] in orgs for r in ours["roles"] + ours["classes"])
    assert all(
        r["userSourcedId"] in users and r["relationshipUserSourcedId"] in users
        for r in ours["relationships"]
    )
    # SDS refuses a user without a username, and a guardian without an e-mail: they are left
    # out (with their roles, enrollments and family), and the export says how many.
    assert all(r["username"] for r in ours["users"])
    mail = {r["sourcedId"]: r["email"] for r in ours["users"]}
    assert all(mail[r["relationshipUserSourcedId"]] for r in ours["relationships"])
    phones = [r["sms"] for r in ours["users"] if r["sms"]]
    assert phones and all(re.fullmatch(r"\+\d{8,15}", p) for p in phones), phones[:3]


def test_demographics_are_written_only_when_the_settings_allow_them(
    municipality: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, _ = municipality
    settings = tmp_path / "schoolsync.toml"
    context = "https://exempelstad.invalid/ad/sAMAccountName"  # the generator's AD accounts
    settings.write_text(
        f'[rostering]\ndemographics = true\nusername = "external:{context}"\n', "utf-8"
    )
    out = tmp_path / "set"
    assert cli(db_url, "export", "--format", "oneroster", "--out", str(out)).code == 0
    assert not (out / "demographics.csv").exists()
    _, files = exported(db_url, out, "--format", "oneroster", config=("--config", str(settings)))
    assert header(files, "demographics") == ONEROSTER["demographics"][0]
    assert {r["sex"] for r in files["demographics"]} <= {"male", "female", ""}
    assert {r["propertyName"]: r["value"] for r in files["manifest"]}["file.demographics"] == "bulk"
    with_account = [r for r in files["users"] if "{sAMAccountName:" in r["userIds"]]
    assert len(with_account) > 50
    assert all(f"{{sAMAccountName:{r['username']}}}" in r["userIds"] for r in with_account)
    assert all(not r["username"] for r in files["users"] if r not in with_account)
    # Switched off again, the next set leaves no stale demographics behind.
    assert cli(db_url, "export", "--format", "oneroster", "--out", str(out)).code == 0
    assert not (out / "demographics.csv").exists()


def test_a_wrong_export_request_says_what_to_do_and_writes_nothing(
    municipality: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, _ = municipality
    out = tmp_path / "out"
    no_out = cli(db_url, "export", "--format", "sds")
    assert no_out.code == 2 and "Give both --format (oneroster or sds) and --out DIR" in no_out.err
    sds_delta = cli(db_url, "export", "--format", "sds", "--since", "1", "--out", str(out))
    assert sds_delta.code == 2 and "SDS reads whole sets" in sds_delta.err
    unknown = cli(db_url, "export", "--format", "oneroster", "--since", "99", "--out", str(out))
    assert unknown.code == 1
    assert "The directory has no applied run 99" in unknown.err and "schoolsync runs" in unknown.err
    assert not out.exists()
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", "utf-8")
    failed = cli(db_url, "export", "--format", "oneroster", "--out", str(blocked / "x"))
    assert failed.code == 1, failed.err
    assert "could not be written to" in failed.err and "Traceback" not in failed.err
    assert blocked.read_text("utf-8") == "not a folder"


def test_r11_protected_persons_reach_other_platforms_only_under_their_pseudonym(
    db_url: str, tmp_path: Path
) -> None:
    bundle = tmp_path / "kommun"
    assert cli(db_url, "generate", "--size", "tiny", "--out", str(bundle)).code == 0
    settings = tmp_path / "schoolsync.toml"
    settings.write_text(
        '[sync]\nprotected_identity = "pseudonymise"\n[rostering]\ndemographics = true\n', "utf-8"
    )
    config = ("--config", str(settings))
    assert cli(db_url, *config, "sync", str(bundle)).code == 0
    secrets = GeneratedRegister(bundle).protected_secrets()
    assert secrets
    text = ""
    for fmt in ("oneroster", "sds"):
        out = tmp_path / fmt
        _, files = exported(db_url, out, "--format", fmt, config=config)
        text += "".join(p.read_text("utf-8") for p in sorted(out.glob("*.csv")))
        masked = {r["sourcedId"] for r in files["users"] if r["givenName"] == "Skyddad"}
        if fmt == "sds":  # no e-mail, so no username: SDS cannot take them
            assert not masked
        else:
            assert masked, "the protected persons are there, under their pseudonym"
        if fmt == "oneroster":
            assert all(
                not r["agentSourcedIds"] and not r["email"] and not r["sms"]
                for r in files["users"]
                if r["sourcedId"] in masked
            )
            assert not masked & {r["sourcedId"] for r in files["demographics"]}
            assert not any(masked & set(r["agentSourcedIds"].split(",")) for r in files["users"])
        else:
            family = {r["userSourcedId"] for r in files["relationships"]} | {
                r["relationshipUserSourcedId"] for r in files["relationships"]
            }
            assert not masked & family
    for secret in secrets:
        assert secret not in text, secret
