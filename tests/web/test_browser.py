"""The web interface in a real browser (Debian's Chromium through Playwright) against a real
``schoolsync serve``: the example municipality with a schedule that misspells a group, two syncs
held by a safety lock, and one user per role. Each test is what a user does and sees.

Without /usr/bin/chromium the tests skip, except in CI (``CI`` or
``SCHOOLSYNC_REQUIRE_POSTGRES=1``), where they fail: `.ci/run` installs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from schoolsync.domain.near import how_near
from tests.conftest import EXAMPLE_BUNDLE, TODAY
from tests.schedule_builder import Lesson, Schedule
from tests.web.browser_support import (
    CHROMIUM,
    HELD_RUNS,
    PASSWORD,
    Site,
    build_directory,
    chromium_required,
    cli,
    console_error,
    launch,
    of_school,
    plural,
    serve,
    session_cookies,
    sign_in,
    text,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser]

OWN = "Exempelskolan 7-9"
OTHER = "Exempelskolans fritidshem"
GROUP = "Matematik 7A"  # a teaching group of the register
MISSPELT = "Matematik 7a"  # how the schedule writes it
MAIN_PAGES = ("/", "/runs", "/runs/1", "/troubleshoot", "/schools", "/classes", "/groups",
              "/persons", "/settings", "/audit")  # fmt: skip


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Headless Chromium: skipped without /usr/bin/chromium, failed so in CI."""
    if not CHROMIUM.exists():
        why = f"{CHROMIUM} is missing (apt-get install chromium)"
        if chromium_required():
            pytest.fail(why)
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(chromium_browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example municipality and a schedule that misspells a group, synced; two held syncs;
    users through the CLI; served on 127.0.0.1 with --today fixed."""
    root = tmp_path_factory.mktemp("browser")
    schedule = Schedule(school_id="99990001", school=OWN,
                        lessons=[Lesson(GROUP), Lesson(MISSPELT, day="Tisdag")],
                        ).write(root / "schema.txt")  # fmt: skip
    built = build_directory(root, EXAMPLE_BUNDLE, [schedule], TODAY, OWN)
    with serve(built, root / "serve.log") as served:
        yield served
    said = (root / "serve.log").read_text(encoding="utf-8")  # each worker's own server
    assert "Traceback" not in said and "ERROR" not in said, said


class Tab:
    """One browser context (its own cookies) and page, with what its console said."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.context = browser.new_context(base_url=site.base_url, locale="sv-SE")
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, message: Any) -> None:
        said = console_error(message)
        if said:
            self.errors.append(said)


@pytest.fixture
def tab(chromium_browser: Any, site: Site) -> Iterator[Tab]:
    opened = Tab(chromium_browser, site)
    yield opened
    opened.context.close()


def h1(page: Any) -> str:
    return str(page.locator("main h1").first.inner_text()).strip()


@pytest.fixture(scope="module")
def sessions(site: Site) -> dict[str, list[dict[str, Any]]]:
    """A signed-in session per role (the sign-in itself is tested once, in the browser)."""
    return {role: session_cookies(site, name) for role, name in site.users.items()}


@pytest.fixture
def signed_in(tab: Tab, site: Site, sessions: dict[str, Any]) -> Any:
    """``signed_in(role)``: the tab's page on the overview, signed in as ``role``."""

    def open_as(role: str) -> Any:
        tab.context.add_cookies(sessions[role])
        tab.page.goto("/")
        assert tab.page.url == site.base_url + "/", tab.page.url  # not sent to /login
        return tab.page

    return open_as


# -- signing in and out ----------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_password_and_reaches_the_overview(tab: Tab, site: Site) -> None:
    page = tab.page
    page.goto("/")  # not signed in: to the login page
    assert re.search(r"/login\?next=/$", page.url), page.url
    assert page.locator("html").get_attribute("lang") == "sv"  # Swedish unless English is chosen
    assert h1(page) == text("sv", "Sign in")
    sign_in(page, "olga", "not the password at all")
    alert = page.locator("[role=alert]")
    assert alert.inner_text().strip() == text("sv", "The user name or the password is wrong.")
    assert "/login" in page.url
    sign_in(page, "olga")
    assert page.url == site.base_url + "/"
    assert h1(page) == text("sv", "Overview") == "Översikt"
    assert page.locator("nav a[aria-current=page]").get_attribute("href") == "/"
    assert "olga" in page.locator(".session .who").inner_text()


def test_sign_out_goes_back_to_the_login_page_and_pages_ask_for_it_again(
    tab: Tab, site: Site, chromium_browser: Any
) -> None:
    # a user of its own: signing out ends every session of the user (the other tests' too)
    db = ["--db", site.db_url]
    cli(*db, "admin", "user", "add", "ulla", "--role", "read-only", "--password", PASSWORD)
    page = tab.page
    page.goto("/login")
    sign_in(page, "ulla")
    assert page.url == site.base_url + "/"
    copied = tab.context.cookies()
    page.click("form[action='/logout'] button")
    page.wait_for_url("**/login")
    assert h1(page) == text("sv", "Sign in")
    page.goto("/runs")
    assert re.search(r"/login\?next=/runs$", page.url), page.url
    assert page.locator("input[name=password]").is_visible()
    replayed = Tab(chromium_browser, site)  # a copy of the cookie from before is worth nothing
    try:
        replayed.context.add_cookies(copied)
        replayed.page.goto("/")
        assert "/login" in replayed.page.url, replayed.page.url
    finally:
        replayed.context.close()
    sign_in(page, "ulla")  # and back where the user was going
    assert page.url == site.base_url + "/runs"


# -- held runs ---------------------------------------------------------------------------------


def test_the_overview_shows_the_held_run(tab: Tab, site: Site, signed_in: Any) -> None:
    page = signed_in("read-only")
    held = page.locator("section.alert.held")
    assert held.is_visible()
    first = site.held[0]  # never approved by these tests; the last one may be
    link = held.locator(f"a[href='/runs/{first}']")
    assert link.inner_text().strip() == text("sv", "Run %(id)s") % {"id": first}
    assert "lock-missing-data" in held.inner_text()


def test_an_org_admin_opens_the_held_run_approves_it_and_lands_on_the_applied_run(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("org-admin")
    last = site.held[-1]
    page.click(f"section.alert.held a[href='/runs/{last}']")
    page.wait_for_url(f"**/runs/{last}")
    verdict = page.locator("section.verdict.held")
    assert verdict.locator("h2").inner_text().strip() == text(
        "sv", "Held by a safety lock: nothing was applied"
    )
    lock = verdict.locator("ul").first.inner_text()
    assert "duties" in lock, lock  # the lock's message says what went missing
    assert page.locator(".issue-group .code", has_text="lock-missing-data").count() == 1
    button = page.locator("form.approve button")
    assert button.inner_text().strip() == text("sv", "Approve and apply run %(id)s") % {"id": last}
    button.click()
    page.wait_for_url(re.compile(r"/runs/\d+$"))
    applied = int(page.url.rsplit("/", 1)[1])
    assert applied > last
    assert page.locator("section.verdict.applied h2").inner_text().strip() == text("sv", "Applied")
    assert page.locator(f"section.verdict a[href='/runs/{last}']").is_visible()
    page.goto(f"/runs/{last}")  # the held run now says who approved it, and has no button
    assert page.locator("form.approve").count() == 0
    assert page.locator(f"section.verdict a[href='/runs/{applied}']").is_visible()
    assert not tab.errors


def test_a_read_only_user_sees_the_held_run_without_an_approve_button(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("read-only")
    page.goto(f"/runs/{site.held[0]}")
    verdict = page.locator("section.verdict.held")
    assert verdict.is_visible()
    assert page.locator("form.approve").count() == 0
    assert page.locator("button.danger").count() == 0
    assert text("sv", "An organisation administrator (org-admin) can approve it.") in (
        verdict.inner_text()
    )


def test_the_runs_page_counts_the_runs_it_lists(tab: Tab, site: Site, signed_in: Any) -> None:
    page = signed_in("read-only")
    page.click("nav a[href='/runs']")
    page.wait_for_url("**/runs")
    listed = page.locator("main table tbody tr").count()
    assert listed >= 1 + HELD_RUNS
    said = page.locator("main > p").first.inner_text().strip()
    assert said == plural("sv", "%(num)s run", "%(num)s runs", listed)


# -- troubleshooting ---------------------------------------------------------------------------


def test_troubleshooting_a_misspelt_group_suggests_it_and_opens_the_real_group(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("school-admin")
    page.click("nav a[href='/troubleshoot']")
    page.fill("input[name=q]", MISSPELT)
    page.click("form.search button[type=submit]")
    suggestions = page.locator("section.suggestions")
    assert suggestions.locator("h2").is_visible()
    suggestion = suggestions.locator("button.suggestion")
    assert suggestion.all_inner_texts() == [GROUP]
    difference = how_near(MISSPELT, GROUP)  # how the names differ, as the page says it
    assert difference and text("sv", difference) in suggestions.inner_text()
    suggestion.click()
    page.wait_for_load_state()
    group = page.locator("article.group")
    assert group.count() == 1
    assert group.locator("h2 a").inner_text().strip() == GROUP
    assert page.locator("input[name=q]").input_value() == GROUP
    group.locator("h2 a").click()
    page.wait_for_url("**/groups/*")
    assert page.title().startswith(GROUP)
    facts = page.locator("article.group")
    assert OWN in facts.locator("h2").inner_text()
    assert text("sv", "teaching group") in facts.locator("h2 small").inner_text()
    assert facts.locator("tbody tr").count() >= 2  # its teacher and students
    assert page.locator("section.lessons ul:not(.failed) li").count() >= 1  # its own lessons
    failed = page.locator("ul.failed")  # the lessons written with the wrong name
    assert MISSPELT in failed.inner_text()
    assert text("sv", difference) in failed.inner_text()


# -- persons and the audit log -----------------------------------------------------------------


def test_a_person_is_masked_until_shown_and_the_showing_is_in_the_audit_log(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("org-admin")
    page.click("nav a[href='/persons']")
    page.wait_for_url("**/persons")
    masked = re.compile(r"^\d{8}-\*{4}$")
    rows = page.locator("#results tbody tr")
    row = next(r for r in rows.all() if masked.match(r.locator("td.mono").inner_text().strip()))
    name = row.locator("a").first.inner_text().strip()
    row.locator("a").first.click()
    page.wait_for_url("**/persons/*")
    user_id = page.url.rsplit("/", 1)[1]
    person = next(u for u in site.export["users"] if u["id"] == user_id)
    assert h1(page) == name
    shown = page.locator("#civic-no").inner_text().strip()
    assert masked.match(shown) and shown == f"{person['civic_no'][:8]}-****"
    assert person["civic_no"] not in page.content()
    page.click("form[action$='/civic-no'] button")
    page.wait_for_load_state()
    assert page.locator("#civic-no").inner_text().strip() == person["civic_no"]
    page.click("nav a[href='/audit']")
    page.wait_for_url("**/audit")
    entry = page.locator(f"tbody tr:has(a[href='/persons/{user_id}'])").first
    assert text("sv", "civic-no-shown") in entry.inner_text()
    assert "user olga" in entry.inner_text()
    assert person["civic_no"] not in page.content()  # the log names the person, not the number


def test_a_school_admin_gets_not_found_for_another_schools_group_or_person(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("school-admin")
    for kind, prefix in (("class", "/groups/"), ("person", "/persons/")):
        own = page.goto(prefix + of_school(site, kind, OWN)["id"])
        assert own is not None and own.status == 200
        assert page.locator("main h1", has_text=text("sv", "Not found")).count() == 0
        other = page.goto(prefix + of_school(site, kind, OTHER)["id"])
        assert other is not None and other.status == 404, kind
        assert h1(page) == text("sv", "Not found")
        assert OTHER not in page.inner_text("main")


# -- language ----------------------------------------------------------------------------------


def test_switching_to_english_and_back_changes_the_texts_and_is_kept_across_pages(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("org-admin")
    page.goto("/runs")
    page.click("button[name=lang][value=en]")
    page.wait_for_load_state()
    assert page.url.endswith("/runs")  # back on the page the user was on
    assert page.locator("html").get_attribute("lang") == "en"
    assert h1(page) == "Runs"
    page.click("nav a[href='/']")
    page.wait_for_url(site.base_url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert h1(page) == "Overview"
    assert page.locator("nav a[href='/troubleshoot']").inner_text() == "Troubleshooting"
    assert page.locator("button[name=lang][value=sv]").inner_text() == "Svenska"
    page.click("button[name=lang][value=sv]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "sv"
    assert h1(page) == text("sv", "Overview") != "Overview"  # the texts changed back
    page.goto("/settings")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert h1(page) == text("sv", "Settings")
    assert page.locator("button[name=lang][value=en]").inner_text() == "English"


# -- CSP and htmx ------------------------------------------------------------------------------


def test_the_main_pages_run_without_console_errors_or_csp_violations(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("org-admin")
    for path in MAIN_PAGES:
        answer = page.goto(path)
        assert answer is not None and answer.status == 200, path
        assert "default-src 'self'" in answer.headers["content-security-policy"]
        assert page.evaluate("typeof window.htmx") == "object", path  # its script was allowed
    for path in ("/troubleshoot", "/persons"):  # the forms that post, too
        page.goto(path)
        page.fill("input[name=q]", GROUP if path == "/troubleshoot" else "a")
        page.press("input[name=q]", "Enter")
        page.wait_for_load_state()
    assert not tab.errors, tab.errors


def test_typing_in_the_classes_search_filters_the_list_without_loading_the_page(
    tab: Tab, site: Site, signed_in: Any
) -> None:
    page = signed_in("org-admin")
    page.goto("/classes")
    names = page.locator("#results tbody td:first-child a")
    everyone = names.all_inner_texts()
    assert "7A" in everyone and len(everyone) > 1
    page.evaluate("window.notReloaded = true")
    search = page.locator("input[name=q]")
    with page.expect_request(lambda r: r.headers.get("hx-request") == "true") as asked:
        search.fill("7A")  # an input event, as typing gives
    request = asked.value  # htmx asked (GET or POST), not a page load
    assert request.url.split("?")[0] == site.base_url + "/classes"
    assert "7A" in request.url + (request.post_data or "")
    expect(names).to_have_count(1)
    assert names.all_inner_texts() == ["7A"]
    assert page.evaluate("window.notReloaded") is True  # the same document: htmx swapped it
    assert page.url.endswith("/classes")
    search.fill("")
    expect(names).to_have_count(len(everyone))
    assert page.evaluate("window.notReloaded") is True
    assert not tab.errors, tab.errors


def test_no_leftover_server_errors(site: Site) -> None:
    """The server said nothing on stderr beyond its start line (no tracebacks) so far."""
    assert site.log is not None
    said = site.log.read_text(encoding="utf-8")
    assert "Traceback" not in said and "ERROR" not in said, said
