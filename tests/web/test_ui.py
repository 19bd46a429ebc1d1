"""The web interface (issue 11), through FastAPI's test client on the example municipality:
sign-in, sessions and their lapse, CSRF, throttling, roles and school scoping on every page, the
audit log, security headers, and that no page shows a protected person."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schoolsync.domain.settings import Settings, SyncSettings
from schoolsync.store import access
from schoolsync.store.db import Store
from schoolsync.web import auth
from schoolsync.web.app import CSP, create_app
from tests.conftest import EXAMPLE_BUNDLE, TODAY, Directory, invoke, synced_then_held

OWN = "Exempelskolan 7-9"
OTHER = "Exempelskolans fritidshem"
PASSWORD = "correct horse battery staple"
PAGES = ("/", "/runs", "/runs/1", "/troubleshoot", "/schools", "/classes", "/groups", "/persons",
         "/settings")  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = _csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The example municipality synced, a held run after it, and one user per role."""
    root = tmp_path_factory.mktemp("ui")
    url = f"sqlite:///{root / 'directory.db'}"
    held = synced_then_held(url, root)
    directory = Directory(url)
    store = Store(url)
    access.add_user(store, "olga", PASSWORD, "org-admin", [])
    access.add_user(store, "sara", PASSWORD, "school-admin", [OWN])
    access.add_user(store, "rut", PASSWORD, "read-only", [])
    yield {"store": store, "url": url, "held": held.run_id, "export": directory.export()}
    store.dispose()


def client_of(site: dict[str, Any], **kwargs: Any) -> TestClient:
    app = create_app(site["store"], Settings(), lambda: TODAY, secure_cookies=False, **kwargs)
    return TestClient(app)


@pytest.fixture(scope="module")
def clients(site: dict[str, Any]) -> dict[str, TestClient]:
    """A signed-in client per role."""
    out = {}
    for role, user in (("org-admin", "olga"), ("school-admin", "sara"), ("read-only", "rut")):
        client = client_of(site)
        assert sign_in(client, user).status_code == 303
        out[role] = client
    return out


def ids_of(site: dict[str, Any], kind: str, school: str) -> str:
    export = site["export"]
    if kind == "class":
        return next(c["id"] for c in export["classes"] if c["school"] == school)
    schools = {u["id"]: {s["school"] for s in u["schools"]} for u in export["users"]}
    return next(u for u, where in schools.items() if where == {school})


# -- signing in ----------------------------------------------------------------------------------


def test_every_page_asks_for_sign_in_and_comes_back_after_it(site: dict[str, Any]) -> None:
    client = client_of(site)
    for path in PAGES:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    htmx = client.get("/classes", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=/classes"
    page = client.get("/login?next=/runs/1").text
    token = _csrf(page)
    done = client.post("/login", data={"username": "olga", "password": PASSWORD, "csrf": token,
                                       "next": "/runs/1"}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303 and done.headers["location"] == "/runs/1"
    assert client.get("/runs/1").status_code == 200


def test_sign_in_never_sends_a_user_to_another_site(site: dict[str, Any]) -> None:
    client = client_of(site)
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        token = _csrf(client.get("/login").text)
        done = client.post("/login", data={"username": "olga", "password": PASSWORD,
                                           "csrf": token, "next": target},
                           follow_redirects=False)  # fmt: skip
        assert done.headers["location"] == "/"


def test_a_wrong_password_or_user_is_refused_alike(site: dict[str, Any]) -> None:
    client = client_of(site)
    wrong = sign_in(client, "olga", "not the password at all")
    nobody = sign_in(client, "nobody-here", PASSWORD)
    assert wrong.status_code == nobody.status_code == 401
    assert "wrong" in wrong.text.lower() or "fel" in wrong.text.lower()
    assert _strip_csrf(wrong.text) == _strip_csrf(
        nobody.text
    )  # the same page: names cannot be probed
    assert client.get("/", follow_redirects=False).status_code == 303


def _strip_csrf(page: str) -> str:
    return re.sub(r'name="csrf" value="[^"]+"', "", page)


def test_sign_in_without_the_forms_token_is_refused(site: dict[str, Any]) -> None:
    client = client_of(site)
    client.get("/login")
    for token in (None, "forged"):
        data = {"username": "olga", "password": PASSWORD, **({"csrf": token} if token else {})}
        answer = client.post("/login", data=data, follow_redirects=False)
        assert answer.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_httponly_samesite_and_secure_off_loopback(
    site: dict[str, Any],
) -> None:
    secure = TestClient(
        create_app(site["store"], Settings(), lambda: TODAY, secure_cookies=True),
        base_url="https://testserver",
    )
    answer = sign_in(secure, "olga")
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert "secure" in cookie.lower()
    assert f"Max-Age={auth.IDLE_MINUTES * 60}" in cookie
    plain = sign_in(client_of(site), "olga").headers["set-cookie"]
    assert "secure" not in plain.lower()


def test_sign_out_ends_the_session(site: dict[str, Any]) -> None:
    client = client_of(site)
    sign_in(client, "olga")
    page = client.get("/").text
    stolen = dict(client.cookies)
    done = client.post("/logout", data={"csrf": _csrf(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert client.get("/", follow_redirects=False).status_code == 303
    replayed = client_of(site)
    replayed.cookies.update(stolen)  # a copy of the cookie from before: worth nothing now
    assert replayed.get("/", follow_redirects=False).status_code == 303


def test_a_session_lapses_after_the_idle_time_and_the_longest_day(
    site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    client = client_of(site, clock=clock)
    sign_in(client, "olga")
    assert client.get("/").status_code == 200
    clock.now += auth.MAX_HOURS * 3600 + 1  # kept busy all day: still ends
    assert client.get("/", follow_redirects=False).status_code == 303

    sign_in(client, "olga")
    import itsdangerous.timed

    real = itsdangerous.timed.time.time
    monkeypatch.setattr(
        itsdangerous.timed.time, "time", lambda: real() + auth.IDLE_MINUTES * 60 + 5
    )
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_new_password_or_disabling_ends_the_users_sessions(site: dict[str, Any]) -> None:
    store = site["store"]
    access.add_user(store, "tove", PASSWORD, "read-only", [])
    client = client_of(site)
    sign_in(client, "tove")
    assert client.get("/").status_code == 200
    access.set_password(store, "tove", PASSWORD + "!")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, "tove", PASSWORD + "!").status_code == 303
    access.disable_user(store, "tove")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, "tove", PASSWORD + "!").status_code == 401


def test_sign_in_is_throttled_per_account_and_per_address(site: dict[str, Any]) -> None:
    clock = Clock()
    throttle = auth.Throttle(clock)
    client = client_of(site, throttle=throttle)
    for _ in range(auth.ACCOUNT_FAILURES):
        assert sign_in(client, "rut", "wrong password, again").status_code == 401
    refused = sign_in(client, "rut")  # the right password, too late
    assert refused.status_code == 429 and "15 min" in refused.text
    assert sign_in(client, "olga").status_code == 303  # another account from here: fine
    clock.now += auth.WINDOW
    assert sign_in(client, "rut").status_code == 303  # the window has passed

    for n in range(auth.ADDRESS_FAILURES):
        assert sign_in(client, f"guess{n}", "wrong").status_code == 401
    assert sign_in(client, "olga").status_code == 429  # this address tried too many accounts


# -- roles and schools ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["org-admin", "school-admin", "read-only"])
def test_the_authorisation_matrix(
    site: dict[str, Any], clients: dict[str, TestClient], role: str
) -> None:
    """Every page × role × own and other school: another school's object is 404 to a
    school-admin; approving is org-admin's, the audit log too, a whole number not read-only's."""
    client = clients[role]
    for path in PAGES:
        assert client.get(path).status_code == 200, path
    for kind in ("class", "person"):
        prefix = "/groups/" if kind == "class" else "/persons/"
        assert client.get(prefix + ids_of(site, kind, OWN)).status_code == 200
        other = client.get(prefix + ids_of(site, kind, OTHER))
        assert other.status_code == (404 if role == "school-admin" else 200), (kind, role)
    assert client.get("/audit").status_code == (200 if role == "org-admin" else 403)
    token = _csrf(client.get("/").text)
    person = ids_of(site, "person", OWN)
    shown = client.post(f"/persons/{person}/civic-no", data={"csrf": token})
    assert shown.status_code == (403 if role == "read-only" else 200)
    other = client.post(f"/persons/{ids_of(site, 'person', OTHER)}/civic-no", data={"csrf": token})
    assert other.status_code == {"org-admin": 200, "school-admin": 404, "read-only": 403}[role]
    if role != "org-admin":
        refused = client.post(f"/runs/{site['held']}/approve", data={"csrf": token})
        assert refused.status_code == 403
        held = site["held"]
        assert f'action="/runs/{held}/approve"' not in client.get(f"/runs/{held}").text
    schools = client.get("/schools").text
    assert OWN in schools and ((OTHER in schools) == (role != "school-admin"))


def test_a_school_admins_lists_and_searches_hold_only_its_school(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["school-admin"]
    export = site["export"]
    other_class = next(c for c in export["classes"] if c["school"] == OTHER)
    assert other_class["id"] not in client.get("/classes").text
    token = _csrf(client.get("/").text)
    searched = client.post("/classes", data={"csrf": token, "q": other_class["name"]}).text
    assert other_class["id"] not in searched
    others = [u for u in export["users"] if {s["school"] for s in u["schools"]} == {OTHER}]
    found = client.post("/persons", data={"csrf": token, "q": others[0]["family_name"]}).text
    assert others[0]["id"] not in found
    shown = client.post("/troubleshoot", data={"csrf": token, "q": other_class["name"]}).text
    assert other_class["id"] not in shown


# -- held runs -----------------------------------------------------------------------------------


def test_a_held_run_is_shown_with_its_lock_and_approved_by_an_org_admin(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    held = synced_then_held(url, tmp_path)
    store = Store(url)
    try:
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        client = TestClient(create_app(store, Settings(), lambda: TODAY, secure_cookies=False))
        sign_in(client, "olga")
        overview = client.get("/").text
        assert f'href="/runs/{held.run_id}"' in overview.split("</section>")[0]  # held, first
        page = client.get(f"/runs/{held.run_id}").text
        assert "lock-missing-data" in page and "duties" in page
        token = _csrf(page)
        assert client.post(f"/runs/{held.run_id}/approve").status_code == 403  # no CSRF token
        done = client.post(f"/runs/{held.run_id}/approve", data={"csrf": token},
                           follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
        applied = int(done.headers["location"].rsplit("/", 1)[1])
        assert applied > held.run_id
        assert f'href="/runs/{held.run_id}"' in client.get(done.headers["location"]).text
        again = client.post(f"/runs/{held.run_id}/approve", data={"csrf": token})
        assert again.status_code == 409 and "approved already" in again.text
        audit = client.get("/audit").text
        assert "run-approved" in audit or "godk" in audit.lower()
        shown = invoke("--db", url, "runs", "show", str(held.run_id), "--json")
        assert json.loads(shown.out)["options"]["approved_by"] == "user olga"
    finally:
        store.dispose()


# -- persons and the audit log -------------------------------------------------------------------


def test_a_personnummer_is_masked_until_asked_for_and_the_asking_is_logged(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["org-admin"]
    user = next(u for u in site["export"]["users"] if u["civic_no"])
    page = client.get(f"/persons/{user['id']}").text
    assert user["civic_no"] not in page
    assert f"{user['civic_no'][:8]}-****" in page
    before = len(access.audit_page(site["store"], 1000))
    shown = client.post(f"/persons/{user['id']}/civic-no", data={"csrf": _csrf(page)}).text
    assert user["civic_no"] in shown
    entries = access.audit_page(site["store"], 1000)
    assert len(entries) == before + 1
    assert entries[0]["action"] == "civic-no-shown" and entries[0]["subject"] == user["id"]
    assert entries[0]["actor"] == "user olga"
    assert user["civic_no"] not in json.dumps(entries, default=str)  # an id, never the number
    listed = client.get("/audit").text
    assert f"/persons/{user['id']}" in listed


def test_searching_persons_keeps_names_out_of_addresses(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["org-admin"]
    user = next(u for u in site["export"]["users"] if u["civic_no"])
    page = client.get("/persons").text
    assert 'method="post" action="/persons"' in page
    found = client.post("/persons", data={"csrf": _csrf(page), "q": user["family_name"]})
    assert found.status_code == 200 and f"/persons/{user['id']}" in found.text
    hrefs = re.findall(r'href="([^"]+)"', found.text)
    assert hrefs and not [h for h in hrefs if user["family_name"] in h or user["civic_no"][:8] in h]
    unsafe = client.post("/persons", data={"q": user["family_name"]})  # no CSRF token
    assert unsafe.status_code == 403


def test_troubleshooting_suggests_the_near_name_and_opens_the_group(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["org-admin"]
    seven_a = next(c for c in site["export"]["classes"] if c["name"] == "7A")
    page = client.get("/troubleshoot").text
    answer = client.post("/troubleshoot", data={"csrf": _csrf(page), "q": "7a"}).text
    assert 'value="7A"' in answer  # "Did you mean 7A?": a button that searches it
    exact = client.post("/troubleshoot", data={"csrf": _csrf(page), "q": "7A"}).text
    assert f'href="/groups/{seven_a["id"]}"' in exact
    group = client.get(f"/groups/{seven_a['id']}").text
    assert "7A" in group and OWN in group


# -- what pages never show -----------------------------------------------------------------------


def _protected_persons(bundle: Path) -> list[dict[str, Any]]:
    people = []
    for page in sorted((bundle / "persons").glob("*.json")):
        body = json.loads(page.read_text(encoding="utf-8"))
        people += body["data"] if isinstance(body, dict) else body
    return [p for p in people if p.get("securityMarking") not in (None, "Ingen")]


def _texts_of(person: dict[str, Any]) -> list[str]:
    civic = (person.get("civicNo") or {}).get("value")
    return [x for x in (person.get("givenName"), person.get("familyName"), civic) if x]


def _crawl(client: TestClient, start: list[str]) -> dict[str, str]:
    """Every page reachable by links from ``start`` (GETs within the site, up to 400)."""
    seen: dict[str, str] = {}
    queue = list(start)
    while queue and len(seen) < 400:
        path = queue.pop()
        if path in seen:
            continue
        answer = client.get(path)
        seen[path] = answer.text
        for href in re.findall(r'href="(/[^"#]*)"', answer.text):
            if not href.startswith("/static/") and href not in seen:
                queue.append(href.replace("&amp;", "&"))
    return seen


@pytest.mark.parametrize("mode", ["exclude", "pseudonymise"])
def test_no_page_shows_a_protected_person(tmp_path: Path, mode: str) -> None:
    """R11: crawl every page, search for every protected person by name: their names and
    number appear nowhere (pseudonymised, they appear under the pseudonym without a number)."""
    url = f"sqlite:///{tmp_path / 'd.db'}"
    settings = Settings(sync=SyncSettings(protected_identity=mode))  # type: ignore[arg-type]
    assert Directory(url).sync(EXAMPLE_BUNDLE, settings=settings).status == "applied"
    protected = _protected_persons(EXAMPLE_BUNDLE)
    assert protected
    store = Store(url)
    try:
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        client = TestClient(create_app(store, settings, lambda: TODAY, secure_cookies=False))
        sign_in(client, "olga")
        pages = _crawl(client, ["/", *PAGES])
        assert len([p for p in pages if p.startswith("/persons/")]) > 10
        texts = [text for person in protected for text in _texts_of(person)]
        assert not [(path, x) for path, page in pages.items() for x in texts if x in page]
        token = _csrf(pages["/"])
        for query in texts:  # searched by name or number: found nowhere, only echoed
            for form in ("/persons", "/troubleshoot"):
                page = client.post(form, data={"csrf": token, "q": query}).text
                page = page.replace(f'value="{query}"', "").replace(f"“{query}”", "")
                assert not [x for x in texts if x in page], (form, query)
        if mode == "pseudonymise":
            pseudonyms = [p for p in pages if p.startswith("/persons/") and "Skyddad" in pages[p]]
            assert pseudonyms
            for path in pseudonyms:
                assert 'id="civic-no"' not in pages[path]
                shown = client.post(f"{path}/civic-no", data={"csrf": token})
                assert shown.status_code == 200 and 'id="civic-no"' not in shown.text
            actions = {e["action"] for e in access.audit_page(store, 1000)}
            assert "civic-no-shown" not in actions  # nothing was shown
    finally:
        store.dispose()


def test_every_answer_carries_the_security_headers_and_pages_have_no_inline_script(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["org-admin"]
    assert "frame-ancestors 'none'" in CSP and "unsafe-inline" not in CSP
    for path in (*PAGES, "/login", "/api/v1/schools", "/static/style.css"):
        answer = client.get(path)
        assert answer.headers["content-security-policy"] == CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        if not path.startswith("/static/"):
            assert answer.headers["cache-control"] == "no-store"
        if answer.headers["content-type"].startswith("text/html"):
            page = answer.text
            assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
            assert not re.search(r"\son[a-z]+=", page), path
            assert not re.search(r"\sstyle=", page), path


def test_the_language_is_swedish_until_english_is_chosen(
    site: dict[str, Any],
) -> None:
    client = client_of(site)
    login = client.get("/login").text
    assert '<html lang="sv">' in login
    choice = {"csrf": _csrf(login), "lang": "en", "next": "/login"}
    switched = client.post("/language", data=choice, follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    assert '<html lang="en">' in client.get("/login").text
    sign_in(client, "olga")
    assert '<html lang="en">' in client.get("/").text  # kept through sign-in
    assert client.post("/language", data={"lang": "sv"}).status_code == 403  # no CSRF token


def test_settings_show_each_value_and_where_it_came_from(
    tmp_path: Path, site: dict[str, Any]
) -> None:
    config = tmp_path / "schoolsync.toml"
    config.write_text("[sync]\nvisibility_lead_days = 20\n", encoding="utf-8")
    settings = Settings(sync=SyncSettings(visibility_lead_days=20))
    client = TestClient(create_app(site["store"], settings, lambda: TODAY, secure_cookies=False,
                                   settings_file=config))  # fmt: skip
    sign_in(client, "olga")
    page = client.get("/settings").text
    row = re.search(r"sync\.visibility_lead_days</td><td[^>]*>20</td><td>([^<]+)<", page)
    assert row, page
    default = re.search(
        r"sync\.group_naming</td><td[^>]*>&#34;register&#34;</td><td>([^<]+)<", page
    )
    assert default and default.group(1) != row.group(1)
    assert str(config) in page
    assert "client_secret_env" in page


def test_admin_user_commands(site: dict[str, Any]) -> None:
    url = site["url"]
    added = invoke("--db", url, "admin", "user", "add", "vera", "--role", "school-admin",
                   "--school", OWN, "--password", PASSWORD)  # fmt: skip
    assert added.code == 0, added.err
    listed = invoke("--db", url, "admin", "user", "list", "--json")
    vera = next(u for u in json.loads(listed.out) if u["username"] == "vera")
    assert vera["role"] == "school-admin" and vera["schools"] == [OWN]
    assert PASSWORD not in listed.out and "argon2" not in listed.out
    short = invoke("--db", url, "admin", "user", "add", "vim", "--role", "read-only",
                   "--password", "short")  # fmt: skip
    assert short.code != 0 and "too short" in short.err
    twice = invoke("--db", url, "admin", "user", "add", "vera", "--role", "read-only",
                   "--password", PASSWORD)  # fmt: skip
    assert twice.code != 0 and "exists already" in twice.err
    no_school = invoke("--db", url, "admin", "user", "add", "ulf", "--role", "school-admin",
                       "--password", PASSWORD)  # fmt: skip
    assert no_school.code != 0 and "--school" in no_school.err
    assert invoke("--db", url, "admin", "user", "disable", "vera").code == 0
    assert invoke("--db", url, "admin", "user", "disable", "nobody").code != 0
    client = client_of(site)
    assert sign_in(client, "vera").status_code == 401
    assert invoke("--db", url, "admin", "user", "password", "vera", "--password",
                  PASSWORD + "2").code == 0  # fmt: skip
    assert sign_in(client, "vera", PASSWORD + "2").status_code == 303
    stored = Store(url)
    try:
        with stored.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT password_hash FROM web_users WHERE username = 'vera'"
            ).scalar()
        assert str(row).startswith("$argon2id$")
    finally:
        stored.dispose()


@pytest.mark.postgres
def test_pages_work_on_both_databases_and_never_wait_for_a_sync(db_url: str) -> None:
    """The same pages on SQLite and PostgreSQL, while another transaction holds the directory's
    writer (as a sync's apply does): sign-in and reads answer at once."""
    import threading

    import sqlalchemy as sa

    from schoolsync.store import schema as t

    directory = Directory(db_url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    export = directory.export()
    store = Store(db_url)
    writer = Store(db_url)
    try:
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        client = TestClient(create_app(store, Settings(), lambda: TODAY, secure_cookies=False))
        user = next(u for u in export["users"] if u["civic_no"])
        answers: dict[str, int] = {}
        searched: list[str] = []

        def browse() -> None:
            assert sign_in(client, "olga").status_code == 303
            for path in (*PAGES, f"/persons/{user['id']}", f"/groups/{export['classes'][0]['id']}"):
                answers[path] = client.get(path).status_code
            searched.append(client.get(f"/persons/{user['id']}").text)
            token = _csrf(client.get("/persons").text)
            searched.append(client.post("/persons", data={"csrf": token, "q": "50%_"}).text)
            searched.append(
                client.post("/persons", data={"csrf": token, "q": user["family_name"]}).text
            )

        with writer.transaction("holding the writer") as conn:
            conn.execute(sa.update(t.users).values(email="held@example.org"))
            reader = threading.Thread(target=browse)
            reader.start()
            reader.join(timeout=20)
            assert not reader.is_alive(), "a page waited for the writer"
        assert set(answers.values()) == {200}, answers
        assert "held@example.org" not in searched[0]  # the writer's work is not committed yet
        assert "/persons/" not in searched[1]  # % and _ are taken literally
        assert f"/persons/{user['id']}" in searched[2]
    finally:
        writer.dispose()
        store.dispose()


def test_parallel_sign_ins_cannot_slip_past_the_throttle(site: dict[str, Any]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    client = client_of(site, throttle=auth.Throttle(Clock()))
    token = _csrf(client.get("/login").text)

    def guess(n: int) -> int:
        data = {"username": "rut", "password": f"guess {n}", "csrf": token}
        return client.post("/login", data=data, follow_redirects=False).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(guess, range(16)))
    assert codes.count(401) == auth.ACCOUNT_FAILURES and codes.count(429) == 16 - codes.count(401)


def test_odd_requests_get_a_page_saying_so(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["read-only"]
    for path, status in (("/nope", 404), ("/runs/abc", 400), ("/runs/0", 400),
                         ("/groups/" + "x" * 300, 400), ("/runs?page=0", 400)):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html") and "<main>" in answer.text
        assert answer.headers["content-security-policy"] == CSP
    assert client.get("/logout").status_code == 405
    assert client.get("/api/v1/nope").headers["content-type"] == "application/json"
    signed_out = client_of(site)
    answer = signed_out.post(f"/runs/{site['held']}/approve", data={}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/"


def test_the_settings_page_lists_per_school_lock_limits_for_their_school_only(
    site: dict[str, Any],
) -> None:
    from schoolsync.domain.settings import LockLimits, LockSettings

    locks = LockSettings(schools={OWN: LockLimits(), OTHER: LockLimits()})
    app = create_app(site["store"], Settings(locks=locks), lambda: TODAY, secure_cookies=False)
    for user, other_shown in (("olga", True), ("sara", False)):
        client = TestClient(app)
        sign_in(client, user)
        page = client.get("/settings")
        assert page.status_code == 200
        assert f"locks.schools.{OWN}." in page.text
        assert (f"locks.schools.{OTHER}." in page.text) == other_shown


def test_the_runs_page_counts_every_run(clients: dict[str, TestClient]) -> None:
    page = clients["org-admin"].get("/runs").text
    assert "2 körningar" in page


def test_a_persons_page_view_is_in_the_audit_log_even_while_a_sync_holds_the_directory(
    tmp_path: Path,
) -> None:
    import sqlalchemy as sa

    from schoolsync.store import schema as t

    url = f"sqlite:///{tmp_path / 'd.db'}"
    directory = Directory(url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    user = next(u for u in directory.export()["users"] if u["civic_no"])
    store, writer = Store(url), Store(url)
    try:
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        app = create_app(store, Settings(), lambda: TODAY, secure_cookies=False)
        with TestClient(app) as client:
            sign_in(client, "olga")
            with writer.transaction("holding the writer") as conn:
                conn.execute(sa.update(t.users).values(email="held@example.org"))
                assert client.get(f"/persons/{user['id']}").status_code == 200  # did not wait
                assert app.state.trail.pending == 1
            assert client.get(f"/persons/{user['id']}").status_code == 200
            assert app.state.trail.pending == 0
        entries = access.audit_page(store, 10)
        assert [(e["action"], e["subject"]) for e in entries] == [("person-viewed", user["id"])] * 2
    finally:
        writer.dispose()
        store.dispose()


def test_names_with_swedish_letters_are_found_in_any_case(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    client = clients["org-admin"]
    export = site["export"]
    user = next(u for u in export["users"] if set(u["family_name"].lower()) & set("åäö"))
    name = user["family_name"]
    token = _csrf(client.get("/persons").text)
    for query in (name, name.lower(), name.upper()):
        found = client.post("/persons", data={"csrf": token, "q": query}).text
        assert f"/persons/{user['id']}" in found, query


def _recorded_syncs(store: Store, issues_by_run: list[list[Any]]) -> list[int]:
    """Sync runs with these issues (as the engine writes them), after what is there."""
    from datetime import UTC, datetime

    from schoolsync.engine.apply import write_issues
    from schoolsync.store.runs import insert_run

    ids = []
    with store.transaction() as conn:
        for issues in issues_by_run:
            run_id = insert_run(conn, "sync", "applied", TODAY, [], datetime.now(UTC), {})
            write_issues(conn, issues, run_id)
            ids.append(run_id)
    return ids


def test_the_overview_tells_new_still_open_and_resolved_issues_apart_by_person(
    tmp_path: Path,
) -> None:
    """Issues about different persons born the same day share their subject (a masked
    personnummer): they are told apart by the persons they name."""
    from schoolsync.domain.issues import issue
    from schoolsync.store import views

    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert Directory(url).sync(EXAMPLE_BUNDLE).status == "applied"
    store = Store(url)
    try:

        def bad(person: str) -> Any:
            return issue("invalid-civic-no", f"{person}: bad.", "20100101-****", (person,))

        _recorded_syncs(store, [[bad("A"), bad("B"), bad("D")], [bad("C"), bad("D")]])
        with store.connect() as conn:
            view = views.overview(conn, None, TODAY)
        assert [x["persons"] for x in view["new"]] == [["C"]]
        assert [x["persons"] for x in view["still_open"]] == [["D"]]
        assert sorted(x["persons"] for x in view["resolved"]) == [["A"], ["B"]]
    finally:
        store.dispose()


def test_an_issue_about_a_class_name_several_schools_have_is_the_organisations(
    tmp_path: Path,
) -> None:
    """ "7A" at two schools says no school: a school-admin of one does not see the issue (nor
    a link to the other's 7A); a name only its school has is its issue."""
    import uuid

    import sqlalchemy as sa

    from schoolsync.domain.issues import issue
    from schoolsync.store import schema as t

    url = f"sqlite:///{tmp_path / 'd.db'}"
    directory = Directory(url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    export = directory.export()
    store = Store(url)
    try:
        other_id = next(s["id"] for s in export["schools"] if s["name"] == OTHER)
        own_class = next(c for c in export["classes"] if c["school"] == OWN)
        with store.transaction() as conn:
            conn.execute(sa.insert(t.groups).values(
                id=str(uuid.uuid4()), school_id=other_id, kind="class", name="7A",
                register_type="Klass", activities=[], status="active",
            ))  # fmt: skip
        shared = issue("class-name-comma", "About the 7A of another school.", "7A")
        own = issue("group-renamed", "About our own class.", own_class["name"])
        (run_id,) = _recorded_syncs(store, [[shared, own]])
        access.add_user(store, "other", PASSWORD, "school-admin", [OTHER])
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        app = create_app(store, Settings(), lambda: TODAY, secure_cookies=False)
        for user, sees_shared in (("other", False), ("olga", True)):
            client = TestClient(app)
            sign_in(client, user)
            page = client.get(f"/runs/{run_id}").text
            assert ("About the 7A of another school." in page) == sees_shared
            assert ("class-name-comma" in client.get("/").text) == sees_shared
            token = _csrf(client.get("/troubleshoot").text)
            found = client.post("/troubleshoot", data={"csrf": token, "q": "7A"}).text
            assert ("About the 7A of another school." in found) == sees_shared
        client = TestClient(app)
        sign_in(client, "other")
        assert "About our own class." not in client.get(f"/runs/{run_id}").text
    finally:
        store.dispose()


def test_passwords_are_hashed_at_argon2s_recommended_cost() -> None:
    """The stored hash's cost, as `schoolsync` itself hashes (this suite's own process hashes
    cheaply): argon2id, RFC 9106's second recommended profile (t=3, m=64 MiB, p=4)."""
    import subprocess
    import sys

    code = "from schoolsync.store import access; print(access._hasher.hash('x'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_signing_out_while_a_sync_holds_the_directory_still_signs_this_browser_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlalchemy as sa

    from schoolsync.store import db as db_module
    from schoolsync.store import schema as t

    url = f"sqlite:///{tmp_path / 'd.db'}"
    assert Directory(url).sync(EXAMPLE_BUNDLE).status == "applied"
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 200)  # a short wait, not the real 30 s
    store, writer = Store(url), Store(url)
    try:
        access.add_user(store, "olga", PASSWORD, "org-admin", [])
        client = TestClient(create_app(store, Settings(), lambda: TODAY, secure_cookies=False))
        sign_in(client, "olga")
        token = _csrf(client.get("/").text)
        with writer.transaction("holding the writer") as conn:
            conn.execute(sa.update(t.users).values(email="held@example.org"))
            done = client.post("/logout", data={"csrf": token}, follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/login"
        assert client.get("/", follow_redirects=False).status_code == 303
    finally:
        writer.dispose()
        store.dispose()


def test_a_view_is_never_held_up_behind_a_whole_number_waiting_for_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a whole personnummer's entry waits for a busy directory (it must be written before
    the number is shown), a page view's entry does not wait behind it."""
    import threading

    import sqlalchemy as sa

    from schoolsync.errors import SchoolsyncError
    from schoolsync.store import db as db_module
    from schoolsync.store import schema as t
    from schoolsync.web.audit import AuditTrail

    url = f"sqlite:///{tmp_path / 'd.db'}"
    Store(url).migrate()
    monkeypatch.setattr(db_module, "BUSY_TIMEOUT_MS", 3000)
    store, writer = Store(url), Store(url)
    trail = AuditTrail(store)
    outcome: list[str] = []

    def strict() -> None:
        try:
            trail.record("user olga", "civic-no-shown", "u1", None, strict=True)
            outcome.append("written")
        except SchoolsyncError:
            outcome.append("refused")

    try:
        with writer.transaction("holding the writer") as conn:
            conn.execute(sa.insert(t.service_keys).values(name="held", value="x"))
            waiting = threading.Thread(target=strict)
            waiting.start()
            trail.record("user olga", "person-viewed", "u2", None)  # returns at once
            assert waiting.is_alive() and not outcome  # the strict one still waits
            assert trail.pending == 1
            waiting.join()
        assert outcome == ["refused"]  # never shown, as it could not be recorded
        trail.record("user olga", "person-viewed", "u3", None)
        assert trail.pending == 0
        subjects = [e["subject"] for e in access.audit_page(store, 10)]
        assert sorted(subjects) == ["u2", "u3"]
    finally:
        writer.dispose()
        store.dispose()


def test_a_schools_page_of_what_to_fix_is_the_reports_and_only_for_its_admins(
    site: dict[str, Any], clients: dict[str, TestClient]
) -> None:
    schools = {s["name"]: s["id"] for s in site["export"]["schools"]}
    own, other = schools[OWN], schools[OTHER]
    page = clients["school-admin"].get(f"/schools/{own}/report")
    assert page.status_code == 200
    html = page.text
    assert f"<h1>Att åtgärda: {OWN}</h1>" in html
    # The example's last sync left the school nothing to fix (the items themselves are the
    # report's, tested through the CLI in tests/cli/test_report.py).
    from schoolsync import report

    assert report.build(site["store"], own).items == []
    assert "Inget att åtgärda." in html and 'href="/runs/1"' in html
    assert clients["school-admin"].get(f"/schools/{other}/report").status_code == 404
    assert clients["org-admin"].get(f"/schools/{other}/report").status_code == 200
    listing = clients["org-admin"].get("/schools").text
    assert f'href="/schools/{own}/report"' in listing
