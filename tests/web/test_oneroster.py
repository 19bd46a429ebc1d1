"""The OneRoster 1.2 rostering service (issue 12): OAuth2 client credentials, scopes, every
endpoint, paging, the filter grammar, and a client that walks it as Google Classroom's roster sync
does; through FastAPI's test client on a generated municipality."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from schoolsync.domain.settings import RosteringSettings, Settings
from schoolsync.store import clients
from schoolsync.store.db import Store
from schoolsync.web.app import create_app
from schoolsync.web.oneroster import PREFIX
from tests.builder import GeneratedRegister
from tests.conftest import TODAY, Directory, invoke

CORE = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-core.readonly"
ROSTER = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster.readonly"
DEMOGRAPHICS = "https://purl.imsglobal.org/spec/or/v1p2/scope/roster-demographics.readonly"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The tiny generated municipality (protected persons under their pseudonym), synced, with
    two clients: one with every scope, one with roster-core only."""
    folder = tmp_path_factory.mktemp("oneroster")
    url = f"sqlite:///{folder / 'directory.db'}"
    bundle = folder / "kommun"
    assert (
        invoke(
            "--today", TODAY.isoformat(), "generate", "--size", "tiny", "--out", str(bundle)
        ).code
        == 0
    )
    settings = Settings.model_validate(
        {"sync": {"protected_identity": "pseudonymise"}, "rostering": {"demographics": True}}
    )
    directory = Directory(url)
    assert directory.sync(bundle, settings=settings).status == "applied"
    store = Store(url)
    full = clients.add_client(store, "classroom", list(clients.SCOPES))
    core = clients.add_client(store, "core", [CORE])
    client = TestClient(create_app(store, settings, lambda: TODAY))
    yield {
        "client": client,
        "full": full,
        "core": core,
        "store": store,
        "url": url,
        "export": directory.export(),
        "bundle": bundle,
        "settings": settings,
    }
    store.dispose()


def token(s: dict[str, Any], which: str = "full", scope: str | None = None) -> str:
    client_id, secret = s[which]
    answer = s["client"].post(
        "/oauth/token",
        data={"grant_type": "client_credentials", **({"scope": scope} if scope else {})},
        auth=(client_id, secret),
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def get(s: dict[str, Any], path: str, bearer: str | None, **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return s["client"].get(PREFIX + path, headers=headers, params=params)


def ok(s: dict[str, Any], path: str, bearer: str, **params: Any) -> Any:
    answer = get(s, path, bearer, **params)
    assert answer.status_code == 200, (path, answer.text)
    return answer


def minor(answer: Any) -> str:
    """The imsx code minor of an error answer."""
    body = answer.json()
    assert body["imsx_codeMajor"] == "failure" and body["imsx_severity"] == "error"
    return str(body["imsx_CodeMinor"]["imsx_codeMinorField"][0]["imsx_codeMinorFieldValue"])


def every(
    s: dict[str, Any], path: str, bearer: str, key: str, limit: int, **params: Any
) -> list[Any]:
    """A collection to its end, following each answer's Link rel="next"."""
    answer = ok(s, path, bearer, limit=limit, **params)
    total = int(answer.headers["X-Total-Count"])
    items = list(answer.json()[key])
    while (nxt := re.search(r'<([^>]+)>; rel="next"', answer.headers["Link"])) is not None:
        answer = s["client"].get(nxt[1], headers={"Authorization": f"Bearer {bearer}"})
        assert answer.status_code == 200
        assert len(answer.json()[key]) <= limit
        items += answer.json()[key]
    assert len(items) == total
    return items


# Every endpoint of the service (the OneRoster 1.2 rostering service's read endpoints), and the
# key its answer holds the records under.
ENDPOINTS = {
    "/orgs": "orgs", "/orgs/{org}": "org", "/schools": "orgs", "/schools/{school}": "org",
    "/academicSessions": "academicSessions", "/academicSessions/{term}": "academicSession",
    "/terms": "academicSessions", "/terms/{term}": "academicSession",
    "/gradingPeriods": "academicSessions", "/gradingPeriods/{period}": "academicSession",
    "/courses": "courses", "/courses/{course}": "course",
    "/classes": "classes", "/classes/{class}": "class",
    "/users": "users", "/users/{student}": "user",
    "/students": "users", "/students/{student}": "user",
    "/teachers": "users", "/teachers/{teacher}": "user",
    "/enrollments": "enrollments", "/enrollments/{enrollment}": "enrollment",
    "/demographics": "demographics", "/demographics/{student}": "demographics",
    "/schools/{school}/classes": "classes", "/schools/{school}/courses": "courses",
    "/schools/{school}/terms": "academicSessions", "/schools/{school}/enrollments": "enrollments",
    "/schools/{school}/students": "users", "/schools/{school}/teachers": "users",
    "/schools/{school}/classes/{class}/enrollments": "enrollments",
    "/schools/{school}/classes/{class}/students": "users",
    "/schools/{school}/classes/{class}/teachers": "users",
    "/classes/{class}/students": "users", "/classes/{class}/teachers": "users",
    "/courses/{course}/classes": "classes",
    "/terms/{term}/classes": "classes", "/terms/{term}/gradingPeriods": "academicSessions",
    "/users/{student}/classes": "classes", "/students/{student}/classes": "classes",
    "/teachers/{teacher}/classes": "classes",
}  # fmt: skip


def routes(s: dict[str, Any], bearer: str) -> list[tuple[str, str]]:
    """Every endpoint with ids of real records in it, and its answer's key."""
    for klass in ok(s, "/classes", bearer, limit=10_000, filter="classType='scheduled'").json()[
        "classes"
    ]:
        teachers = ok(s, f"/classes/{klass['sourcedId']}/teachers", bearer).json()["users"]
        students = ok(s, f"/classes/{klass['sourcedId']}/students", bearer).json()["users"]
        if teachers and students:
            teacher, student = teachers[0], students[0]
            break
    ids = {
        "org": ok(s, "/orgs", bearer).json()["orgs"][0]["sourcedId"],
        "school": klass["school"]["sourcedId"],
        "class": klass["sourcedId"],
        "course": klass["course"]["sourcedId"],
        "term": klass["terms"][0]["sourcedId"],
        "period": ok(s, "/gradingPeriods", bearer).json()["academicSessions"][0]["sourcedId"],
        "teacher": teacher["sourcedId"],
        "student": student["sourcedId"],
        "enrollment": ok(s, "/enrollments", bearer).json()["enrollments"][0]["sourcedId"],
    }
    return [(path.format(**ids), key) for path, key in ENDPOINTS.items()]


def test_without_a_valid_token_every_endpoint_is_401_in_the_bindings_shape(
    service: dict[str, Any],
) -> None:
    endpoints = routes(service, token(service))
    assert len(endpoints) == len(ENDPOINTS) == 41
    for path, _ in endpoints:
        for bearer in (None, "not-a-token"):
            answer = get(service, path, bearer)
            assert answer.status_code == 401, path
            assert minor(answer) == "unauthorisedrequest"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer ")


def test_every_endpoint_answers_with_its_records(service: dict[str, Any]) -> None:
    bearer = token(service)
    checked = 0
    for path, key in routes(service, bearer):
        body = ok(service, path, bearer).json()
        assert list(body) == [key], path
        records = body[key] if isinstance(body[key], list) else [body[key]]
        assert records, path
        for record in records:
            assert record["status"] in ("active", "tobedeleted")
            assert re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["dateLastModified"]
            )
        checked += 1
    assert checked == len(ENDPOINTS)


def test_a_token_is_given_for_the_client_credentials_of_an_enabled_client_only(
    service: dict[str, Any], tmp_path: Path
) -> None:
    c, (client_id, secret) = service["client"], service["full"]
    form = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    body = form.json()
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    assert set(body["scope"].split()) == {CORE, ROSTER, DEMOGRAPHICS}
    wrong = c.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret + "x")
    )
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    garbled = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    )
    assert garbled.status_code == 401
    grant = c.post("/oauth/token", data={"grant_type": "password"}, auth=(client_id, secret))
    assert (grant.status_code, grant.json()["error"]) == (400, "unsupported_grant_type")
    core_id, core_secret = service["core"]
    too_much = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": ROSTER},
        auth=(core_id, core_secret),
    )
    assert (too_much.status_code, too_much.json()["error"]) == (400, "invalid_scope")

    # A disabled client gets no token, and the tokens it was given are refused at once.
    db = ("--db", service["url"])
    made = invoke(*db, "admin", "client", "add", "leaving")
    assert made.code == 0, made.err
    lines = dict(line.split(": ", 1) for line in made.out.splitlines())
    leaving = service | {"leaving": (lines["client_id"], lines["client_secret"])}
    given = token(leaving, "leaving")
    assert get(service, "/orgs", given).status_code == 200
    listed = invoke(*db, "admin", "client", "list", "--json")
    assert "sss_" not in listed.out and lines["client_id"] in listed.out
    assert invoke(*db, "admin", "client", "disable", "leaving").code == 0
    assert get(service, "/orgs", given).status_code == 401
    refused = c.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(lines["client_id"], lines["client_secret"]),
    )
    assert refused.status_code == 401
    again = invoke(*db, "admin", "client", "disable", "leaving")
    assert again.code == 1 and "no OneRoster client named 'leaving'" in again.err


def test_a_token_without_the_scope_is_403(service: dict[str, Any]) -> None:
    core = token(service, "core")
    assert get(service, "/users", core).status_code == 200
    refused = get(service, "/demographics", core)
    assert refused.status_code == 403 and minor(refused) == "forbidden"
    assert "insufficient_scope" in refused.headers["WWW-Authenticate"]
    only_demographics = token(service, "full", scope=DEMOGRAPHICS)
    assert get(service, "/users", only_demographics).status_code == 403
    assert get(service, "/demographics", only_demographics).status_code == 200


def test_a_client_walks_the_service_as_google_classroom_does(service: dict[str, Any]) -> None:
    bearer = token(service, scope=ROSTER)
    export = service["export"]
    by_civic = {u["civic_no"]: u for u in export["users"]}
    group = next(g for g in export["groups"] if g["teachers"] and len(g["students"]) > 3)
    signature = group["teachers"][0]
    teacher = next(u for u in export["users"] if u["signature"] == signature)
    # 1. The teacher, found by e-mail.
    found = ok(service, "/teachers", bearer, filter=f"email='{teacher['email']}'").json()["users"]
    assert [u["sourcedId"] for u in found] == [teacher["id"]]
    # 2. Their active classes: the export's groups and classes they teach.
    classes = ok(
        service, f"/teachers/{teacher['id']}/classes", bearer, filter="status='active'"
    ).json()["classes"]
    taught = {
        g["id"]
        for g in export["groups"] + export["classes"]
        if signature in g["teachers"] + g.get("mentors", [])
    }
    assert {k["sourcedId"] for k in classes} == taught
    # 3. A class's students: the group's students of today.
    students = every(service, f"/classes/{group['id']}/students", bearer, "users", limit=5)
    # Everyone the group has had as a student (the service also holds ended enrollments).
    expected = {by_civic[s["civic_no"]]["id"] for s in group["students"]}
    assert {u["sourcedId"] for u in students} == expected
    # 4. The grading periods of each of that class's terms.
    klass = ok(service, f"/classes/{group['id']}", bearer).json()["class"]
    for term in klass["terms"]:
        periods = ok(service, f"/terms/{term['sourcedId']}/gradingPeriods", bearer).json()
        assert [p["parent"]["sourcedId"] for p in periods["academicSessions"]] == [
            term["sourcedId"]
        ]


def test_paging_lists_every_record_once_with_its_total_and_links(service: dict[str, Any]) -> None:
    bearer = token(service)
    users = every(service, "/users", bearer, "users", limit=7)
    ids = [u["sourcedId"] for u in users]
    assert (
        len(ids)
        == len(set(ids))
        == len([u for u in service["export"]["users"] if "merged_into" not in u])
    )
    answer = ok(service, "/users", bearer, limit=7, offset=7, filter="status='active'")
    links = answer.headers["Link"]
    assert 'rel="first"' in links and 'rel="prev"' in links and 'rel="last"' in links
    assert "filter=status%3D%27active%27" in links, "the links keep the query"
    beyond = ok(service, "/users", bearer, offset=10**6).json()
    assert beyond == {"users": []}
    for bad in ({"limit": 0}, {"limit": "many"}, {"offset": -1}):
        answer = get(service, "/users", bearer, **bad)
        assert answer.status_code == 400 and minor(answer) == "invaliddata", bad


def test_the_filter_sort_and_fields_grammar(service: dict[str, Any]) -> None:
    bearer = token(service)
    users = every(service, "/users", bearer, "users", limit=10_000)

    def ids(**params: Any) -> set[str]:
        return {u["sourcedId"] for u in every(service, "/users", bearer, "users", 10_000, **params)}

    family = users[0]["familyName"]
    assert ids(filter=f"familyName='{family}'") == {
        u["sourcedId"] for u in users if u["familyName"] == family
    }
    part = family[1:3].upper()
    assert ids(filter=f"familyName~'{part}'") == {
        u["sourcedId"] for u in users if part.casefold() in u["familyName"].casefold()
    }
    teachers = {u["sourcedId"] for u in users if any(r["role"] == "teacher" for r in u["roles"])}
    assert ids(filter="roles.role='teacher'") == teachers
    both = ids(filter=f"roles.role='teacher' AND familyName>='{family}'")
    assert both == {
        u["sourcedId"] for u in users if u["sourcedId"] in teachers and u["familyName"] >= family
    }
    either = ids(filter=f"familyName='{family}' OR roles.role='teacher'")
    assert either == teachers | ids(filter=f"familyName='{family}'")
    assert ids(filter="enabledUser='false'") == {
        u["sourcedId"] for u in users if not u["enabledUser"]
    }
    ordered = ok(service, "/users", bearer, sort="familyName", orderBy="desc", limit=10_000)
    names = [u["familyName"].casefold() for u in ordered.json()["users"]]
    assert names == sorted(names, reverse=True)
    picked = ok(service, "/users", bearer, fields="sourcedId,familyName", limit=3).json()
    assert all(set(u) == {"sourcedId", "familyName"} for u in picked["users"])
    for params, code in (
        ({"filter": "nosuch='x'"}, "invalid_filter_field"),
        ({"filter": "familyName='unterminated"}, "invaliddata"),
        ({"filter": "familyName='a' XOR givenName='b'"}, "invaliddata"),
        ({"sort": "nosuch"}, "invalid_sort_field"),
        ({"orderBy": "sideways"}, "invaliddata"),
        ({"fields": "sourcedId,nosuch"}, "invalid_selection_field"),
    ):
        answer = get(service, "/users", bearer, **params)
        assert answer.status_code == 400 and minor(answer) == code, params
        assert answer.json()["imsx_description"].endswith(".")


def test_an_unknown_object_or_endpoint_is_404_in_the_bindings_shape(
    service: dict[str, Any],
) -> None:
    bearer = token(service)
    for path in (
        "/users/no-such-id",
        "/classes/no-such-id/students",
        "/nosuch",
        "/schools/"
        + ok(service, "/orgs", bearer, filter="type='district'").json()["orgs"][0]["sourcedId"],
    ):
        answer = get(service, path, bearer)
        assert answer.status_code == 404 and minor(answer) == "unknownobject", path
    staff = [u for u in ok(service, "/teachers", bearer, limit=10_000).json()["users"]
             if all(r["role"] != "student" for r in u["roles"])]  # fmt: skip
    assert staff, "teachers who are no students"
    assert get(service, f"/students/{staff[0]['sourcedId']}", bearer).status_code == 404
    assert get(service, f"/teachers/{staff[0]['sourcedId']}", bearer).status_code == 200


def test_r11_protected_persons_appear_only_under_their_pseudonym(service: dict[str, Any]) -> None:
    bearer = token(service)
    text = json.dumps(every(service, "/users", bearer, "users", 10_000))
    text += json.dumps(every(service, "/demographics", bearer, "demographics", 10_000))
    secrets = GeneratedRegister(service["bundle"]).protected_secrets()
    assert secrets
    for secret in secrets:
        assert secret not in text, secret
    users = every(service, "/users", bearer, "users", 10_000)
    masked = {u["sourcedId"] for u in users if u["givenName"] == "Skyddad"}
    assert masked
    for user in users:
        agents = {a["sourcedId"] for a in user["agents"]}
        assert not agents & masked and not (user["sourcedId"] in masked and agents)


def test_the_service_follows_each_run_of_the_directory(
    service: dict[str, Any], tmp_path: Path
) -> None:
    """A run changes what is served: a student who left is then to be deleted, with a later
    dateLastModified (the records are built again once per directory state, in the background
    while the last state's are served)."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    folder = tmp_path / "kommun"
    shutil.copytree(service["bundle"], folder)
    directory = Directory(url)
    assert directory.sync(folder, settings=service["settings"]).status == "applied"
    store = Store(url)
    try:
        app = create_app(store, service["settings"], lambda: TODAY)
        own = service | {"client": TestClient(app),
                         "full": clients.add_client(store, "c", list(clients.SCOPES))}  # fmt: skip
        bearer = token(own)
        reg = GeneratedRegister(folder)
        gone = reg.students_and_a_teacher()[0][0]
        civic = gone["civicNo"]["value"].replace("-", "")
        uid = next(u["id"] for u in directory.export()["users"] if u["civic_no"] == civic)
        before = ok(own, f"/users/{uid}", bearer).json()["user"]
        assert before["status"] == "active"
        reg.persons.remove(gone)
        reg.write()
        assert directory.sync(folder, settings=service["settings"]).status == "applied"
        ok(own, "/orgs", bearer)  # finds the directory changed: a rebuild begins
        app.state.roster.fresh()
        after = ok(own, f"/users/{uid}", bearer).json()["user"]
        assert (after["status"], after["enabledUser"]) == ("tobedeleted", False)
        assert after["dateLastModified"] > before["dateLastModified"]
        ended = every(own, "/enrollments", bearer, "enrollments", 10_000,
                      filter=f"user.sourcedId='{uid}'")  # fmt: skip
        assert ended and all(e["status"] == "tobedeleted" for e in ended)
        since = after["dateLastModified"]
        changed = every(own, "/users", bearer, "users", 10_000,
                        filter=f"dateLastModified>='{since}'")  # fmt: skip
        assert uid in {u["sourcedId"] for u in changed} and len(changed) < 20
    finally:
        store.dispose()


def test_a_tampered_or_expired_token_is_refused(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    bearer = token(service)
    assert get(service, "/orgs", bearer).status_code == 200
    body, _, signature = bearer.rpartition(".")
    forged = body + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    assert get(service, "/orgs", forged).status_code == 401
    monkeypatch.setattr("schoolsync.web.oneroster.TOKEN_SECONDS", -1)
    expired = get(service, "/orgs", bearer)
    assert expired.status_code == 401 and "expired" in expired.json()["imsx_description"]


def test_odd_requests_get_an_answer_in_the_right_shape_never_a_server_error(
    service: dict[str, Any],
) -> None:
    c, bearer = service["client"], token(service)
    for headers in ({"Authorization": b"Basic " + "éé".encode()},
                    {"Authorization": "Basic !!!"}, {"Authorization": "Bearer"}):  # fmt: skip
        answer = c.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    missing = c.post("/oauth/token", data={}, auth=service["full"])
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")
    as_json = c.post(
        "/oauth/token", json={"grant_type": "client_credentials"}, auth=service["full"]
    )
    assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
    for params in ({"filter": "dateLastModified>'0001-01-01T00:00:00+01:00'"},
                   {"filter": "dateLastModified<'9999-12-31T23:59:59-01:00'"},
                   {"filter": "familyName='" + "x" * 5000 + "'"}, {"limit": "9" * 40},
                   {"offset": "-0"}, {"fields": ","}, {"sort": "roles.role"}):  # fmt: skip
        answer = get(service, "/users", bearer, **params)
        assert answer.status_code in (200, 400), (params, answer.text[:300])
    assert get(service, "/users/%00", bearer).status_code == 404


def test_a_schools_students_and_teachers_are_those_with_that_role_there(
    service: dict[str, Any],
) -> None:
    bearer = token(service)
    users = every(service, "/users", bearer, "users", 10_000)
    for school in ok(service, "/schools", bearer).json()["orgs"]:
        sid = school["sourcedId"]
        for role, path in (("teacher", "teachers"), ("student", "students")):
            served = every(service, f"/schools/{sid}/{path}", bearer, "users", 10_000)
            assert {u["sourcedId"] for u in served} == {
                u["sourcedId"] for u in users
                if any(r["role"] == role and r["org"]["sourcedId"] == sid for r in u["roles"])
            }  # fmt: skip


def test_demographics_are_refused_when_the_settings_give_none(service: dict[str, Any]) -> None:
    store = service["store"]
    closed = TestClient(create_app(store, Settings(rostering=RosteringSettings()), lambda: TODAY))
    answer = closed.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=service["full"]
    )
    bearer = answer.json()["access_token"]
    refused = closed.get(PREFIX + "/demographics", headers={"Authorization": f"Bearer {bearer}"})
    assert (
        refused.status_code == 403 and "demographics = false" in refused.json()["imsx_description"]
    )


@pytest.mark.slow
def test_a_client_reads_a_whole_municipality_from_the_service_and_a_csv_set(tmp_path: Path) -> None:
    """Every user page by page (limit 100, the service's default, as Google Classroom reads),
    every class and enrollment, against the directory's tables; then the same through a whole
    CSV set. A small municipality (about 1,300 users) keeps the suite quick;
    ``SCHOOLSYNC_ONEROSTER_TEST_SIZE=medium`` reads a medium one (28,000), as
    ``benchmarks/oneroster_bench.py`` does at every run, checking each collection's count."""
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    bundle = tmp_path / "kommun"
    size = os.environ.get("SCHOOLSYNC_ONEROSTER_TEST_SIZE", "small")
    made = invoke("--today", TODAY.isoformat(), "generate", "--size", size, "--out", str(bundle))
    assert made.code == 0, made.err
    directory = Directory(url)
    assert directory.sync(bundle).status == "applied"
    store = Store(url)
    try:
        s = {
            "client": TestClient(create_app(store, Settings(), lambda: TODAY)),
            "full": clients.add_client(store, "classroom", list(clients.SCOPES)),
        }
        bearer = token(s)
        users = every(s, "/users", bearer, "users", limit=100)
        with store.connect() as conn:
            accounts = {
                r for (r,) in conn.exec_driver_sql("SELECT id FROM users WHERE merged_into IS NULL")
            }
            lead = (TODAY + timedelta(days=15)).isoformat()
            shown = {
                r
                for (r,) in conn.exec_driver_sql(
                    "SELECT id FROM groups WHERE kind IN ('class', 'group') AND "
                    "(start_date IS NULL OR start_date <= ?)",
                    (lead,),
                )
            }
            members = [
                (g, u)
                for g, u in conn.exec_driver_sql(
                    "SELECT group_id, user_id FROM memberships WHERE role = 'student'"
                )
                if g in shown
            ]
        assert {u["sourcedId"] for u in users} == accounts and len(users) > 1_000
        classes = every(s, "/classes", bearer, "classes", limit=1000)
        assert {k["sourcedId"] for k in classes} == shown
        enrollments = every(s, "/enrollments", bearer, "enrollments", limit=10_000)
        got = [
            (e["class"]["sourcedId"], e["user"]["sourcedId"])
            for e in enrollments
            if e["role"] == "student"
        ]
        assert sorted(got) == sorted(members)
        # The same municipality through a whole CSV set: the active part of what is served.
        out = tmp_path / "set"
        done = invoke("--db", url, "--today", TODAY.isoformat(), "export", "--format",
                      "oneroster", "--out", str(out))  # fmt: skip
        assert done.code == 0, done.err
        files = {p.stem: list(csv.DictReader(p.open(encoding="utf-8", newline="")))
                 for p in out.glob("*.csv")}  # fmt: skip
        active = {u["sourcedId"] for u in users if u["status"] == "active"}
        assert {r["sourcedId"] for r in files["users"]} == active
        assert {r["sourcedId"] for r in files["classes"]} == {
            k["sourcedId"] for k in classes if k["status"] == "active"
        }
        assert {r["sourcedId"] for r in files["enrollments"]} == {
            e["sourcedId"] for e in enrollments if e["status"] == "active"
        }
    finally:
        store.dispose()


def test_a_real_serve_answers_a_client_made_with_the_cli(
    service: dict[str, Any], tmp_path: Path
) -> None:
    """End to end through the commands: ``admin client add``, ``serve``, the token over HTTP, the
    schools; the same schools as a whole CSV set's."""
    db = ("--db", service["url"], "--today", TODAY.isoformat())
    made = invoke(*db, "admin", "client", "add", "over-http")
    assert made.code == 0, made.err
    lines = dict(line.split(": ", 1) for line in made.out.splitlines())
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "schoolsync", *db, "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                answer = httpx.post(
                    f"{base}/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(lines["client_id"], lines["client_secret"]),
                )
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not answer: {proc.stderr.read() if proc.stderr else ''}")
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        schools = httpx.get(f"{base}{PREFIX}/schools", headers=headers, timeout=60)
        assert schools.status_code == 200 and schools.headers["X-Total-Count"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    out = tmp_path / "set"
    assert invoke(*db, "export", "--format", "oneroster", "--out", str(out)).code == 0
    with (out / "orgs.csv").open(encoding="utf-8", newline="") as f:
        in_set = {r["sourcedId"] for r in csv.DictReader(f) if r["type"] == "school"}
    assert {o["sourcedId"] for o in schools.json()["orgs"]} == in_set
