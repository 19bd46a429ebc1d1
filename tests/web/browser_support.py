"""A served directory for a real browser: synced, with a held run and one user per role, behind a
real ``schoolsync serve`` on 127.0.0.1; and Chromium (Debian's, never a downloaded one) through
Playwright's sync API. Used by tests/web/test_browser.py and scripts/screenshots.py."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from schoolsync.web import i18n
from tests.conftest import invoke

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
HELD_RUNS = 2  # two syncs held by the same lock: one to approve, one that stays held


def chromium_required() -> bool:
    """Whether a missing browser fails the tests (CI) instead of skipping them (locally)."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get("SCHOOLSYNC_REQUIRE_POSTGRES") == "1"


def text(lang: str, message: str) -> str:
    """A text of the interface as the served catalogue gives it in ``lang`` (the catalogue may
    not yet translate everything: then the English as written)."""
    return i18n.translations(lang).gettext(message)


def console_error(message: Any) -> str | None:
    """A console message worth failing on: an error, but not the missing /favicon.ico (the site
    has none, and Chromium asks for it on its own, whenever it gets round to it)."""
    if message.type != "error":
        return None
    where = (message.location or {}).get("url", "")
    if where.endswith("/favicon.ico"):
        return None
    return f"console: {message.text} ({where})"


def plural(lang: str, singular: str, several: str, n: int) -> str:
    """A text with a count, as the served catalogue gives it in ``lang``."""
    return i18n.translations(lang).ngettext(singular, several, n) % {"num": n}


@dataclass
class Site:
    """A served directory: where it is, its held runs, its users and its export."""

    db_url: str
    today: date
    held: list[int]
    users: dict[str, str]  # role -> user name
    export: dict[str, Any]
    base_url: str = ""
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def cli(*args: str) -> str:
    """``schoolsync ARGS`` (in this process); its output, or an error with its stderr."""
    result = invoke(*args)
    if result.code != 0:
        raise RuntimeError(f"schoolsync {' '.join(args)} exited {result.code}: {result.err}")
    return result.out


def build_directory(
    root: Path,
    bundle: Path,
    schedules: Sequence[Path],
    today: date,
    school: str,
    held_runs: int = HELD_RUNS,
    export: bool = True,
) -> Site:
    """A SQLite directory under ``root``: ``bundle`` (and ``schedules``) synced and applied, then
    ``held_runs`` syncs of the bundle (and schedules) without the bundle's duties, each held by
    the missing-data lock (R10); an org-admin ``olga``, a school-admin ``sara`` of ``school``
    and a read-only ``rut``, added through the CLI; with ``export``, the directory's export."""
    root.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite:///{root / 'directory.db'}"
    db = ["--db", db_url, "--today", today.isoformat()]
    first = json.loads(cli(*db, "sync", "--json", str(bundle), *map(str, schedules)))
    assert first["status"] == "applied", first["status"]
    lost = root / "bundle-without-duties"
    shutil.copytree(bundle, lost, ignore=shutil.ignore_patterns("schedule"))
    (lost / "duties.json").unlink()  # the export lost its duties: held by lock-missing-data
    held = []
    for _ in range(held_runs):
        result = invoke(*db, "sync", "--json", str(lost), *map(str, schedules))
        assert result.code == 3, (result.code, result.err)  # 3: held
        report = json.loads(result.out)
        assert report["status"] == "held", report["status"]
        held.append(int(report["run_id"]))
    users = {"org-admin": "olga", "school-admin": "sara", "read-only": "rut"}
    for role, name in users.items():
        schools = ["--school", school] if role == "school-admin" else []
        cli(*db, "admin", "user", "add", name, "--role", role, *schools, "--password", PASSWORD)
    exported = json.loads(cli(*db, "export", "--json")) if export else {}
    return Site(db_url=db_url, today=today, held=held, users=users, export=exported)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(site: Site, log: Path) -> Iterator[Site]:
    """``schoolsync serve`` on 127.0.0.1 and a free port (its stderr in ``log``), until the
    block ends; ``site.base_url`` is where it answers."""
    port = _free_port()
    cmd = [sys.executable, "-m", "schoolsync", "--db", site.db_url, "--today",
           site.today.isoformat(), "serve", "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "200"}
    with log.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(cmd, stdout=err, stderr=err, env=env)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"schoolsync serve did not answer: {log.read_text()}")
                time.sleep(0.1)
            site.base_url, site.log = base, log
            yield site
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium, headless (Playwright's own browsers are never downloaded)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in on the login page (already open, or opened here)."""
    if "/login" not in page.url:
        page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("section.login button[type=submit]")
    page.wait_for_load_state()


def session_cookies(site: Site, username: str, password: str = PASSWORD) -> list[dict[str, Any]]:
    """A signed-in session of ``username`` as browser cookies (signed in over plain HTTP, as a
    browser does, but without one: for tests about something else than signing in)."""
    with httpx.Client(base_url=site.base_url) as client:
        page = client.get("/login").text
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page[:500]
        form = {"username": username, "password": password, "csrf": found.group(1), "next": "/"}
        done = client.post("/login", data=form)
        assert done.status_code == 303, done.text
        return [{"name": name, "value": value, "url": site.base_url}
                for name, value in client.cookies.items()]  # fmt: skip


def of_school(site: Site, kind: str, school: str) -> dict[str, Any]:
    """A class, or a person linked to ``school`` only (with a personnummer), of the export."""
    if kind == "class":
        return next(c for c in site.export["classes"] if c["school"] == school)
    return next(
        u
        for u in site.export["users"]
        if u["civic_no"] and {s["school"] for s in u["schools"]} == {school}
    )
