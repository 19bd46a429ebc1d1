"""Benchmark (issue 12): how fast the OneRoster 1.2 service answers a client that reads a whole
municipality, over real HTTP.

For each size and database the register bundle of ``sync_bench`` (``schoolsync generate``, same
seed) is synced into a directory of its own, a client is made with ``schoolsync admin client add``
and a real ``schoolsync serve`` is started on 127.0.0.1 at a free port. Then, one request at a
time, as a roster sync reads:

  token     POST /oauth/token (client credentials, HTTP Basic)
  first     the first GET /users?limit=100: the service builds its records of the directory
            (``serve`` starts building them at once; this waits for what is left)
  users     GET /users?limit=100, page after page (Link rel="next") to the end
  enrolls   GET /enrollments?limit=1000 to the end
  teacher   GET /teachers?filter=email='…' (one teacher's e-mail), repeated
  classes   GET /teachers/{id}/classes?filter=status='active', repeated

For each: requests, records, seconds, requests per second, p50 and p95 (nearest rank) in ms; and
the server's peak RSS. Times are the client's, to the last byte of each answer.

Usage:
  python benchmarks/oneroster_bench.py [--sizes medium] [--db sqlite,postgresql]
      [--postgres-url URL] [--out DIR] [--markdown] [--repeat N]

--out DIR (default bench-out, shared with the other benchmarks: their bundles are reused) holds
results-oneroster.json and results-oneroster.md (a Markdown table; --markdown prints it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

import sync_bench as sb
import web_bench as wb

PREFIX = "/ims/oneroster/rostering/v1p2"
SIZES = ("tiny", "small", "medium", "large")
NEXT = re.compile(r'<([^>]+)>; rel="next"')


@dataclass
class Walk:
    """One kind of request, timed."""

    key: str
    records: int = 0
    seconds: float = 0.0
    samples_ms: list[float] = field(default_factory=list)

    def quantile(self, q: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0

    @property
    def per_second(self) -> float:
        return len(self.samples_ms) / self.seconds if self.seconds else 0.0


@dataclass
class Bench:
    size: str
    db: str
    persons: int
    sync_seconds: float = 0.0
    walks: list[Walk] = field(default_factory=list)
    server_peak_mb: float | None = None


def timed(client: httpx.Client, walk: Walk, url: str, key: str, **params: Any) -> httpx.Response:
    t0 = time.perf_counter()
    answer = client.get(url, params=params or None)
    elapsed = time.perf_counter() - t0
    if answer.status_code != 200:
        raise SystemExit(f"{url}: {answer.status_code}\n{answer.text[:2000]}")
    walk.samples_ms.append(elapsed * 1000)
    walk.seconds += elapsed
    walk.records += len(answer.json()[key])
    return answer


def to_the_end(client: httpx.Client, walk: Walk, path: str, key: str, limit: int) -> None:
    """A collection page after page, following Link rel="next"."""
    answer = timed(client, walk, PREFIX + path, key, limit=limit)
    total = int(answer.headers["X-Total-Count"])
    while (nxt := NEXT.search(answer.headers["Link"])) is not None:
        answer = timed(client, walk, nxt[1], key)
    if walk.records != total:
        raise SystemExit(f"{path}: {walk.records} records read, X-Total-Count said {total}")


def bench(size: str, kind: str, bundles: sb.Bundles, args: argparse.Namespace) -> Bench:
    result = Bench(size, kind, bundles.persons)
    directory = wb.Directory(kind, f"oneroster-{size}", args)
    directory.create()
    try:
        first = wb.sync(directory, "register", bundles.sources("register"))
        result.sync_seconds = first.seconds
        made = sb.run_measured(sb.schoolsync(directory.url, "admin", "client", "add", "bench"))
        lines = dict(x.split(": ", 1) for x in made.output.splitlines() if ": " in x)
        log = args.out.resolve() / f"oneroster-serve-{size}-{kind}.log"
        with (
            wb.serving(directory, log) as server,
            httpx.Client(base_url=server.base, timeout=600) as client,
        ):
            walk = Walk("token")
            t0 = time.perf_counter()
            answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                                 auth=(lines["client_id"], lines["client_secret"]))  # fmt: skip
            walk.samples_ms.append((time.perf_counter() - t0) * 1000)
            walk.seconds = walk.samples_ms[0] / 1000
            answer.raise_for_status()
            result.walks.append(walk)
            client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
            cold = Walk("first")
            timed(client, cold, PREFIX + "/users", "users", limit=100)
            result.walks.append(cold)
            users = Walk("users")
            to_the_end(client, users, "/users", "users", 100)
            result.walks.append(users)
            enrolls = Walk("enrolls")
            to_the_end(client, enrolls, "/enrollments", "enrollments", 1000)
            result.walks.append(enrolls)
            teachers = client.get(PREFIX + "/teachers", params={"limit": args.repeat}).json()
            found, classes = Walk("teacher"), Walk("classes")
            for teacher in teachers["users"]:
                timed(client, found, PREFIX + "/teachers", "users",
                      filter=f"email='{teacher['email']}'")  # fmt: skip
                timed(client, classes, f"{PREFIX}/teachers/{teacher['sourcedId']}/classes",
                      "classes", filter="status='active'")  # fmt: skip
            result.walks += [found, classes]
            result.server_peak_mb = server.peak_mb()
    finally:
        directory.drop()
    for w in result.walks:
        print(f"  {size} {kind} {w.key:8} {len(w.samples_ms):5} requests {w.records:8,} records "
              f"{w.seconds:7.2f} s  {w.per_second:7.1f}/s  p50 {w.quantile(0.5):7.1f} "
              f"p95 {w.quantile(0.95):7.1f} ms", flush=True)  # fmt: skip
    print(f"  {size} {kind}: server peak RSS {result.server_peak_mb or 0:,.0f} MiB", flush=True)
    return result


LABELS = {
    "token": "POST /oauth/token",
    "first": "first GET /users?limit=100 (records built)",
    "users": "GET /users?limit=100, paged to the end",
    "enrolls": "GET /enrollments?limit=1000, paged to the end",
    "teacher": "GET /teachers?filter=email='…'",
    "classes": "GET /teachers/{id}/classes?filter=status='active'",
}


def markdown(benches: list[Bench]) -> str:
    lines = [
        "| size | database | requests | n | records | seconds | requests/s | p50 ms | p95 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for b in benches:
        label = f"{b.size} ({b.persons:,} persons)"
        for i, w in enumerate(b.walks):
            lines.append(
                f"| {label if i == 0 else ''} | {b.db if i == 0 else ''} | {LABELS[w.key]} | "
                f"{len(w.samples_ms):,} | {w.records:,} | {w.seconds:.2f} | {w.per_second:.0f} | "
                f"{w.quantile(0.5):.1f} | {w.quantile(0.95):.1f} |"
            )
        lines.append(
            f"|  |  | server peak RSS: {b.server_peak_mb or 0:,.0f} MiB |  |  |  |  |  |  |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = sb.bench_parser(__doc__, "medium")
    parser.add_argument("--repeat", type=int, default=20, help="teachers looked up")
    args = parser.parse_args()
    sizes = [s for s in args.sizes.split(",") if s]
    if unknown := set(sizes) - set(SIZES):
        raise SystemExit(f"--sizes: unknown size {', '.join(sorted(unknown))}")
    kinds = [k for k in args.db.split(",") if k]
    args.out.mkdir(parents=True, exist_ok=True)
    sb.cache_bytecode(args.out)
    load_before = os.getloadavg()
    startup = sb.run_measured(sb.schoolsync(None, "--version"))
    benches = []
    for size in sizes:
        bundles = sb.prepare_bundles(size, args.out.resolve(), False)
        for kind in kinds:
            benches.append(bench(size, kind, bundles, args))
    table = markdown(benches) + (
        f"\nLoad average before: {', '.join(f'{x:.1f}' for x in load_before)}; after: "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs).\n"
    )
    results = {"meta": sb.meta(startup), "results": [asdict(b) for b in benches]}
    (args.out / "results-oneroster.json").write_text(json.dumps(results, indent=1), "utf-8")
    (args.out / "results-oneroster.md").write_text(table, encoding="utf-8")
    if args.markdown:
        print("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
