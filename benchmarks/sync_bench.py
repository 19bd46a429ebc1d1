"""Benchmark: how fast schoolsync syncs a municipality, next to the floor of writing the same rows.

For each size and database it measures, each in a fresh process (wall time and peak RSS):
  first sync     into an empty directory
  no-op re-sync  of the same bundle (writes only its run record)
  1% re-sync     of a copy where 1% of the persons changed (renamed, moved away, new)
and the floor: inserting exactly the rows the first sync wrote, with plain executemany in one
transaction and no logic at all.

Usage:
  python benchmarks/sync_bench.py [--sizes small,medium] [--large] [--db sqlite,postgresql]
      [--postgres-url URL] [--out bench-out]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

TODAY = date(2025, 10, 15)
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FLOOR_TABLES = (
    "runs",
    "schools",
    "school_units",
    "users",
    "user_schools",
    "guardianships",
    "changes",
)


@dataclass
class Measure:
    seconds: float
    peak_mb: float
    output: str


def run_measured(args: list[str]) -> Measure:
    """Run a command in a child process; its wall time and peak RSS (from wait4)."""
    with (
        tempfile.TemporaryFile("w+", encoding="utf-8") as out,
        tempfile.TemporaryFile("w+", encoding="utf-8") as err,
    ):
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(args)}\n{err.read()}")
        return Measure(seconds, usage.ru_maxrss / 1024, out.read())


def schoolsync(db: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "schoolsync", "--db", db, "--today", TODAY.isoformat(), *args]


def generate(size: str, out: Path) -> Path:
    bundle = out / f"bundle-{size}"
    if not (bundle / "schedule").exists():
        shutil.rmtree(bundle, ignore_errors=True)
        shutil.rmtree(out / f"{bundle.name}-1pct", ignore_errors=True)
        subprocess.run(
            [sys.executable, "-m", "schoolsync", "--today", TODAY.isoformat(), "generate",
             "--size", size, "--out", str(bundle), "--seed", "1"],
            check=True, capture_output=True,
        )  # fmt: skip
    return bundle


def one_percent_change(bundle: Path, out: Path) -> Path:
    """A copy of the bundle where 1% of the persons changed: renamed, gone, or new students."""
    changed = out / f"{bundle.name}-1pct"
    if changed.exists():
        return changed
    shutil.copytree(bundle, changed)
    rng = random.Random(1)
    pages = sorted((changed / "persons").glob("*.json"))
    total = sum(len(json.loads(p.read_text(encoding="utf-8"))["data"]) for p in pages)
    budget = max(3, total // 100)
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
    return changed


def table_rows(url: str) -> dict[str, list[dict[str, Any]]]:
    from schoolsync.store.db import Store
    from schoolsync.store.schema import metadata

    store = Store(url)
    rows: dict[str, list[dict[str, Any]]] = {}
    with store.engine.connect() as conn:
        for name in FLOOR_TABLES:
            table = metadata.tables[name]
            rows[name] = [dict(r) for r in conn.execute(table.select()).mappings()]
    store.dispose()
    return rows


def floor(url_from: str, url_to: str) -> tuple[float, int]:
    """Insert the rows of a synced directory into an empty one with no logic: the floor."""
    rows = table_rows(url_from)
    from schoolsync.store.db import Store
    from schoolsync.store.schema import metadata

    store = Store(url_to)  # creates the tables
    start = time.perf_counter()
    with store.engine.begin() as conn:
        for name in FLOOR_TABLES:
            data = rows[name]
            for i in range(0, len(data), 5000):
                conn.execute(metadata.tables[name].insert(), data[i : i + 5000])
    seconds = time.perf_counter() - start
    store.dispose()
    return seconds, sum(len(v) for v in rows.values())


def pg_schema_url(base: str) -> tuple[str, sa.Engine, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), admin, schema


def database(kind: str, out: Path, name: str, pg: str) -> tuple[str, Any]:
    if kind == "sqlite":
        path = out / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}", None
    url, admin, schema = pg_schema_url(pg)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def persons_in(bundle: Path) -> int:
    return sum(
        len(json.loads(p.read_text(encoding="utf-8"))["data"])
        for p in (bundle / "persons").glob("*.json")
    )


def measure_floor(
    kind: str, out: Path, size: str, pg: str, url: str, persons: int
) -> dict[str, Any]:
    """The floor: the first sync's rows inserted into an empty directory with no logic."""
    floor_url, floor_cleanup = database(kind, out, f"{size}-{kind}-floor", pg)
    try:
        seconds, rows = floor(url, floor_url)
    finally:
        if floor_cleanup:
            floor_cleanup()
    return {
        "size": size,
        "db": kind,
        "step": "floor (same rows, no logic)",
        "persons": persons,
        "seconds": seconds,
        "peak_mb": None,
        "changes": rows,
    }


def bench(size: str, kind: str, out: Path, pg: str) -> list[dict[str, Any]]:
    bundle = generate(size, out)
    changed = one_percent_change(bundle, out)
    persons = persons_in(bundle)
    schedules = sorted(str(p) for p in (bundle / "schedule").glob("*.txt"))
    url, cleanup = database(kind, out, f"{size}-{kind}", pg)
    results = []
    steps = [
        ("first sync", [str(bundle)]),
        ("no-op re-sync", [str(bundle)]),
        ("1% re-sync", [str(changed)]),
        ("schedule first sync", schedules),
        ("schedule no-op re-sync", schedules),
        ("nightly no-op (both)", [str(changed), *schedules]),
    ]
    try:
        for label, source in steps:
            m = run_measured(schoolsync(url, "sync", "--json", *source))
            report = json.loads(m.output)
            written = sum(sum(v.values()) for v in report["changes"].values())
            if label == "first sync":
                floor_result = measure_floor(kind, out, size, pg, url, persons)
            results.append(
                {
                    "size": size,
                    "db": kind,
                    "step": label,
                    "persons": persons,
                    "seconds": m.seconds,
                    "peak_mb": m.peak_mb,
                    "changes": written,
                }
            )
        results.append(floor_result)
    finally:
        if cleanup:
            cleanup()
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    head = f"{'size':<7} {'db':<10} {'step':<28} {'persons':>8} {'seconds':>8} {'persons/s':>10} "
    head += f"{'rows':>9} {'rows/s':>9} {'peak MB':>8}"
    print(head)
    for r in results:
        rows_s = r["changes"] / r["seconds"] if r["seconds"] else 0
        peak = f"{r['peak_mb']:.0f}" if r["peak_mb"] else "-"
        print(
            f"{r['size']:<7} {r['db']:<10} {r['step']:<28} {r['persons']:>8} "
            f"{r['seconds']:>8.2f} {r['persons'] / r['seconds']:>10.0f} {r['changes']:>9} "
            f"{rows_s:>9.0f} {peak:>8}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--sizes", default="medium", help="comma-separated: tiny,small,medium")
    parser.add_argument("--large", action="store_true", help="also the large municipality")
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=os.environ.get("SCHOOLSYNC_TEST_POSTGRES_URL",
                                                                 DEFAULT_PG))  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sizes = [s for s in args.sizes.split(",") if s] + (["large"] if args.large else [])
    results: list[dict[str, Any]] = []
    for size in sizes:
        for kind in args.db.split(","):
            results.extend(bench(size, kind, args.out.resolve(), args.postgres_url))
            print_table(results[-7:])
            print()
    print("All results:")
    print_table(results)
    (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
