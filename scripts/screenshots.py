"""Screenshots of the web interface for the documentation, in docs/screenshots/:
``.venv/bin/python scripts/screenshots.py [--size medium|small] [--out DIR]``.

A generated municipality (test personnummer only) is synced with its schedules, then synced once
more without its duties, which a safety lock holds; ``schoolsync serve`` serves it and Debian's
Chromium (/usr/bin/chromium, through Playwright) signs in as an org-admin and photographs the
pages, 1280 pixels wide, in Swedish (the default language). It takes about a minute for a medium
municipality.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from tests.web.browser_support import (  # noqa: E402
    CHROMIUM,
    Site,
    build_directory,
    cli,
    console_error,
    launch,
    serve,
    sign_in,
)

TODAY = date(2025, 10, 15)
WIDTH, HEIGHT = 1280, 800
MASKED = re.compile(r"^\d{8}-\*{4}$")  # a personnummer as lists show it


def _school_unit(bundle: Path) -> str:
    """The first school unit of the bundle (the school-admin's school)."""
    body = json.loads((bundle / "organisations.json").read_text(encoding="utf-8"))
    units = body["data"] if isinstance(body, dict) else body
    return str(next(u["displayName"] for u in units if u["organisationType"] == "Skolenhet"))


def _misspelt_group(site: Site) -> str:
    """A group name the schedule misspells (the generator puts a few in), as the schedule
    writes it: the nearest name differs only in upper/lower case, or in spaces."""
    report = json.loads(cli("--db", site.db_url, "runs", "show", "1", "--json"))
    found = [i["subject"] for i in report["issues"] if i["code"] == "schedule-unknown-group"
             and "differs only in upper/lower case" in i["message"]]  # fmt: skip
    if not found:
        raise SystemExit("The generated schedule has no misspelt group name to troubleshoot.")
    return str(found[0])


def _shoot(page: Page, out: Path, name: str, *, full: bool = True, part: str = "") -> None:
    """``out/NAME.png``: the page (the whole of it, ``full``), or only the element ``part``."""
    page.wait_for_load_state("networkidle")
    path = out / f"{name}.png"
    if part:
        page.locator(part).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full)
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def photograph(site: Site, out: Path, misspelt: str) -> None:
    """Every page of the list, signed in as the org-admin."""
    with sync_playwright() as playwright:
        browser = launch(playwright)
        context = browser.new_context(
            base_url=site.base_url, viewport={"width": WIDTH, "height": HEIGHT}, locale="sv-SE"
        )
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(console_error(m) or ""))
        page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

        page.goto("/login")
        page.fill("input[name=username]", site.users["org-admin"])
        _shoot(page, out, "login", full=False)
        sign_in(page, site.users["org-admin"])
        _shoot(page, out, "oversikt")

        page.goto("/runs")
        _shoot(page, out, "korningar")

        page.goto(f"/runs/{site.held[0]}")
        _shoot(page, out, "korning-hallen")

        page.goto("/runs/1")
        _shoot(page, out, "korning-problem", part="main > section:has(details.issue-group)")

        page.goto("/troubleshoot")
        page.fill("input[name=q]", misspelt)
        page.click("form.search button[type=submit]")
        page.wait_for_selector("section.suggestions")
        _shoot(page, out, "felsokning-forslag")

        page.click("section.suggestions button.suggestion")
        page.wait_for_selector("article.group h2 a")
        page.click("article.group h2 a")
        page.wait_for_url("**/groups/*")
        _shoot(page, out, "grupp")

        page.goto("/persons")
        rows = page.locator("#results tbody tr").all()
        student = next(r for r in rows if MASKED.match(r.locator("td.mono").inner_text().strip()))
        student.locator("a").first.click()
        page.wait_for_url("**/persons/*")
        _shoot(page, out, "person")

        page.goto("/settings")
        _shoot(page, out, "installningar")

        context.close()
        browser.close()
        if any(errors):
            print("The browser's console reported errors:", *filter(None, errors), sep="\n  ")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="medium", choices=["small", "medium"])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium fonts-dejavu-core")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="schoolsync-screenshots-") as tmp:
        root = Path(tmp)
        began = time.monotonic()
        bundle = root / "bundle"
        print(f"Generating a {args.size} municipality and syncing it …")
        cli("--today", TODAY.isoformat(), "generate", "--size", args.size, "--out", str(bundle))
        schedules = sorted((bundle / "schedule").glob("*.txt"))
        site = build_directory(
            root, bundle, schedules, TODAY, _school_unit(bundle), held_runs=1, export=False
        )
        misspelt = _misspelt_group(site)
        print(f"A {args.size} municipality synced in {time.monotonic() - began:.0f} s; pages:")
        with serve(site, root / "serve.log") as served:
            photograph(served, out, misspelt)
        said = (root / "serve.log").read_text(encoding="utf-8")
        if "Traceback" in said:
            print("schoolsync serve reported an error:", said, sep="\n")


if __name__ == "__main__":
    main()
