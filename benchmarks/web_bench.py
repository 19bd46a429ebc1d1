"""Benchmark (issue 11): how fast the administrators' web interface answers, page by page, over
real HTTP; the issue asks for pages under 300 ms at medium size.

For each size and database the register bundle of ``sync_bench`` (``schoolsync generate``, same
seed; its schedule exports under BUNDLE/schedule/, so that lessons exist) is synced twice into a
directory of its own: the register and the schedules, then the register with 1% of the persons
changed and the same schedules, so that the dashboard compares two runs that differ a little.
Two users are added with ``schoolsync admin user add``: an org-admin and a school-admin of the
school with the most students. Then a real ``schoolsync serve`` is started on 127.0.0.1 at a free
port; each user signs in over HTTP (``GET /login`` for the session cookie and the form's CSRF
token, ``POST /login``), and every page below is asked for, after a warm-up, ``--repeat`` times
(fewer when the page's samples pass ``--page-seconds``), one request at a time:

  /  /runs  /runs/{last sync}  /runs/{last sync}?log=2  /schools  /classes  POST /classes (q=7)
  /groups  /groups/{a group}  /persons  POST /persons (a family name)  /persons/{a person}
  POST /troubleshoot (a real group's name, and the name misspelt)  /settings  /audit

The group is the school's teaching group with the most lessons, the person its student in the
most groups, the family name the school's most common one. Times are the client's: from sending
the request to the last byte of the answer (loopback HTTP included, about a millisecond). For each
page: p50, p95 (nearest rank) and max in ms, and the size of the HTML; a p95 over
``TARGET_MS`` is marked. A school-admin's /audit is refused (403), as it should be: timed anyway.

For comparison the REST API's /api/v1/users?limit=100 is paged through, cursor after cursor, with
an org-admin token and a school-admin token of the same school (``--no-api`` skips it).

PostgreSQL: a database of its own (``DB_NAME``) is created on the server of --postgres-url, and
dropped at the end. SQLite: OUT/web-SIZE.db. --keep keeps the directory (and a marker), so that a
later run with --reuse measures it again without syncing, or a profiler can be pointed at it.

Usage:
  python benchmarks/web_bench.py [--sizes medium] [--db sqlite,postgresql]
      [--postgres-url URL] [--out DIR] [--markdown] [--repeat N] [--warm-up N]
      [--page-seconds S] [--no-api] [--keep] [--reuse] [--fresh]

Exit status 1 when a page's p95 is over TARGET_MS (each such page is named on stderr).

--out DIR (default bench-out, shared with sync_bench and api_bench: their bundles are reused)
holds the bundles, the SQLite files, the server's log, results-web.json and results-web.md (a
Markdown table; --markdown prints it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))

import sync_bench as sb

TARGET_MS = 300.0  # the issue's: pages answer in under 300 ms at medium size
SIZES = ("tiny", "small", "medium", "large")
DB_NAME = "schoolsync_webbench"
PASSWORD = "webbench-password-1"  # a benchmark directory's users only
USERS = {"org-admin": "bench-org", "school-admin": "bench-school"}
API_LIMIT = 100
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


# --- The directory ---------------------------------------------------------------------------


class Directory:
    """The directory the pages read: a SQLite file, or a PostgreSQL database of its own."""

    def __init__(self, kind: str, size: str, args: argparse.Namespace) -> None:
        self.kind = kind
        self.marker = args.out.resolve() / f"web-{size}-{kind}.done"
        if kind == "sqlite":
            self.path = args.out.resolve() / f"web-{size}.db"
            self.url = f"sqlite:///{self.path}"
            self.admin_url = ""
        else:
            base = make_url(args.postgres_url)
            self.url = base.set(database=DB_NAME).render_as_string(hide_password=False)
            admin = base.set(drivername="postgresql")
            self.admin_url = admin.render_as_string(hide_password=False)

    def exists(self) -> bool:
        """Whether a kept directory is there to be measured again."""
        if not self.marker.exists():
            return False
        if self.kind == "sqlite":
            return self.path.exists()
        with self._admin() as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
            return found.fetchone() is not None

    @contextmanager
    def _admin(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = psycopg.connect(self.admin_url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise SystemExit(f"PostgreSQL at {self.admin_url} is not reachable: {exc}") from exc
        with conn:
            yield conn

    def create(self) -> None:
        """An empty directory (what was there before is dropped)."""
        self.drop()
        if self.kind == "postgresql":
            with self._admin() as conn:
                conn.execute(f"CREATE DATABASE {sb.q(DB_NAME)}")

    def drop(self) -> None:
        self.marker.unlink(missing_ok=True)
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        with self._admin() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {sb.q(DB_NAME)} WITH (FORCE)")


@dataclass
class Sync:
    """One of the two syncs that fill the directory."""

    label: str
    run_id: int
    seconds: float
    peak_mb: float
    changes: int


def sync(directory: Directory, label: str, sources: list[str]) -> Sync:
    """``schoolsync sync --json``, which must be applied."""
    m = sb.run_measured(sb.schoolsync(directory.url, "sync", "--json", *sources))
    report = json.loads(m.output)
    if report["status"] != "applied":
        raise SystemExit(f"{label}: the run was {report['status']}, not applied")
    changes = sum(n for counts in report["changes"].values() for n in counts.values())
    return Sync(label, int(report["run_id"]), m.seconds, m.peak_mb, changes)


@dataclass
class Fixtures:
    """What the pages are asked about: all of them visible to the school-admin too."""

    school: str  # the school-admin's school (name)
    school_id: str
    last_sync: int
    group_id: str
    group_name: str
    misspelt: str
    person_id: str
    family_name: str
    counts: dict[str, int] = field(default_factory=dict)


def one(conn: sa.Connection, sql: str, **params: Any) -> Any:
    """The first row of a query (it must have one)."""
    row = conn.execute(sa.text(sql), params).first()
    if row is None:
        raise SystemExit(f"the directory has nothing for: {sql}")
    return row


def misspell(name: str, taken: set[str]) -> str:
    """The name with one letter left out (the last one that leaves a name no group has)."""
    for i in reversed(range(len(name))):
        candidate = name[:i] + name[i + 1 :]
        if name[i].isalnum() and candidate.strip() and candidate not in taken:
            return candidate
    return name + "x"


def fixtures(url: str) -> Fixtures:
    """Choose the school, group, person and name the pages are asked about."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            school_id, school = one(
                conn,
                "SELECT s.id, s.name FROM schools s JOIN user_schools l ON l.school_id = s.id "
                "WHERE l.role = 'student' GROUP BY s.id, s.name ORDER BY count(*) DESC, s.name "
                "LIMIT 1",
            )
            group_id, group_name = one(
                conn,
                "SELECT g.id, g.name FROM groups g JOIN lessons l ON l.group_id = g.id "
                "WHERE g.school_id = :school AND g.kind = 'group' GROUP BY g.id, g.name "
                "ORDER BY count(*) DESC, g.id LIMIT 1",
                school=school_id,
            )
            (person_id,) = one(
                conn,
                "SELECT u.id FROM users u JOIN user_schools l ON l.user_id = u.id "
                "JOIN memberships m ON m.user_id = u.id "
                "WHERE l.school_id = :school AND l.role = 'student' AND NOT u.protected "
                "GROUP BY u.id ORDER BY count(*) DESC, u.id LIMIT 1",
                school=school_id,
            )
            (family,) = one(
                conn,
                "SELECT u.family_name FROM users u JOIN user_schools l ON l.user_id = u.id "
                "WHERE l.school_id = :school GROUP BY u.family_name "
                "ORDER BY count(*) DESC, u.family_name LIMIT 1",
                school=school_id,
            )
            (last_sync,) = one(
                conn, "SELECT max(id) FROM runs WHERE kind = 'sync' AND status = 'applied'"
            )
            taken = set(conn.execute(sa.text("SELECT DISTINCT name FROM groups")).scalars())
            counts = {
                table: int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
                for table in ("users", "user_schools", "groups", "memberships", "lessons",
                              "changes", "run_issues", "runs")
            }  # fmt: skip
    finally:
        engine.dispose()
    return Fixtures(
        school=school,
        school_id=school_id,
        last_sync=int(last_sync),
        group_id=group_id,
        group_name=group_name,
        misspelt=misspell(group_name, taken),
        person_id=person_id,
        family_name=family,
        counts=counts,
    )


def add_users(directory: Directory, school: str) -> None:
    """The two users who sign in (``schoolsync admin user add``)."""
    for role, name in USERS.items():
        where = ["--school", school] if role == "school-admin" else []
        cmd = ["admin", "user", "add", name, "--role", role, *where, "--password", PASSWORD]
        sb.run_measured(sb.schoolsync(directory.url, *cmd))


def add_token(directory: Directory, role: str, school: str) -> str:
    """A REST API token (a new name each time: a kept directory keeps its old ones)."""
    where = ["--school", school] if role == "school-admin" else []
    name = f"webbench-{role}-{uuid.uuid4().hex[:8]}"
    cmd = ["admin", "token", "add", name, "--role", role, *where]
    return sb.run_measured(sb.schoolsync(directory.url, *cmd)).output.strip().splitlines()[-1]


# --- The server ------------------------------------------------------------------------------


@dataclass
class Server:
    """A running ``schoolsync serve``."""

    proc: subprocess.Popen[bytes]
    base: str

    def peak_mb(self) -> float | None:
        """The server's peak RSS so far (VmHWM), in MiB."""
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text(encoding="utf-8")
        except OSError:
            return None
        found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        return int(found.group(1)) / 1024 if found else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(directory: Directory, log: Path) -> Iterator[Server]:
    """``schoolsync serve`` on 127.0.0.1 at a free port, until it answers; stopped after."""
    port = free_port()
    cmd = sb.schoolsync(directory.url, "serve", "--host", "127.0.0.1", "--port", str(port))
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    server = Server(proc, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                stopped = f"schoolsync serve stopped ({proc.returncode})"
                raise SystemExit(f"{stopped}:\n{log.read_text()}")
            try:
                if httpx.get(f"{server.base}/login", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"schoolsync serve did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- The pages -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page to time: a label, the method, the path, a form (its CSRF token added), and the
    status the role should get."""

    key: str
    method: str
    path: str
    form: dict[str, str] | None = None
    expect: int = 200
    contains: str | None = None  # text the answer must hold (HTML-escaped as the page has it)
    shown: str | None = None  # the path as the table shows it (ids as placeholders)


def pages(f: Fixtures, role: str) -> list[Page]:
    """Every page of the brief, for one role."""
    run = f"/runs/{f.last_sync}"
    esc = html_escape
    return [
        Page("overview", "GET", "/"),
        Page("runs", "GET", "/runs"),
        Page("run", "GET", run, shown="/runs/{last sync}"),
        Page("run log=2", "GET", f"{run}?log=2", shown="/runs/{last sync}?log=2"),
        Page("schools", "GET", "/schools", contains=esc(f.school)),
        Page("classes", "GET", "/classes"),
        Page("classes q=7", "POST", "/classes", {"q": "7"}, shown="/classes q=7"),
        Page("groups", "GET", "/groups"),
        Page("group", "GET", f"/groups/{f.group_id}", contains=esc(f.group_name),
             shown="/groups/{group}"),
        Page("persons", "GET", "/persons"),
        Page("persons POST q", "POST", "/persons", {"q": f.family_name},
             contains=esc(f.family_name), shown="/persons q={family name}"),
        Page("person", "GET", f"/persons/{f.person_id}", shown="/persons/{person}"),
        Page("troubleshoot", "POST", "/troubleshoot", {"q": f.group_name},
             contains=esc(f.group_name), shown="/troubleshoot q={group name}"),
        Page("troubleshoot misspelt", "POST", "/troubleshoot", {"q": f.misspelt},
             shown="/troubleshoot q={misspelt}"),
        Page("settings", "GET", "/settings"),
        Page("audit", "GET", "/audit", expect=200 if role == "org-admin" else 403),
    ]  # fmt: skip


def html_escape(text: str) -> str:
    """Text as Jinja's autoescape writes it."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace('"', "&#34;").replace("'", "&#39;")
    )  # fmt: skip


def csrf_of(html: str, where: str) -> str:
    found = CSRF.search(html)
    if found is None:
        raise SystemExit(f"{where}: no CSRF token in the page")
    return found.group(1)


def sign_in(client: httpx.Client, username: str) -> str:
    """Sign in as a browser does; the signed-in session's CSRF token."""
    login = client.get("/login")
    login.raise_for_status()
    answer = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf": csrf_of(login.text, "/login"),
              "next": "/"},
    )  # fmt: skip
    if answer.status_code != 303:
        raise SystemExit(f"signing in as {username}: {answer.status_code}\n{answer.text[:2000]}")
    home = client.get("/settings")  # the session's new token (sign-in makes one)
    home.raise_for_status()
    return csrf_of(home.text, "/settings")


@dataclass
class Timing:
    """One page's samples, in ms."""

    db: str
    role: str
    key: str
    method: str
    path: str
    status: int
    bytes: int
    samples_ms: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def max(self) -> float:
        return max(self.samples_ms)

    @property
    def over(self) -> bool:
        return self.p95 > TARGET_MS


def ask(client: httpx.Client, page: Page, csrf: str) -> tuple[httpx.Response, float]:
    """One request, timed (ms) to the answer's last byte."""
    data = {**page.form, "csrf": csrf} if page.form is not None else None
    start = time.perf_counter()
    answer = client.request(page.method, page.path, data=data)
    seconds = time.perf_counter() - start
    return answer, seconds * 1000


def time_page(
    client: httpx.Client, page: Page, csrf: str, kind: str, role: str, args: argparse.Namespace
) -> Timing:
    """Warm up, then ``--repeat`` timed requests (at least 5; no more once ``--page-seconds``
    of samples are in)."""
    for _ in range(args.warm_up):
        answer, _ms = ask(client, page, csrf)
    first, _ms = ask(client, page, csrf)
    where = f"{kind} {role} {page.method} {page.path}"
    if first.status_code != page.expect:
        raise SystemExit(f"{where}: {first.status_code}, not {page.expect}\n{first.text[:3000]}")
    if page.contains is not None and page.contains not in first.text:
        raise SystemExit(f"{where}: the page does not show {page.contains!r}")
    samples: list[float] = []
    spent = 0.0
    while len(samples) < args.repeat and (len(samples) < 5 or spent < args.page_seconds * 1000):
        answer, ms = ask(client, page, csrf)
        if answer.status_code != page.expect:
            raise SystemExit(f"{where}: {answer.status_code} on a repeat")
        samples.append(ms)
        spent += ms
    return Timing(kind, role, page.key, page.method, page.shown or page.path,
                  first.status_code, len(first.content), samples)  # fmt: skip


def time_role(
    server: Server, f: Fixtures, kind: str, role: str, args: argparse.Namespace
) -> list[Timing]:
    """Every page for one signed-in user."""
    out = []
    with httpx.Client(base_url=server.base, timeout=120) as client:
        csrf = sign_in(client, USERS[role])
        for page in pages(f, role):
            timing = time_page(client, page, csrf, kind, role, args)
            out.append(timing)
            flag = "  OVER" if timing.over else ""
            print(
                f"  {kind} {role:12} {page.key:22} p50 {timing.p50:7.1f}  p95 {timing.p95:7.1f}"
                f"  max {timing.max:7.1f} ms  {timing.bytes / 1024:6.1f} KiB"
                f"  (n={len(timing.samples_ms)}){flag}",
                flush=True,
            )
    return out


@dataclass
class ApiWalk:
    """The REST API's users paged through once."""

    db: str
    role: str
    requests: int
    users: int
    seconds: float
    bytes: int
    samples_ms: list[float]

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def walk_users(server: Server, token: str, kind: str, role: str) -> ApiWalk:
    """GET /api/v1/users?limit=API_LIMIT, cursor after cursor, to the end (after one untimed
    first page)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base, timeout=120, headers=headers) as client:
        client.get("/api/v1/users", params={"limit": API_LIMIT}).raise_for_status()
        samples: list[float] = []
        users = size = 0
        cursor = None
        start = time.perf_counter()
        while True:
            params: dict[str, Any] = {"limit": API_LIMIT}
            if cursor:
                params["cursor"] = cursor
            t0 = time.perf_counter()
            answer = client.get("/api/v1/users", params=params)
            samples.append((time.perf_counter() - t0) * 1000)
            if answer.status_code != 200:
                raise SystemExit(f"/api/v1/users: {answer.status_code}\n{answer.text[:2000]}")
            body = answer.json()
            users += len(body["data"])
            size += len(answer.content)
            cursor = body["next_cursor"]
            if cursor is None:
                break
        seconds = time.perf_counter() - start
    walk = ApiWalk(kind, role, len(samples), users, seconds, size, samples)
    print(
        f"  {kind} {role:12} API users: {walk.requests} requests, {users:,} users, "
        f"{seconds:.1f} s, p50 {walk.quantile(0.5):.1f} p95 {walk.quantile(0.95):.1f} ms",
        flush=True,
    )
    return walk


# --- One size on one database ----------------------------------------------------------------


@dataclass
class WebBench:
    """One size on one database."""

    size: str
    db: str
    persons: int
    fixtures: Fixtures | None = None
    syncs: list[Sync] = field(default_factory=list)
    pages: list[Timing] = field(default_factory=list)
    api: list[ApiWalk] = field(default_factory=list)
    server_peak_mb: float | None = None
    reused: bool = False


def bench(size: str, kind: str, bundles: sb.Bundles, args: argparse.Namespace) -> WebBench:
    """Fill the directory (or reuse a kept one), serve it, time every page for both roles."""
    result = WebBench(size, kind, bundles.persons)
    directory = Directory(kind, size, args)
    if args.reuse and directory.exists():
        result.reused = True
        print(f"  {size} {kind}: reusing the kept directory ({directory.marker.name})")
    else:
        directory.create()
        first = sync(directory, "register + schedules", bundles.sources("register")
                     + [str(p) for p in bundles.schedules])  # fmt: skip
        result.syncs.append(first)
        print(f"  {size} {kind}: first sync {first.seconds:.1f} s ({first.changes:,} changes)")
        second = sync(directory, "1% changed + schedules", bundles.sources("changed+schedules"))
        result.syncs.append(second)
        print(f"  {size} {kind}: second sync {second.seconds:.1f} s ({second.changes:,} changes)")
    try:
        f = fixtures(directory.url)
        result.fixtures = f
        if not result.reused:
            add_users(directory, f.school)
            directory.marker.write_text(f"{f.school}\n", encoding="utf-8")
        print(
            f"  {size} {kind}: school-admin of {f.school}; group {f.group_name!r} "
            f"(misspelt {f.misspelt!r}), search {f.family_name!r}, run {f.last_sync}",
            flush=True,
        )
        tokens = {}
        if not args.no_api:
            tokens = {role: add_token(directory, role, f.school) for role in USERS}
        with serving(directory, args.out.resolve() / f"web-serve-{size}-{kind}.log") as server:
            for role in USERS:
                result.pages += time_role(server, f, kind, role, args)
            for role, token in tokens.items():
                result.api.append(walk_users(server, token, kind, role))
            result.server_peak_mb = server.peak_mb()
    finally:
        if not args.keep:
            directory.drop()
    return result


# --- Report ----------------------------------------------------------------------------------


HEADER = ("page", "request", "n", "p50 ms", "p95 ms", "max ms", "HTML KiB", f"p95 ≤{TARGET_MS:g}")


def row(timing: Timing) -> list[str]:
    """The columns of one page (after the database and the role)."""
    verdict = "**OVER**" if timing.over else "ok"
    if timing.status != 200:
        verdict += f" ({timing.status})"
    return [
        timing.key,
        f"{timing.method} {timing.path}",
        str(len(timing.samples_ms)),
        f"{timing.p50:.1f}",
        f"{timing.p95:.1f}",
        f"{timing.max:.1f}",
        f"{timing.bytes / 1024:.1f}",
        verdict,
    ]


def print_table(b: WebBench) -> None:
    """A readable text table of one size on one database."""
    rows = [["role", *HEADER], *([t.role, *row(t)] for t in b.pages)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\n{b.size} ({b.persons:,} persons) on {b.db}")
    for cells in rows:
        text = [
            c.ljust(w) if i in (0, 1, 2, 8) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        print("  " + "  ".join(text).rstrip())


def markdown(benches: list[WebBench], args: argparse.Namespace) -> str:
    """All results as Markdown tables: the pages, then the REST API walks."""
    lines = [
        f"A real `schoolsync serve` on 127.0.0.1, asked one request at a time over HTTP by a "
        f"signed-in user (httpx); each page warmed up {args.warm_up}×, then timed up to "
        f"{args.repeat}× (at least 5, fewer once {args.page_seconds:g} s of samples are in). "
        f"Client-side times to the answer's last byte; p95 is the nearest rank. The directory: "
        f"the register and its schedule exports synced, then again with 1% of the persons "
        f"changed. p95 over {TARGET_MS:g} ms is marked **OVER**; a school-admin's /audit is "
        f"refused (403) by design.",
        "",
    ]
    for b in benches:
        f = b.fixtures
        if f is not None:
            counts = ", ".join(f"{n:,} {table}" for table, n in f.counts.items())
            lines += [
                f"**{b.size} on {b.db}** ({counts}); school-admin of {f.school}; group "
                f"`{f.group_name}` (misspelt `{f.misspelt}`), persons searched for "
                f"`{f.family_name}`; run {f.last_sync}; {synced(b)}; server peak RSS "
                f"{sb_number(b.server_peak_mb)} MB.",
                "",
            ]
        lines += [
            "| db | role | " + " | ".join(HEADER) + " |",
            "|---|---|---|---|" + "---:|" * 5 + "---|",
        ]
        lines += ["| " + " | ".join([b.db, t.role, *row(t)]) + " |" for t in b.pages]
        lines.append("")
    walks = [w for b in benches for w in b.api]
    if walks:
        lines += [
            f"REST API, for comparison: GET /api/v1/users?limit={API_LIMIT} paged through to the "
            f"end (one untimed first page before).",
            "",
            "| db | token | requests | users | total s | p50 ms | p95 ms | max ms | KiB/page |",
            "|---|---|" + "---:|" * 7,
        ]
        for w in walks:
            lines.append(
                f"| {w.db} | {w.role} | {w.requests} | {w.users:,} | {w.seconds:.1f} | "
                f"{w.quantile(0.5):.1f} | {w.quantile(0.95):.1f} | {max(w.samples_ms):.1f} | "
                f"{w.bytes / 1024 / max(1, w.requests):.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def page_json(timing: Timing) -> dict[str, Any]:
    """One page's results, with its quantiles."""
    quantiles = {"p50_ms": timing.p50, "p95_ms": timing.p95, "max_ms": timing.max}
    return asdict(timing) | quantiles | {"over": timing.over}


def synced(b: WebBench) -> str:
    """How the directory was filled."""
    if b.reused:
        return "a kept directory (--reuse)"
    return "synced in " + " + ".join(f"{x.seconds:.1f} s" for x in b.syncs)


def sb_number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def parse_args() -> argparse.Namespace:
    """The command line (see the top)."""
    parser = sb.bench_parser(__doc__, "small,medium,large")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page (most)")
    parser.add_argument("--warm-up", type=int, default=2, help="untimed requests per page first")
    parser.add_argument(
        "--page-seconds", type=float, default=10, help="no more samples of a page after these"
    )
    parser.add_argument("--no-api", action="store_true", help="skip the REST API walk")
    parser.add_argument("--keep", action="store_true", help="keep the directories afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure kept directories again")
    parser.add_argument("--fresh", action="store_true", help="generate the bundles again")
    args = parser.parse_args()
    if args.repeat < 1 or args.warm_up < 0:
        parser.error("--repeat must be at least 1, --warm-up at least 0")
    return args


def src_digest() -> str:
    """A digest of src/ as it is (others edit the tree: which code was measured)."""
    digest = hashlib.sha256()
    for path in sorted((sb.ROOT / "src").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(sb.ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def main() -> int:
    """Run the benchmark; exit status 1 when a page's p95 is over TARGET_MS."""
    args = parse_args()
    sizes = list(dict.fromkeys(s for s in args.sizes.split(",") if s))
    if unknown := set(sizes) - set(SIZES):
        raise SystemExit(f"--sizes: unknown size {', '.join(sorted(unknown))}")
    kinds = [k for k in args.db.split(",") if k]
    if unknown := set(kinds) - {"sqlite", "postgresql"}:
        raise SystemExit(f"--db: unknown database {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    bytecode = sb.cache_bytecode(args.out)
    load_before = os.getloadavg()  # others' work on the machine shows in the times
    digest = src_digest()
    startup = sb.run_measured(sb.schoolsync(None, "--version"))
    benches: list[WebBench] = []
    for size in sizes:
        bundles = sb.prepare_bundles(size, args.out.resolve(), args.fresh)
        for kind in kinds:
            benches.append(bench(size, kind, bundles, args))
            print_table(benches[-1])
    meta = sb.meta(startup)
    results = {
        "meta": {
            **meta,
            "bytecode": bytecode,
            "target_ms": TARGET_MS,
            "repeat": args.repeat,
            "warm_up": args.warm_up,
            "page_seconds": args.page_seconds,
            "loadavg_before": load_before,
            "loadavg_after": os.getloadavg(),
            "src_digest_before": digest,
            "src_digest_after": src_digest(),
        },
        "results": [{**asdict(b), "pages": [page_json(t) for t in b.pages]} for b in benches],
    }
    (args.out / "results-web.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = markdown(benches, args)
    table += (
        f"\nLoad average (1, 5, 15 min) before: {', '.join(f'{x:.1f}' for x in load_before)}; "
        f"after: {', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs). "
        f"src/ digest {digest}"
        + ("" if src_digest() == digest else " (src/ changed meanwhile)")
        + ".\n"
    )
    (args.out / "results-web.md").write_text(table, encoding="utf-8")
    if args.markdown:
        print("\n" + table)
    print(f"\nwrote {args.out / 'results-web.json'} and {args.out / 'results-web.md'}")
    over = [f"{t.db} {t.role} {t.key}" for b in benches for t in b.pages if t.over]
    for what in over:
        print(f"OVER {TARGET_MS:g} ms (p95): {what}", file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
