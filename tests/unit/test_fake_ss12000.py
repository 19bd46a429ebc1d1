"""The fake SS 12000 provider (tests/fake_ss12000.py) behaves as a register's live API should."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fake_ss12000 import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    ENDPOINTS,
    START_CLOCK,
    TOKEN_URL,
    FakeProvider,
)

BUNDLE = Path(__file__).resolve().parents[1] / "data" / "example-bundle"
WEEK = {
    "startTime.onOrAfter": "2025-09-09T00:00:00+02:00",
    "startTime.onOrBefore": "2025-09-11T23:59:59+02:00",
}


def _bundle_ids(endpoint: str) -> list[str]:
    """The ids of an endpoint's records in the example bundle, in file order."""
    paths = [BUNDLE / f"{endpoint}.json"] if (BUNDLE / f"{endpoint}.json").exists() else []
    paths += sorted((BUNDLE / endpoint).glob("*.json")) if (BUNDLE / endpoint).is_dir() else []
    return [r["id"] for path in paths for r in json.loads(path.read_text())["data"]]


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider(BUNDLE)


def _client(provider: FakeProvider) -> httpx.Client:
    return httpx.Client(transport=provider.transport())


@pytest.fixture
def client(provider: FakeProvider) -> Iterator[httpx.Client]:
    with _client(provider) as client:
        yield client


def _basic() -> str:
    return "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()


def _token(client: httpx.Client, url: str = TOKEN_URL, **form: str) -> str:
    response = client.post(
        url, data={"grant_type": "client_credentials", **form}, headers={"Authorization": _basic()}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _get(client: httpx.Client, token: str | None, endpoint: str, **params: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"{BASE_URL}/{endpoint}", params=params, headers=headers)


def _read_all(
    client: httpx.Client, token: str, endpoint: str, **params: Any
) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    response = _get(client, token, endpoint, **params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        records.extend(body["data"])
        if body["pageToken"] is None:
            return records
        limit = {"limit": params["limit"]} if "limit" in params else {}
        response = _get(client, token, endpoint, pageToken=body["pageToken"], **limit)


# -- token endpoint -------------------------------------------------------------------------------


def test_token_by_basic_and_by_form(client: httpx.Client, provider: FakeProvider) -> None:
    by_basic = client.post(
        TOKEN_URL,
        data={"grant_type": "client_credentials", "scope": "ss12000.read"},
        headers={"Authorization": _basic()},
    )
    by_form = client.post(
        TOKEN_URL,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    for response in (by_basic, by_form):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert by_basic.json()["access_token"] != by_form.json()["access_token"]
    assert provider.tokens_issued == 2
    assert provider.scopes_seen == ["ss12000.read"]
    assert len(provider.requests) == 2


def test_basic_credentials_are_form_urlencoded() -> None:
    """RFC 6749 §2.3.1: id and secret are form-urlencoded before the base64."""
    provider = FakeProvider(records={}, token_auth="basic")
    with _client(provider) as client:
        raw = base64.b64encode(b"school%73ync:fake%2Dsecret-Q9xv7LmP2w").decode()
        assert (
            client.post(
                TOKEN_URL,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": f"Basic {raw}"},
            ).status_code
            == 200
        )


@pytest.mark.parametrize(
    ("token_auth", "use_basic", "form", "status"),
    [
        ("form", True, {}, 401),
        ("basic", False, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 401),
        ("both", False, {"client_id": CLIENT_ID, "client_secret": "wrong"}, 401),
        ("both", False, {}, 401),
        ("basic", True, {}, 200),
        ("form", False, {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}, 200),
    ],
)
def test_token_auth_methods(
    token_auth: Any, use_basic: bool, form: dict[str, str], status: int
) -> None:
    provider = FakeProvider(records={}, token_auth=token_auth)
    headers = {"Authorization": _basic()} if use_basic else {}
    with _client(provider) as client:
        response = client.post(
            TOKEN_URL, data={"grant_type": "client_credentials", **form}, headers=headers
        )
    assert response.status_code == status
    if status == 401:
        assert response.json() == {"error": "invalid_client"}


def test_token_grant_type_failures_and_method(client: httpx.Client, provider: FakeProvider) -> None:
    response = client.post(
        TOKEN_URL, data={"grant_type": "password"}, headers={"Authorization": _basic()}
    )
    assert response.status_code == 400
    assert response.json() == {"error": "unsupported_grant_type"}
    assert client.get(TOKEN_URL).status_code == 405
    failing = FakeProvider(records={}, token_failures=2, expires_in=60)
    with _client(failing) as other:
        statuses = [
            other.post(
                TOKEN_URL,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": _basic()},
            )
            for _ in range(3)
        ]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert statuses[2].json()["expires_in"] == 60


# -- authorisation --------------------------------------------------------------------------------


def test_api_needs_a_known_bearer_token(client: httpx.Client) -> None:
    absent = _get(client, None, "persons")
    assert absent.status_code == 401
    assert absent.json()["code"] == "Unauthorized"
    unknown = _get(client, "not-a-token", "persons")
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_token_expires_after_n_requests() -> None:
    provider = FakeProvider(BUNDLE, token_requests_per_token=2)
    with _client(provider) as client:
        token = _token(client)
        assert _get(client, token, "persons", limit=5).status_code == 200
        assert _get(client, token, "groups").status_code == 200
        expired = _get(client, token, "persons", limit=5)
        assert expired.status_code == 401
        assert expired.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
        assert expired.json() == {"code": "Unauthorized", "message": "token expired"}
        assert _get(client, _token(client), "persons").status_code == 200


# -- paging ---------------------------------------------------------------------------------------


def test_paging_serves_every_record_once(client: httpx.Client, provider: FakeProvider) -> None:
    token = _token(client)
    response = _get(client, token, "persons", limit=5)
    pages = [response.json()]
    while pages[-1]["pageToken"] is not None:
        response = _get(client, token, "persons", limit=5, pageToken=pages[-1]["pageToken"])
        assert response.status_code == 200
        pages.append(response.json())
    expected = _bundle_ids("persons")
    assert len(expected) == 17
    assert [len(page["data"]) for page in pages] == [5, 5, 5, 2]
    assert [r["id"] for page in pages for r in page["data"]] == expected
    assert pages[-1]["pageToken"] is None
    # The records are served as stored.
    assert pages[0]["data"][0] == provider.records["persons"][0]


def test_limits() -> None:
    provider = FakeProvider(BUNDLE, default_limit=4, max_limit=6)
    with _client(provider) as client:
        token = _token(client)
        assert len(_get(client, token, "persons").json()["data"]) == 4
        assert len(_get(client, token, "persons", limit=1000).json()["data"]) == 6
        for bad in ("0", "-1", "x", "2.5"):
            assert _get(client, token, "persons", limit=bad).status_code == 400
        assert [r["id"] for r in _read_all(client, token, "persons")] == _bundle_ids("persons")


def test_page_token_cannot_be_combined_with_filters(client: httpx.Client) -> None:
    token = _token(client)
    page_token = _get(client, token, "persons", limit=5).json()["pageToken"]
    combined = _get(
        client,
        token,
        "persons",
        pageToken=page_token,
        **{"meta.modified.after": "2025-01-01T00:00:00Z"},
    )
    assert combined.status_code == 400
    assert combined.json() == {
        "code": "BadRequest",
        "message": "pageToken kan inte kombineras med andra filter",
    }
    assert _get(client, token, "groups", pageToken=page_token).status_code == 400
    assert _get(client, token, "persons", pageToken="%%%not-base64").status_code == 400
    assert _get(client, token, "persons", pageToken="bm90IGpzb24").status_code == 400


def test_filters_of_the_first_page_apply_to_later_pages(client: httpx.Client) -> None:
    token = _token(client)
    after = {"meta.modified.after": "2025-09-01T00:00:00+02:00"}
    everything = _read_all(client, token, "groups", limit=100, **after)
    paged = _read_all(client, token, "groups", limit=1, **after)
    assert paged == everything
    assert 0 < len(everything) < len(_bundle_ids("groups"))


def test_gone_page_token_answers_410_once() -> None:
    provider = FakeProvider(BUNDLE, gone_tokens={("persons", 2)})
    with _client(provider) as client:
        token = _token(client)
        first = _get(client, token, "persons", limit=5).json()
        second = _get(client, token, "persons", limit=5, pageToken=first["pageToken"]).json()
        gone = _get(client, token, "persons", limit=5, pageToken=second["pageToken"])
        assert gone.status_code == 410
        assert gone.json() == {"code": "Gone", "message": "pageToken expired"}
        # A restart from page 1 issues new tokens (serials 4, 5, ...), which work.
        records = _read_all(client, token, "persons", limit=5)
        assert [r["id"] for r in records] == _bundle_ids("persons")


# -- faults ---------------------------------------------------------------------------------------


def test_faults_by_request_number() -> None:
    provider = FakeProvider(
        BUNDLE,
        faults={
            ("persons", 1): 503,
            ("persons", 2): 429,
            ("persons", 3): "timeout",
            ("persons", 4): "drop",
            ("token", 1): 502,
        },
        retry_after="7",
    )
    with _client(provider) as client:
        assert (
            client.post(
                TOKEN_URL,
                data={"grant_type": "client_credentials"},
                headers={"Authorization": _basic()},
            ).status_code
            == 502
        )
        token = _token(client)
        unavailable = _get(client, token, "persons")
        assert unavailable.status_code == 503
        assert unavailable.json()["code"] == "ServiceUnavailable"
        throttled = _get(client, token, "persons")
        assert throttled.status_code == 429
        assert throttled.headers["Retry-After"] == "7"
        with pytest.raises(httpx.ReadTimeout):
            _get(client, token, "persons")
        with pytest.raises(httpx.RemoteProtocolError):
            _get(client, token, "persons")
        assert _get(client, token, "persons").status_code == 200
        assert _get(client, token, "groups").status_code == 200


def test_always_fail() -> None:
    provider = FakeProvider(BUNDLE, always_fail={"groups": 500})
    with _client(provider) as client:
        token = _token(client)
        assert [_get(client, token, "groups").status_code for _ in range(3)] == [500, 500, 500]
        assert _get(client, token, "persons").status_code == 200


def test_forbidden_missing_unknown_and_wrong_method() -> None:
    provider = FakeProvider(BUNDLE, forbidden={"persons"}, missing={"rooms"})
    with _client(provider) as client:
        token = _token(client)
        forbidden = _get(client, token, "persons")
        assert forbidden.status_code == 403
        assert forbidden.json()["code"] == "Forbidden"
        missing = _get(client, token, "rooms")
        assert missing.status_code == 404
        assert missing.json()["code"] == "NotFound"
        assert _get(client, token, "programmes").status_code == 404
        assert client.get("https://sis.test/elsewhere").status_code == 404
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post(f"{BASE_URL}/groups", headers=headers).status_code == 405


# -- served records -------------------------------------------------------------------------------


def _ids(value: Any) -> list[str]:
    """Every string under a key "id" anywhere in value."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "id" and isinstance(v, str)] + [
            i for v in value.values() for i in _ids(v)
        ]
    if isinstance(value, list):
        return [i for v in value for i in _ids(v)]
    return []


def test_upper_case_ids() -> None:
    provider = FakeProvider(BUNDLE, upper_case_ids=True)
    with _client(provider) as client:
        groups = _get(client, _token(client), "groups").json()["data"]
    served = _ids(groups)
    assert served and all(i == i.upper() for i in served)
    assert served == [i.upper() for i in _ids(provider.records["groups"])]
    assert any("person" in m for g in groups for m in g.get("groupMemberships", []))
    assert _ids(provider.records["groups"])[0] != served[0]  # the stored records stay


def test_withhold() -> None:
    provider = FakeProvider(BUNDLE, withhold={"persons": {"civicNo", "securityMarking"}})
    with _client(provider) as client:
        persons = _read_all(client, _token(client), "persons")
    assert persons and not any("civicNo" in p or "securityMarking" in p for p in persons)
    assert all("givenName" in p for p in persons)
    assert "civicNo" in provider.records["persons"][0]


def test_calendar_events_need_a_window(client: httpx.Client) -> None:
    token = _token(client)
    for params in ({}, {"startTime.onOrAfter": WEEK["startTime.onOrAfter"]}):
        response = _get(client, token, "calendarEvents", **params)
        assert response.status_code == 400
        assert response.json()["message"] == "startTime.onOrAfter och startTime.onOrBefore krävs"
    events = _read_all(client, token, "calendarEvents", **WEEK)
    starts = [e["startTime"] for e in events]
    assert starts == [
        "2025-09-10T10:00:00+02:00",
        "2025-09-09T09:00:00+02:00",
        "2025-09-11T13:00:00+02:00",
        "2025-09-11T13:00:00+02:00",
    ]
    exact = {
        "startTime.onOrAfter": "2025-09-08T08:20:00+02:00",
        "startTime.onOrBefore": "2025-09-08T06:20:00Z",
    }
    assert len(_read_all(client, token, "calendarEvents", **exact)) == 1  # inclusive both ends
    bad = {**WEEK, "startTime.onOrBefore": "next tuesday"}
    assert _get(client, token, "calendarEvents", **bad).status_code == 400


def test_modified_after_sees_only_put_records(client: httpx.Client, provider: FakeProvider) -> None:
    token = _token(client)
    assert provider.clock == START_CLOCK
    since = provider.clock.isoformat()
    assert _read_all(client, token, "persons", **{"meta.modified.after": since}) == []
    provider.tick()
    changed = dict(provider.records["persons"][3], givenName="Ändrad")
    changed["id"] = changed["id"].upper()  # ids compare case-insensitively
    provider.put("persons", changed)
    provider.put("persons", {"id": "new-person-1", "givenName": "Ny", "familyName": "Elev"})
    assert provider.clock == datetime.fromisoformat("2025-10-15T08:01:02+02:00")
    seen = _read_all(client, token, "persons", **{"meta.modified.after": since})
    assert [p["givenName"] for p in seen] == ["Ändrad", "Ny"]
    assert seen[0]["meta"]["modified"] == "2025-10-15T08:01:01+02:00"
    assert seen[0]["meta"]["created"] == "2025-06-20T10:00:00+02:00"
    assert seen[1]["meta"] == {
        "modified": "2025-10-15T08:01:02+02:00",
        "created": "2025-10-15T08:01:02+02:00",
    }
    # Replaced in place, appended at the end; before is inclusive.
    everyone = _read_all(client, token, "persons")
    assert [p["givenName"] for p in everyone][3] == "Ändrad"
    assert everyone[-1]["id"] == "new-person-1" and len(everyone) == 18
    window = {"meta.modified.after": since, "meta.modified.before": "2025-10-15T08:01:01+02:00"}
    assert [p["givenName"] for p in _read_all(client, token, "persons", **window)] == ["Ändrad"]
    bad = _get(client, token, "persons", **{"meta.modified.after": "2025-10-15"})
    assert bad.status_code == 400


# -- deletedEntities ------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["activitites", "activities"])
def test_deleted_entities(spelling: Any) -> None:
    provider = FakeProvider(BUNDLE, deleted_spelling=spelling)
    person, activity = _bundle_ids("persons")[0], _bundle_ids("activities")[0]
    before = provider.tick()
    provider.delete("persons", person.upper())
    provider.delete("activities", activity)
    assert provider.clock == before.replace(second=2)
    with _client(provider) as client:
        token = _token(client)
        url = f"{BASE_URL}/deletedEntities"
        headers = {"Authorization": f"Bearer {token}"}
        response = client.get(url, params={"after": before.isoformat()}, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["pageToken"] is None
        assert body["data"]["persons"] == [person]
        assert body["data"][spelling] == [activity]
        assert set(body["data"]) == {
            "persons",
            "groups",
            spelling,
            "calendarEvents",
            "duties",
            "placements",
            "organisations",
            "syllabuses",
            "rooms",
        }
        some = client.get(
            url,
            params={"after": before.isoformat(), "entities": ["Activity", "Group"]},
            headers=headers,
        ).json()["data"]
        assert some == {spelling: [activity], "groups": []}
        later = client.get(url, params={"after": provider.clock.isoformat()}, headers=headers)
        assert all(ids == [] for ids in later.json()["data"].values())
        assert client.get(url, headers=headers).status_code == 400
        assert client.get(url, params={"after": "yesterday"}, headers=headers).status_code == 400
        # Gone from the lists too.
        assert person not in [p["id"] for p in _read_all(client, token, "persons")]
    with pytest.raises(KeyError):
        provider.delete("persons", person)


@pytest.mark.parametrize("status", [404, 501])
def test_deleted_entities_unsupported(status: int) -> None:
    provider = FakeProvider(BUNDLE, deleted_status=status)
    with _client(provider) as client:
        response = _get(client, _token(client), "deletedEntities", after="2025-09-01T00:00:00Z")
    assert response.status_code == status


# -- loading, serving, secrecy --------------------------------------------------------------------


def test_bundle_shapes(tmp_path: Path) -> None:
    (tmp_path / "rooms.json").write_text(json.dumps([{"id": "r1"}, {"id": "r2"}]))
    (tmp_path / "rooms").mkdir()
    for n in (10, 2):
        page = {"data": [{"id": f"r-page{n}"}], "pageToken": None}
        (tmp_path / "rooms" / f"page{n}.json").write_text(json.dumps(page))
    provider = FakeProvider(tmp_path, records={"groups": [{"id": "g1"}]})
    assert [r["id"] for r in provider.records["rooms"]] == ["r1", "r2", "r-page2", "r-page10"]
    assert provider.records["groups"] == [{"id": "g1"}]
    assert set(provider.records) == set(ENDPOINTS)
    with _client(provider) as client:
        rooms = _get(client, _token(client), "rooms").json()["data"]
    assert rooms == [{"id": "r1"}, {"id": "r2"}, {"id": "r-page2"}, {"id": "r-page10"}]


def test_serve_answers_real_http() -> None:
    provider = FakeProvider(BUNDLE, faults={("groups", 1): "drop"})
    with provider.serve() as (base_url, token_url):
        assert base_url.startswith("http://127.0.0.1:") and token_url.startswith(base_url[:22])
        answer = httpx.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
            timeout=5,
        )
        assert answer.status_code == 200
        assert answer.headers["Content-Type"] == "application/json"
        token = answer.json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        page = httpx.get(f"{base_url}/persons", params={"limit": 3}, headers=headers, timeout=5)
        assert page.status_code == 200
        assert [p["id"] for p in page.json()["data"]] == _bundle_ids("persons")[:3]
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(f"{base_url}/groups", headers=headers, timeout=5)
        assert httpx.get(f"{base_url}/groups", headers=headers, timeout=5).status_code == 200
    assert [r.method for r in provider.requests] == ["POST", "GET", "GET", "GET"]


def test_secret_never_in_answers() -> None:
    provider = FakeProvider(BUNDLE, token_auth="basic")
    with _client(provider) as client:
        answers = [
            client.post(
                TOKEN_URL,
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                },
            ),
            client.post(TOKEN_URL, data={"grant_type": "x"}, headers={"Authorization": _basic()}),
        ]
        token = _token(client)
        answers.append(_get(client, token, "persons"))
    for answer in answers:
        assert CLIENT_SECRET not in answer.text
        assert CLIENT_SECRET not in str(answer.headers)
