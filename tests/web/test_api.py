"""The REST API (issue 11): bearer tokens, roles and school scoping, paging, OpenAPI; through
FastAPI's test client on the example municipality, and one real ``schoolsync serve``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from schoolsync.domain.settings import Settings
from schoolsync.store import access
from schoolsync.store.db import Store
from schoolsync.web.app import create_app
from tests.conftest import EXAMPLE_BUNDLE, TODAY, Directory, invoke, synced_then_held

OWN = "Exempelskolan 7-9"
OTHER = "Exempelskolans fritidshem"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'directory.db'}"
    directory = Directory(url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    store = Store(url)
    tokens = {
        "org-admin": access.add_token(store, "org", "org-admin", []),
        "school-admin": access.add_token(store, "school", "school-admin", [OWN]),
        "read-only": access.add_token(store, "reader", "read-only", []),
    }
    client = TestClient(create_app(store, Settings(), lambda: TODAY))
    export = directory.export()
    yield {"client": client, "tokens": tokens, "export": export, "store": store, "url": url}
    store.dispose()


def get(served: dict[str, Any], path: str, role: str | None = "org-admin", **params: Any) -> Any:
    headers = {"Authorization": f"Bearer {served['tokens'][role]}"} if role else {}
    return served["client"].get(f"/api/v1{path}", headers=headers, params=params)


def every(
    served: dict[str, Any], path: str, role: str = "org-admin", limit: int = 3, **where: Any
) -> list[Any]:
    """Every item of a list (with the filters ``where``), page by page."""
    items: list[Any] = []
    cursor = None
    while True:
        params = {"limit": limit, **where, **({"cursor": cursor} if cursor else {})}
        answer = get(served, path, role, **params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["data"]) <= limit
        items += body["data"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_without_a_valid_token_every_route_is_401(served: dict[str, Any]) -> None:
    for path in ("/schools", "/users", "/classes", "/groups", "/runs"):
        assert get(served, path, role=None).status_code == 401
        bad = served["client"].get(f"/api/v1{path}", headers={"Authorization": "Bearer ss_nope"})
        assert bad.status_code == 401 and bad.headers["WWW-Authenticate"] == "Bearer"


def test_pages_list_every_item_once_in_the_export_shape(served: dict[str, Any]) -> None:
    export = served["export"]
    users = every(served, "/users")
    assert sorted(u["id"] for u in users) == sorted(u["id"] for u in export["users"])
    by_id = {u["id"]: u for u in export["users"]}
    for user in users:
        expected = by_id[user["id"]]
        assert {k: user[k] for k in ("civic_no", "given_name", "status")} == {
            k: expected[k] for k in ("civic_no", "given_name", "status")
        }
        assert [(s["school"], s["role"]) for s in user["schools"]] == [
            (s["school"], s["role"]) for s in expected["schools"]
        ]
        assert user["guardians"] == expected["guardians"]
    classes = every(served, "/classes", limit=2)
    assert sorted(c["id"] for c in classes) == sorted(c["id"] for c in export["classes"])
    one = next(c for c in export["classes"] if c["name"] == "7A")
    got = get(served, f"/classes/{one['id']}").json()
    assert got["students"] == one["students"] and got["teachers"] == one["teachers"]
    schools = every(served, "/schools")
    assert sorted(s["name"] for s in schools) == sorted(s["name"] for s in export["schools"])
    runs = every(served, "/runs", limit=1)  # a run's cursor is its number
    assert [r["status"] for r in runs] == ["applied"]


def test_a_school_admin_sees_only_its_schools(served: dict[str, Any]) -> None:
    schools = every(served, "/schools", "school-admin")
    assert [s["name"] for s in schools] == [OWN]
    users = every(served, "/users", "school-admin")
    assert users and all({s["school"] for s in u["schools"]} == {OWN} for u in users)
    everyone = served["export"]["users"]
    outside = [u for u in everyone if OWN not in {s["school"] for s in u["schools"]}]
    assert outside and not {u["id"] for u in outside} & {u["id"] for u in users}


@pytest.mark.parametrize("role", ["org-admin", "school-admin", "read-only"])
@pytest.mark.parametrize("kind", ["classes", "users"])
def test_the_authorisation_matrix(served: dict[str, Any], role: str, kind: str) -> None:
    """Every role × own and other school: another school's object is 404 to a school-admin."""
    export = served["export"]
    if kind == "classes":
        own = next(c["id"] for c in export["classes"] if c["school"] == OWN)
        other = next(c["id"] for c in export["classes"] if c["school"] == OTHER)
    else:
        schools = {u["id"]: {s["school"] for s in u["schools"]} for u in export["users"]}
        own = next(uid for uid, s in schools.items() if OWN in s)
        other = next(uid for uid, s in schools.items() if s and OWN not in s)
    assert get(served, f"/{kind}/{own}", role).status_code == 200
    expected = 404 if role == "school-admin" else 200
    assert get(served, f"/{kind}/{other}", role).status_code == expected
    assert get(served, f"/{kind}/no-such-id", role).status_code == 404
    assert get(served, "/runs", role).status_code == (403 if role == "school-admin" else 200)


def test_a_cursor_outside_its_alphabet_or_a_bad_limit_is_refused(served: dict[str, Any]) -> None:
    assert get(served, "/users", cursor="%%%").status_code == 422
    assert get(served, "/runs", cursor="bm90LWFuLWlk").status_code == 422  # runs: a number
    assert get(served, "/users", limit=0).status_code == 422
    assert get(served, "/users", limit=501).status_code == 422
    # any cursor of the alphabet is a position: one this API did not give begins somewhere
    assert get(served, "/users", cursor="zzzz").status_code == 200


def test_openapi_describes_what_is_served(served: dict[str, Any]) -> None:
    spec = served["client"].get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/v1/schools", "/api/v1/users", "/api/v1/users/{user_id}", "/api/v1/classes",
            "/api/v1/groups", "/api/v1/runs"} <= set(spec["paths"])  # fmt: skip


def test_tokens_through_the_cli(served: dict[str, Any]) -> None:
    db = ["--db", served["url"]]
    made = invoke(*db, "admin", "token", "add", "platform", "--role", "read-only")
    assert made.code == 0, made.err
    token = made.out.strip()
    assert token.startswith("ss_") and len(token) > 40
    listed = invoke(*db, "admin", "token", "list", "--json")
    assert token not in listed.out
    assert {"platform", "org", "school", "reader"} <= {x["name"] for x in json.loads(listed.out)}
    headers = {"Authorization": f"Bearer {token}"}
    assert served["client"].get("/api/v1/schools", headers=headers).status_code == 200
    used = next(x for x in json.loads(invoke(*db, "admin", "token", "list", "--json").out)
                if x["name"] == "platform")  # fmt: skip
    assert used["last_used_at"] is not None
    assert invoke(*db, "admin", "token", "revoke", "platform").code == 0
    assert served["client"].get("/api/v1/schools", headers=headers).status_code == 401
    again = invoke(*db, "admin", "token", "add", "x", "--role", "school-admin")
    assert again.code == 1 and "needs its schools" in again.err
    unknown = invoke(*db, "admin", "token", "add", "y", "--role", "school-admin", "--school", "Z")
    assert unknown.code == 1 and "no school 'Z'" in unknown.err


def test_schoolsync_serve_answers_over_http(served: dict[str, Any], tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "schoolsync", "--db", served["url"], "--today", TODAY.isoformat(),
           "serve", "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        headers = {"Authorization": f"Bearer {served['tokens']['read-only']}"}
        for _ in range(100):
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/schools", headers=headers)
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            pytest.fail(f"serve did not answer: {proc.stderr.read() if proc.stderr else ''}")
        assert answer.status_code == 200
        assert {s["name"] for s in answer.json()["data"]} >= {OWN, OTHER}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_lessons_and_memberships_pages_are_scoped_and_name_their_group(
    served: dict[str, Any],
) -> None:
    export = served["export"]
    lessons = every(served, "/lessons", limit=2)
    assert sorted(x["id"] for x in lessons) == sorted(x["id"] for x in export["lessons"])
    by_id = {x["id"]: x for x in export["lessons"]}
    for lesson in lessons:
        assert lesson["school"] == by_id[lesson["id"]]["school"]
        assert lesson["group_id"] == by_id[lesson["id"]]["group_id"]
        assert lesson["start"] == by_id[lesson["id"]]["start"]
    seven_a = next(c for c in export["classes"] if c["name"] == "7A")
    members = every(served, "/memberships", group=seven_a["id"])
    assert {m["role"] for m in members} >= {"student"}
    assert all(m["group_id"] == seven_a["id"] for m in members)
    other = next(c for c in export["classes"] if c["school"] == OTHER)
    assert every(served, "/memberships", "school-admin", group=other["id"]) == []
    assert every(served, "/memberships", "org-admin", group=other["id"])


def test_filters_by_school_and_status(served: dict[str, Any]) -> None:
    export = served["export"]
    own = next(s["id"] for s in export["schools"] if s["name"] == OWN)
    classes = every(served, "/classes", school=own)
    assert classes and {c["school"] for c in classes} == {OWN}
    archived = every(served, "/classes", status="archived")
    assert [c["name"] for c in archived] == [
        c["name"]
        for c in sorted(export["classes"], key=lambda c: c["id"])
        if c["status"] == "archived"
    ]
    ended = every(served, "/users", status="ended")
    assert sorted(u["id"] for u in ended) == sorted(
        u["id"] for u in export["users"] if u["status"] == "ended"
    )
    assert get(served, "/users", status="gone").status_code == 422


def test_a_held_run_is_approved_by_an_org_admin_only(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    held = synced_then_held(url, tmp_path)
    store = Store(url)
    try:
        client = TestClient(create_app(store, Settings(), lambda: TODAY))
        org = {"Authorization": f"Bearer {access.add_token(store, 'o', 'org-admin', [])}"}
        reader = {"Authorization": f"Bearer {access.add_token(store, 'r', 'read-only', [])}"}
        path = f"/api/v1/runs/{held.run_id}/approve"
        assert client.post(path, headers=reader).status_code == 403
        assert client.post(path).status_code == 401
        done = client.post(path, headers=org)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "applied"
        again = client.post(path, headers=org)
        assert again.status_code == 409 and "approved already" in again.json()["detail"]
        assert client.post("/api/v1/runs/999/approve", headers=org).status_code == 404
        runs = client.get("/api/v1/runs", headers=org).json()["data"]
        assert [r["status"] for r in runs] == ["applied", "held", "applied"]
        shown = invoke("--db", url, "runs", "show", str(held.run_id), "--json")
        assert "token o" in shown.out
    finally:
        store.dispose()


def test_the_api_reads_postgresql_as_sqlite(db_url: str) -> None:
    directory = Directory(db_url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    store = Store(db_url)
    try:
        token = access.add_token(store, "s", "school-admin", [OWN])
        client = TestClient(create_app(store, Settings(), lambda: TODAY))
        headers = {"Authorization": f"Bearer {token}"}
        users = client.get("/api/v1/users", headers=headers, params={"limit": 500}).json()
        assert users["data"] and all(
            {s["school"] for s in u["schools"]} == {OWN} for u in users["data"]
        )
        lessons = client.get("/api/v1/lessons", headers=headers).json()["data"]
        assert lessons and {x["school"] for x in lessons} == {OWN}
    finally:
        store.dispose()


def test_a_school_admin_learns_nothing_of_other_schools_through_filters(
    served: dict[str, Any],
) -> None:
    export = served["export"]
    other = next(s["id"] for s in export["schools"] if s["name"] == OTHER)
    assert every(served, "/users", "school-admin", school=other) == []
    assert every(served, "/classes", "school-admin", school=other) == []
    assert every(served, "/lessons", "school-admin", school=other) == []
    # a user's status is judged on the links the token may see
    for user in every(served, "/users", "school-admin"):
        own_open = [
            s
            for s in user["schools"]
            if s["end_date"] is None or s["end_date"] >= TODAY.isoformat()
        ]
        assert user["status"] == ("active" if own_open else "ended")


def test_hostile_ids_and_numbers_are_refused_not_crashed(served: dict[str, Any]) -> None:
    for path in ("/users/a%00b", "/classes/%00", "/groups/x%00"):
        assert get(served, path).status_code == 422
    assert get(served, "/users", school="a\x00b").status_code == 422
    assert get(served, "/runs", cursor=str(2**31)).status_code == 422
    org = {"Authorization": f"Bearer {served['tokens']['org-admin']}"}
    big = served["client"].post(f"/api/v1/runs/{2**63}/approve", headers=org)
    assert big.status_code == 422


def test_a_run_and_its_issues(served: dict[str, Any]) -> None:
    runs = every(served, "/runs")
    run_id = runs[0]["id"]
    one = get(served, f"/runs/{run_id}").json()
    assert one["status"] == "applied" and one["sources"][0]["format"] == "ss12000"
    assert get(served, "/runs/999").status_code == 404
    assert get(served, f"/runs/{run_id}", "school-admin").status_code == 403
    issues = every(served, "/issues", limit=2)
    shown = json.loads(invoke("--db", served["url"], "runs", "show", run_id, "--json").out)
    assert [(i["code"], i["message"]) for i in issues] == [
        (i["code"], i["message"]) for i in shown["issues"]
    ]
    assert "protected-identity-excluded" in {i["code"] for i in issues}
    assert every(served, "/issues", run=999) == []
    assert get(served, "/issues", "school-admin").status_code == 403


def test_updated_since_gives_what_later_runs_changed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    directory = Directory(url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    store = Store(url)
    try:
        client = TestClient(create_app(store, Settings(), lambda: TODAY))
        headers = {"Authorization": f"Bearer {access.add_token(store, 'o', 'org-admin', [])}"}

        def ids(path: str, **params: Any) -> list[str]:
            answer = client.get(f"/api/v1{path}", headers=headers, params={"limit": 500, **params})
            assert answer.status_code == 200, answer.text
            return [x["id"] for x in answer.json()["data"]]

        first = client.get("/api/v1/runs", headers=headers).json()["data"][0]
        since = first["finished_at"]
        everyone = directory.export()["users"]
        assert ids("/users", updated_since=first["started_at"]) == sorted(u["id"] for u in everyone)
        edited = next(u for u in everyone if u["email"])
        done = invoke(
            "--db", url, "user", "edit", edited["civic_no"], "--email", "ny@exempel.invalid"
        )
        assert done.code == 0, done.err
        assert ids("/users", updated_since=since) == [edited["id"]]
        for path in ("/classes", "/groups", "/memberships", "/lessons"):
            assert ids(path, updated_since=since) == []
        assert ids("/lessons", updated_since=first["started_at"])  # the first run made them
        naive = since.split("+")[0]  # without an offset: UTC, as the runs' times are kept
        assert ids("/users", updated_since=naive) == [edited["id"]]
    finally:
        store.dispose()
