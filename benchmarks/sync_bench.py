"""Benchmark (issue 9): how fast and how lean schoolsync syncs a municipality, next to the floor.

For each size and database it runs five steps, each a fresh ``schoolsync sync --json`` process
(the CLI, so the benchmark does not depend on the engine's modules), and records the wall time
(process start included) and the peak RSS (``ru_maxrss`` from ``wait4``; each step is started by
a small spawner process, so the peak is the step's own):

  first        first sync of the register (SS 12000 bundle) into an empty directory
  noop         no-op re-sync of the same register (writes only its run record and issues)
  1pct         re-sync of a copy of the register where 1% of the persons changed
  sched_first  that register (unchanged now) plus every Novaschem export that ``schoolsync
               generate`` wrote under BUNDLE/schedule/: the lessons' first sync
  nightly      the same register and schedules again, nothing changed

The floor is writing the same rows with no logic at all: the rows the first sync inserted (and
those the schedule first sync inserted: the lessons, their change log, the run and its issues),
read back from the directory and inserted in one transaction with plain DBAPI (sqlite3 / psycopg,
no SQLAlchemy), values as the database stores them:

  floor a  into plain rowid tables: the same columns, no primary key, no index, no constraint
  floor b  into the directory's real schema, made by ``schoolsync init`` (every key, unique and
           secondary index, foreign keys on), which first gets, untimed, what the directory held
           before the step

SQLite inserts with executemany, PostgreSQL with COPY (both floors): psycopg's executemany into
the real schema took 21 s for the medium register's rows where COPY took 14 s, so it is no floor.

A step's "× a" and "× b" are its time over its reference floor: the register floor for the three
register steps, the schedule floor for the schedule first sync, both added up for the nightly run.

Memory budget: when the medium size runs, its nightly no-op must peak under
MEDIUM_NIGHTLY_BUDGET_MB, else the benchmark says which and exits with status 1. For the large
size the issue's targets (LARGE_TARGETS) are shown as met or not met.

Usage:
  python benchmarks/sync_bench.py [--sizes small,medium] [--large] [--db sqlite,postgresql]
      [--postgres-url URL] [--out DIR] [--markdown] [--no-floor] [--fresh]
  python benchmarks/sync_bench.py --check-budget [--db sqlite]   (medium steps only, no floors)

--out DIR (default bench-out) holds the generated bundles, the SQLite files while they are
measured, results.json and results.md (a Markdown table for the README; --markdown prints it).
"""

from __future__ import annotations

import argparse
import gc
import graphlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg

MEDIUM_NIGHTLY_BUDGET_MB = 1350
"""Peak RSS allowed to the medium nightly no-op (register + schedules, nothing changed), in MiB.

1.5x what it measured when the budget was set (main at aea38e6: SQLite 786 MB, PostgreSQL 901 MB).
"""


@dataclass(frozen=True)
class Target:
    """An issue 9 target for the large size: wall seconds, and peak RSS in MiB if it has one."""

    seconds: float
    peak_mb: float | None = None


LARGE_TARGETS = {
    "first": Target(60, 1.5 * 1024),
    "noop": Target(15),
    "1pct": Target(20),
    "sched_first": Target(60),
    "nightly": Target(30, 2 * 1024),
}

STEPS = (  # key, label, sources
    ("first", "first sync (register)", "register"),
    ("noop", "no-op re-sync (register)", "register"),
    ("1pct", "1% change re-sync", "changed"),
    ("sched_first", "schedule first sync (register + schedules)", "changed+schedules"),
    ("nightly", "nightly no-op (register + schedules)", "changed+schedules"),
)
FLOOR_AFTER = {"first": "register", "sched_first": "schedule"}  # step -> the floor of its rows
REFERENCE = {  # step -> the floors its time is compared with (added up)
    "first": ("register",),
    "noop": ("register",),
    "1pct": ("register",),
    "sched_first": ("schedule",),
    "nightly": ("register", "schedule"),
}
TODAY = "2025-10-15"
SEED = "1"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROOT = Path(__file__).resolve().parent.parent


# --- Measuring a process ---------------------------------------------------------------------


@dataclass
class Measure:
    """A finished child process: wall seconds, peak RSS (MiB) and what it printed."""

    seconds: float
    peak_mb: float
    output: str


# Linux starts a child's peak RSS (``ru_maxrss``) at the RSS of the process that forked it, so a
# step started by this benchmark, which holds a floor's rows by then, would be reported as
# needing at least that. Every step is therefore started by a small process of its own, made
# when the benchmark starts and still small: it runs each command it is sent and answers with
# the command's exit status, wall time and peak RSS.
_SPAWNER = """
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["out"], "w") as out, open(job["err"], "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(job["args"], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    answer = {"code": os.waitstatus_to_exitcode(status), "seconds": seconds,
              "peak_kb": usage.ru_maxrss}
    print(json.dumps(answer), flush=True)
"""


class _Spawner:
    """The small process that starts every measured step (see _SPAWNER)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None

    def run(self, args: list[str], out: str, err: str) -> dict[str, Any]:
        if self._proc is None:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", _SPAWNER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                text=True,
            )  # fmt: skip
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(json.dumps({"args": args, "out": out, "err": err}) + "\n")
        self._proc.stdin.flush()
        answer: dict[str, Any] = json.loads(self._proc.stdout.readline())
        return answer


SPAWNER = _Spawner()


def run_measured(args: list[str]) -> Measure:
    """Run a command in a child process; its wall time and peak RSS (``ru_maxrss`` of wait4),
    started by the spawner so that the peak is the command's own."""
    with tempfile.TemporaryDirectory() as folder:
        out, err = os.path.join(folder, "out"), os.path.join(folder, "err")
        answer = SPAWNER.run(args, out, err)
        if answer["code"] != 0:
            raise SystemExit(
                f"command failed ({answer['code']}): {' '.join(args)}\n"
                f"{Path(err).read_text(encoding='utf-8', errors='replace')[-4000:]}"
            )
        text = Path(out).read_text(encoding="utf-8")
        return Measure(answer["seconds"], answer["peak_kb"] / 1024, text)


def schoolsync(db_url: str | None, *args: str) -> list[str]:
    """The command line of one schoolsync command (this interpreter, fixed --today)."""
    db = ["--db", db_url] if db_url else []
    return [sys.executable, "-m", "schoolsync", *db, "--today", TODAY, *args]


# --- The generated municipality --------------------------------------------------------------


@dataclass
class Bundles:
    """One size's sources: the register, its 1% copy, the schedule exports."""

    register: Path
    changed: Path
    schedules: list[Path]
    persons: int

    def sources(self, which: str) -> list[str]:
        """The paths a step syncs: "register", "changed" or "changed+schedules"."""
        if which == "register":
            return [str(self.register)]
        if which == "changed":
            return [str(self.changed)]
        return [str(self.changed), *map(str, self.schedules)]


def prepare_bundles(size: str, work: Path, fresh: bool) -> Bundles:
    """Generate the size's bundle (schedules under BUNDLE/schedule/) and its 1% copy, once."""
    register, changed = work / f"bundle-{size}", work / f"bundle-{size}-1pct"
    done = work / f"bundle-{size}.done"
    if fresh or not done.exists():
        done.unlink(missing_ok=True)
        shutil.rmtree(register, ignore_errors=True)
        shutil.rmtree(changed, ignore_errors=True)
        print(f"generating the {size} municipality in {register} ...", flush=True)
        cmd = schoolsync(None, "generate", "--size", size, "--out", str(register), "--seed", SEED)
        run_measured(cmd)
        one_percent_change(register, changed)
        done.write_text(f"seed {SEED}, today {TODAY}\n", encoding="utf-8")
    schedules = sorted((register / "schedule").glob("*.txt"))
    return Bundles(register, changed, schedules, persons_in(register))


def one_percent_change(bundle: Path, changed: Path) -> None:
    """Copy the bundle with 1% of the persons changed: half renamed, half gone (students)."""
    shutil.copytree(bundle, changed)
    rng = random.Random(1)
    pages = sorted((changed / "persons").glob("*.json"))
    budget = max(3, persons_in(changed) // 100)
    for page in pages:
        doc = json.loads(page.read_text(encoding="utf-8"))
        keep = []
        for person in doc["data"]:
            roll = rng.random()
            if budget > 0 and roll < 0.005:
                person["familyName"] += "-Ek"
                budget -= 1
            elif budget > 0 and roll < 0.01 and person.get("enrolments"):
                budget -= 1
                continue  # left the register
            keep.append(person)
        doc["data"] = keep
        page.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")


def persons_in(bundle: Path) -> int:
    """How many persons the bundle's person pages hold."""
    return sum(
        len(json.loads(p.read_text(encoding="utf-8"))["data"])
        for p in (bundle / "persons").glob("*.json")
    )


# --- The databases, through plain DBAPI ------------------------------------------------------


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def fk_order(parents: dict[str, set[str]]) -> list[str]:
    """Tables ordered so that every table comes after the tables its foreign keys name."""
    graph = {table: refs - {table} for table, refs in sorted(parents.items())}
    return [t for t in graphlib.TopologicalSorter(graph).static_order() if t in parents]


class Database:
    """A directory database of one measurement: a SQLite file or a PostgreSQL schema.

    ``url`` is what ``schoolsync --db`` gets; the other methods work on a DBAPI connection
    from :meth:`connect`.
    """

    kind = ""
    mark = "?"  # the DBAPI parameter placeholder
    bulk_method = "executemany"  # how the floors insert (bulk)
    url = ""

    def connect(self) -> Any:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError

    def tables(self, conn: Any) -> list[str]:
        """The directory's tables (no migration bookkeeping), in foreign-key order."""
        raise NotImplementedError

    def columns(self, conn: Any, table: str) -> list[tuple[str, str]]:
        """(name, declared type) of each column, in order."""
        raise NotImplementedError

    def select_list(self, cols: list[str]) -> str:
        return ", ".join(map(q, cols))

    def begin(self, conn: Any, foreign_keys: bool = True) -> None:
        conn.execute("BEGIN")

    def commit(self, conn: Any) -> None:
        conn.execute("COMMIT")

    def insert(self, conn: Any, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
        """Plain executemany of one table's rows."""
        marks = ", ".join([self.mark] * len(cols))
        sql = f"INSERT INTO {q(table)} ({', '.join(map(q, cols))}) VALUES ({marks})"
        conn.cursor().executemany(sql, rows)

    def bulk(self, conn: Any, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
        """The fastest plain load this database has (floor a)."""
        self.insert(conn, table, cols, rows)

    def source_prefix(self, source: Database) -> str:
        """How SQL on a connection of this database names the tables of ``source``."""
        raise NotImplementedError

    def attach(self, conn: Any, source: Database) -> None:
        """Make ``source``'s tables visible to ``conn`` (untimed preload)."""

    def detach(self, conn: Any) -> None:
        pass


class SqliteDb(Database):
    """A SQLite file, opened with the pragmas schoolsync uses (WAL, synchronous=NORMAL, FKs on)."""

    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.drop()
        self.url = f"sqlite:///{path}"

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("PRAGMA foreign_keys=ON")
        return conn

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def tables(self, conn: Any) -> list[str]:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'"
            )
        ]
        fks = {n: {r[2] for r in conn.execute(f"PRAGMA foreign_key_list({q(n)})")} for n in names}
        return fk_order(fks)

    def columns(self, conn: Any, table: str) -> list[tuple[str, str]]:
        return [(r[1], r[2]) for r in conn.execute(f"PRAGMA table_info({q(table)})")]

    def begin(self, conn: Any, foreign_keys: bool = True) -> None:
        conn.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
        conn.execute("BEGIN")

    def source_prefix(self, source: Database) -> str:
        return "src."

    def attach(self, conn: Any, source: Database) -> None:
        assert isinstance(source, SqliteDb)
        conn.execute("ATTACH DATABASE ? AS src", (str(source.path),))

    def detach(self, conn: Any) -> None:
        conn.execute("DETACH DATABASE src")


class PostgresDb(Database):
    """A schema of its own in the PostgreSQL database, dropped after the measurement."""

    kind = "postgresql"
    mark = "%s"
    bulk_method = "COPY"  # executemany is no floor here (see the top)

    def __init__(self, base_url: str) -> None:
        self.conninfo = base_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        try:
            with psycopg.connect(self.conninfo, autocommit=True) as conn:
                conn.execute(f"CREATE SCHEMA {q(self.schema)}")
        except psycopg.OperationalError as exc:
            raise SystemExit(f"PostgreSQL at {base_url} is not reachable: {exc}") from exc
        joiner = "&" if "?" in base_url else "?"
        self.url = f"{base_url}{joiner}options=-csearch_path%3D{self.schema}"

    def connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.conninfo, options=f"-c search_path={self.schema}")

    def drop(self) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {q(self.schema)} CASCADE")

    def tables(self, conn: Any) -> list[str]:
        names = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s "
            "AND tablename != 'alembic_version'",
            (self.schema,),
        ).fetchall()
        fks: dict[str, set[str]] = {name: set() for (name,) in names}
        for child, parent in conn.execute(
            "SELECT c.relname, p.relname FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE k.contype = 'f' AND n.nspname = %s",
            (self.schema,),
        ):
            fks.setdefault(child, set()).add(parent)
        return fk_order(fks)

    def columns(self, conn: Any, table: str) -> list[tuple[str, str]]:
        return list(
            conn.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
                "ORDER BY attnum",
                (f"{q(self.schema)}.{q(table)}",),
            )
        )

    def select_list(self, cols: list[str]) -> str:
        return ", ".join(f"{q(c)}::text" for c in cols)  # values as the server writes them

    def begin(self, conn: Any, foreign_keys: bool = True) -> None:
        if not foreign_keys:  # untimed preload only; needs a superuser (postgres here)
            conn.execute("SET LOCAL session_replication_role = replica")

    def commit(self, conn: Any) -> None:
        conn.commit()

    def bulk(self, conn: Any, table: str, cols: list[str], rows: list[tuple[Any, ...]]) -> None:
        names = ", ".join(map(q, cols))
        with conn.cursor().copy(f"COPY {q(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def source_prefix(self, source: Database) -> str:
        assert isinstance(source, PostgresDb)
        return f"{q(source.schema)}."


def fetch(conn: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """All rows of a query, as tuples."""
    cur = conn.cursor()
    if params:
        cur.execute(sql, params)
    else:
        cur.execute(sql)
    return [tuple(row) for row in cur.fetchall()]


# --- The rows a run wrote --------------------------------------------------------------------


def run_filter(table: str, cols: list[str], mark: str, prefix: str = "") -> str | None:
    """SQL that picks the rows a run inserted, or None for a table that names no run.

    A row names its run as its ``created_run_id`` or ``run_id``; the run's issues' persons
    through their issue. Updated rows keep their ``created_run_id`` and are not counted.
    """
    if table == "runs":
        return f"id = {mark}"
    for col in ("created_run_id", "run_id"):
        if col in cols:
            return f"{q(col)} = {mark}"
    if "issue_id" in cols:
        return f"issue_id IN (SELECT id FROM {prefix}run_issues WHERE run_id = {mark})"
    return None


Snapshot = dict[str, set[tuple[Any, ...]]]


def snapshot(db: Database) -> Snapshot:
    """The rows of the tables that name no run (school units), before a step."""
    if isinstance(db, SqliteDb) and not db.path.exists():
        return {}
    with closing(db.connect()) as conn:
        out: Snapshot = {}
        for table in db.tables(conn):
            cols = [c for c, _ in db.columns(conn, table)]
            if run_filter(table, cols, db.mark) is None:
                out[table] = set(fetch(conn, f"SELECT {db.select_list(cols)} FROM {q(table)}"))
        return out


@dataclass
class Batch:
    """One table's rows for a floor."""

    table: str
    cols: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]


def run_rows(db: Database, run_id: int, before: Snapshot) -> list[Batch]:
    """The rows run ``run_id`` inserted, table by table in foreign-key order."""
    with closing(db.connect()) as conn:
        batches = []
        for table in db.tables(conn):
            columns = db.columns(conn, table)
            cols, types = [c for c, _ in columns], [t for _, t in columns]
            sql = f"SELECT {db.select_list(cols)} FROM {q(table)}"
            where = run_filter(table, cols, db.mark)
            if where is not None:
                rows = fetch(conn, f"{sql} WHERE {where}", (run_id,))
            else:
                rows = [r for r in fetch(conn, sql) if r not in before.get(table, set())]
            batches.append(Batch(table, cols, types, rows))
        return batches


def count_run_rows(db: Database, run_id: int, before: Snapshot) -> int:
    """How many rows run ``run_id`` inserted (change log, run record and issues included)."""
    with closing(db.connect()) as conn:
        total = 0
        for table in db.tables(conn):
            cols = [c for c, _ in db.columns(conn, table)]
            where = run_filter(table, cols, db.mark)
            if where is not None:
                sql = f"SELECT count(*) FROM {q(table)} WHERE {where}"
                total += fetch(conn, sql, (run_id,))[0][0]
            else:
                rows = fetch(conn, f"SELECT {db.select_list(cols)} FROM {q(table)}")
                total += sum(r not in before.get(table, set()) for r in rows)
        return total


def row_counts(db: Database) -> dict[str, int]:
    """How many rows each table holds."""
    with closing(db.connect()) as conn:
        return {t: fetch(conn, f"SELECT count(*) FROM {q(t)}")[0][0] for t in db.tables(conn)}


# --- The floors ------------------------------------------------------------------------------


@dataclass
class Floor:
    """The same rows inserted with no logic: into plain tables (a), into the real schema (b)."""

    rows: int
    plain_seconds: float
    schema_seconds: float
    plain_method: str
    schema_method: str


def timed_insert(db: Database, batches: list[Batch]) -> float:
    """Seconds to insert the batches in one transaction, commit included (GC paused, as a run)."""
    with closing(db.connect()) as conn:
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            db.begin(conn)
            for b in batches:
                if b.rows:
                    db.bulk(conn, b.table, b.cols, b.rows)
            db.commit(conn)
            return time.perf_counter() - start
        finally:
            gc.enable()


def create_plain_tables(db: Database, batches: list[Batch]) -> None:
    """Floor a's tables: the same columns and types; no primary key, index or constraint."""
    with closing(db.connect()) as conn:
        db.begin(conn)
        for b in batches:
            cols = ", ".join(f"{q(c)} {t}" for c, t in zip(b.cols, b.types, strict=True))
            conn.execute(f"CREATE TABLE {q(b.table)} ({cols})")
        db.commit(conn)


def preload(target: Database, source: Database, run_id: int, before: Snapshot) -> None:
    """Untimed: give floor b's directory what the synced one held before the step.

    Every row the run did not insert, copied inside the database with foreign keys off (rows the
    run updated name it, and its run record is part of the timed rows).
    """
    with closing(target.connect()) as conn:
        target.attach(conn, source)
        target.begin(conn, foreign_keys=False)
        prefix = target.source_prefix(source)
        for table in target.tables(conn):
            cols = [c for c, _ in target.columns(conn, table)]
            where = run_filter(table, cols, target.mark, prefix)
            if where is None:
                target.insert(conn, table, cols, list(before.get(table, set())))
                continue
            names = ", ".join(map(q, cols))
            conn.execute(
                f"INSERT INTO {q(table)} ({names}) SELECT {names} FROM {prefix}{q(table)} "
                f"WHERE ({where}) IS NOT TRUE",
                (run_id,),
            )
        target.commit(conn)
        target.detach(conn)


def measure_floor(
    source: Database, new_db: Callable[[str], Database], run_id: int, before: Snapshot
) -> Floor:
    """Floors a and b of the rows run ``run_id`` inserted into ``source``."""
    batches = run_rows(source, run_id, before)
    plain = new_db("floor-a")
    try:
        create_plain_tables(plain, batches)
        plain_seconds = timed_insert(plain, batches)
    finally:
        plain.drop()
    schema = new_db("floor-b")
    try:
        run_measured(schoolsync(schema.url, "init"))
        preload(schema, source, run_id, before)
        schema_seconds = timed_insert(schema, batches)
        if row_counts(schema) != row_counts(source):  # the preload and the rows: the directory
            raise SystemExit(f"floor b of run {run_id} does not hold the synced directory's rows")
    finally:
        schema.drop()
    return Floor(
        rows=sum(len(b.rows) for b in batches),
        plain_seconds=plain_seconds,
        schema_seconds=schema_seconds,
        plain_method=plain.bulk_method,
        schema_method=schema.bulk_method,
    )


# --- One size on one database ----------------------------------------------------------------


@dataclass
class Step:
    """One measured sync."""

    key: str
    label: str
    seconds: float
    peak_mb: float
    changes: int  # the changes the run report counts: rows created, updated or ended
    rows: int  # rows inserted: change log, run record and issues included
    run_id: int


@dataclass
class Bench:
    """One size on one database: its steps and floors."""

    size: str
    db: str
    persons: int
    schedules: int
    lessons: int = 0
    steps: list[Step] = field(default_factory=list)
    floors: dict[str, Floor] = field(default_factory=dict)


def run_step(db: Database, key: str, label: str, sources: list[str], before: Snapshot) -> Step:
    """Run one sync in a fresh process and read what it wrote."""
    m = run_measured(schoolsync(db.url, "sync", "--json", *sources))
    report = json.loads(m.output)
    if report["status"] != "applied":
        raise SystemExit(f"{label}: the run was {report['status']}, not applied")
    changes = sum(n for counts in report["changes"].values() for n in counts.values())
    run_id = int(report["run_id"])
    rows = count_run_rows(db, run_id, before)
    return Step(key, label, m.seconds, m.peak_mb, changes, rows, run_id)


def make_db(kind: str, name: str, args: argparse.Namespace) -> Database:
    """A new, empty database: OUT/NAME.db, or a PostgreSQL schema of its own."""
    if kind == "sqlite":
        return SqliteDb(args.out.resolve() / f"{name}.db")
    return PostgresDb(args.postgres_url)


def warm_up(kinds: list[str], args: argparse.Namespace) -> None:
    """Untimed: sync the tiny municipality once per database, so that the measured processes
    start as they would in use (bytecode compiled, files in the page cache)."""
    bundles = prepare_bundles("tiny", args.out.resolve(), args.fresh)
    for kind in kinds:
        db = make_db(kind, "warm-up", args)
        try:
            run_measured(schoolsync(db.url, "sync", *bundles.sources("changed+schedules")))
        finally:
            db.drop()


def cache_bytecode(out: Path) -> str:
    """Let the children cache their bytecode, under OUT/pycache if the environment forbids it
    (this machine sets PYTHONDONTWRITEBYTECODE: every process would compile schoolsync anew)."""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is None:
        return "as the environment has it"
    os.environ["PYTHONPYCACHEPREFIX"] = str(out.resolve() / "pycache")
    return f"cached in {os.environ['PYTHONPYCACHEPREFIX']}"


def bench(size: str, kind: str, bundles: Bundles, args: argparse.Namespace) -> Bench:
    """Every step of one size on one database, each floor right after the step it measures."""

    def new_db(name: str) -> Database:
        return make_db(kind, f"{size}-{name}", args)

    result = Bench(size, kind, bundles.persons, len(bundles.schedules))
    db = new_db("sync")
    try:
        for key, label, which in STEPS:
            before = snapshot(db)
            step = run_step(db, key, label, bundles.sources(which), before)
            result.steps.append(step)
            print(f"  {size} {kind}: {label}: {step.seconds:.2f} s, {step.peak_mb:,.0f} MB")
            if key in FLOOR_AFTER and not args.no_floor:
                floor = measure_floor(db, new_db, step.run_id, before)
                result.floors[FLOOR_AFTER[key]] = floor
                print(
                    f"  {size} {kind}: floor of its {floor.rows:,} rows: "
                    f"a {floor.plain_seconds:.2f} s, b {floor.schema_seconds:.2f} s"
                )
        with closing(db.connect()) as conn:
            result.lessons = fetch(conn, "SELECT count(*) FROM lessons")[0][0]
    finally:
        db.drop()
    return result


# --- Targets, budget, report -----------------------------------------------------------------


def target_text(size: str, step: Step) -> str:
    """The target column: the issue's large targets, and the medium memory budget."""
    if size == "medium" and step.key == "nightly":
        ok = step.peak_mb <= MEDIUM_NIGHTLY_BUDGET_MB
        return f"budget ≤{MEDIUM_NIGHTLY_BUDGET_MB} MB: {'ok' if ok else 'EXCEEDED'}"
    target = LARGE_TARGETS.get(step.key)
    if size != "large" or target is None:
        return ""
    text = f"≤{target.seconds:g} s"
    missed = ["time"] if step.seconds > target.seconds else []
    if target.peak_mb is not None:
        text += f", ≤{target.peak_mb / 1024:g} GB"
        missed += ["memory"] if step.peak_mb > target.peak_mb else []
    return f"{text}: not met ({', '.join(missed)})" if missed else f"{text}: met"


def budget_failures(benches: list[Bench]) -> list[str]:
    """One line per medium nightly no-op over MEDIUM_NIGHTLY_BUDGET_MB."""
    return [
        f"BUDGET EXCEEDED: medium {b.db} step '{s.label}' peaked at {s.peak_mb:,.0f} MB, over "
        f"MEDIUM_NIGHTLY_BUDGET_MB = {MEDIUM_NIGHTLY_BUDGET_MB} MB"
        for b in benches
        if b.size == "medium"
        for s in b.steps
        if s.key == "nightly" and s.peak_mb > MEDIUM_NIGHTLY_BUDGET_MB
    ]


def ratio(bench: Bench, step: Step, plain: bool) -> str:
    """The step's time over its reference floor (a if plain, else b)."""
    floors = [bench.floors.get(name) for name in REFERENCE[step.key]]
    if not all(floors):
        return "-"
    seconds = sum(f.plain_seconds if plain else f.schema_seconds for f in floors if f)
    return f"{step.seconds / seconds:.1f}×"


HEADER = ("step", "seconds", "peak RSS", "changes", "rows", "rows/s", "× a", "× b", "target")


def table_rows(bench: Bench) -> list[list[str]]:
    """The rows of one size/database table: the steps, then the floors."""
    rows = []
    for s in bench.steps:
        rate = f"{s.rows / s.seconds:,.0f}" if s.key in FLOOR_AFTER else "-"
        rows.append(
            [
                s.label,
                f"{s.seconds:.2f}",
                f"{s.peak_mb:,.0f} MB",
                f"{s.changes:,}",
                f"{s.rows:,}",
                rate,
                ratio(bench, s, True),
                ratio(bench, s, False),
                target_text(bench.size, s),
            ]
        )
    for name, f in bench.floors.items():
        for tag, seconds, how in (
            ("a", f.plain_seconds, f"plain tables, {f.plain_method}"),
            ("b", f.schema_seconds, f"real schema, {f.schema_method}"),
        ):
            rate = f"{f.rows / seconds:,.0f}"
            label = f"floor {tag}: {name} rows, {how}"
            rows.append([label, f"{seconds:.2f}", "-", "-", f"{f.rows:,}", rate, "", "", ""])
    return rows


def title(bench: Bench) -> str:
    """What was measured: size, persons, schedule exports, lessons."""
    return (
        f"{bench.size} ({bench.persons:,} persons, {bench.schedules} schedule "
        f"export{'' if bench.schedules == 1 else 's'}, "
        f"{bench.lessons:,} lessons)"
    )


def print_table(bench: Bench) -> None:
    """A readable text table of one size on one database."""
    rows = [list(HEADER), *table_rows(bench)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    print(f"\n{title(bench)} on {bench.db}")
    for row in rows:
        cells = [
            c.ljust(w) if i in (0, 8) else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  " + "  ".join(cells).rstrip())


def markdown(benches: list[Bench], startup: Measure) -> str:
    """All results as one Markdown table, ready for the README's Speed section."""
    lines = [
        f"Each step is a fresh `schoolsync sync` process; its time includes the process start "
        f"(`schoolsync --version`: {startup.seconds:.2f} s). Floor a: the rows the step inserted,"
        " in one transaction into plain tables without keys or indexes; floor b: the same into"
        " the real schema, which already holds the directory as it was before the step. × a and"
        " × b: the step's time over its floor (the register's for register steps, the"
        " schedule's for the schedule first sync, both for the nightly run).",
        "",
        "| size | database | " + " | ".join(HEADER) + " |",
        "|---|---|" + "---|" + "---:|" * 7 + "---|",
    ]
    for bench in benches:
        for i, row in enumerate(table_rows(bench)):
            lead = [title(bench), bench.db] if i == 0 else ["", ""]
            lines.append("| " + " | ".join([*lead, *row]) + " |")
    return "\n".join(lines) + "\n"


def meta(startup: Measure) -> dict[str, Any]:
    """What was measured where: the code, the interpreter, the machine."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True, text=True)
    module = subprocess.run(
        [sys.executable, "-c", "import schoolsync; print(schoolsync.__file__)"],
        capture_output=True,
        text=True,
    )
    return {
        "commit": head.stdout.strip(),
        "src_modified": bool(dirty.stdout.strip()),
        "schoolsync_module": module.stdout.strip(),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "startup_seconds": startup.seconds,
        "startup_peak_mb": startup.peak_mb,
        "today": TODAY,
    }


def bench_parser(doc: str | None, sizes: str) -> argparse.ArgumentParser:
    """The options every benchmark takes: sizes, databases, the PostgreSQL server, the output
    folder, and the Markdown table."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="medium", help=f"comma-separated: {sizes}")
    parser.add_argument(
        "--db", default="sqlite,postgresql", help="comma-separated: sqlite,postgresql"
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get("SCHOOLSYNC_TEST_POSTGRES_URL", DEFAULT_PG)
    )
    parser.add_argument(
        "--out", type=Path, default=Path("bench-out"), help="work and result folder"
    )
    parser.add_argument("--markdown", action="store_true", help="print the Markdown table too")
    return parser


def parse_args() -> argparse.Namespace:
    """The command line (see the top)."""
    parser = bench_parser(__doc__, "tiny,small,medium,large")
    parser.add_argument("--large", action="store_true", help="also the large municipality")
    parser.add_argument("--no-floor", action="store_true", help="skip the floors")
    parser.add_argument("--fresh", action="store_true", help="generate the bundles again")
    parser.add_argument(
        "--check-budget", action="store_true", help="the memory budget only: medium, no floors"
    )
    return parser.parse_args()


def main() -> int:
    """Run the benchmark; exit status 1 when the medium nightly no-op is over its budget."""
    args = parse_args()
    sizes = [s for s in args.sizes.split(",") if s] + (["large"] if args.large else [])
    if args.check_budget:
        sizes, args.no_floor = ["medium"], True
    kinds = [k for k in args.db.split(",") if k]
    if unknown := set(kinds) - {"sqlite", "postgresql"}:
        raise SystemExit(f"--db: unknown database {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    bytecode = cache_bytecode(args.out)
    warm_up(kinds, args)
    startup = run_measured(schoolsync(None, "--version"))
    print(
        f"process start (schoolsync --version): {startup.seconds:.2f} s, {startup.peak_mb:,.0f} MB"
    )
    print(f"medium nightly no-op budget: {MEDIUM_NIGHTLY_BUDGET_MB} MB peak RSS")
    benches: list[Bench] = []
    for size in dict.fromkeys(sizes):
        bundles = prepare_bundles(size, args.out.resolve(), args.fresh)
        for kind in kinds:
            benches.append(bench(size, kind, bundles, args))
            print_table(benches[-1])
    results = {
        "meta": {
            **meta(startup),
            "bytecode": bytecode,
            "medium_nightly_budget_mb": MEDIUM_NIGHTLY_BUDGET_MB,
            "large_targets": {k: asdict(v) for k, v in LARGE_TARGETS.items()},
        },
        "results": [asdict(b) for b in benches],
    }
    (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = markdown(benches, startup)
    (args.out / "results.md").write_text(table, encoding="utf-8")
    if args.markdown:
        print("\n" + table)
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    return report_checks(benches)


def report_checks(benches: list[Bench]) -> int:
    """Print the budget verdict and the large targets met; 1 when the budget was exceeded."""
    for b in benches:
        for s in b.steps:
            if b.size == "medium" and s.key == "nightly":
                print(
                    f"memory budget, medium {b.db}: {target_text(b.size, s)} ({s.peak_mb:,.0f} MB)"
                )
        if b.size == "large":
            met = sum(target_text(b.size, s).endswith(": met") for s in b.steps)
            print(f"large {b.db}: {met} of {len(LARGE_TARGETS)} targets met")
    failures = budget_failures(benches)
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
