"""Benchmark (issue 10): a municipality read from an SS 12000 API over loopback, full and
incremental, in requests per second.

For each size and database the register bundle of ``sync_bench`` (``schoolsync generate``, same
seed) is served by the test suite's fake provider (``tests/fake_ss12000.py``, pages of up to 1000
records) on a real HTTP server at 127.0.0.1, in this process. Five steps follow, each a fresh
``schoolsync`` process started by sync_bench's spawner, so that its wall time (process start
included) and peak RSS (``ru_maxrss`` from ``wait4``) are its own:

  fetch   ``schoolsync fetch URL --to DIR``: the whole API read into a bundle folder, no
          database (read only)
  full    ``schoolsync sync --json URL`` into an empty directory: a full read, then the sync
  noop    the provider's clock moves an hour, nothing changed: ``sync --json URL`` again, an
          incremental read (what changed since the last read, and /deletedEntities)
  1pct    1% of the persons renamed on the provider (their familyName gets "-Ek"), ten minutes
          later ``sync --json URL``: an incremental read of those persons
  bundle  for reference, ``sync --json BUNDLE`` of the same register as a folder, into another
          empty directory

Each step must exit 0, each sync must be applied, and the read must be of the mode the step
expects (fetch and full: full; noop and 1pct: incremental), else the benchmark stops and says why.

From the read's own statistics (the run report's ``sources[0].api``, ``DIR/fetch.json`` for the
fetch): requests (token included), bytes received (response bodies; MB = MiB), records read, and
requests/s and records/s over the read's own seconds (the read, not the process or the sync). The
fake provider also times its answers ("provider s": the time this process spent answering, part
of the read's seconds): the fake is Python, filters every page's query over the whole endpoint
and copies each record it serves, so that share is the fake's, not the client's.

Usage:
  python benchmarks/api_bench.py [--sizes small,medium] [--db sqlite,postgresql]
      [--postgres-url URL] [--out DIR] [--markdown] [--fresh]

--out DIR (default bench-out, shared with sync_bench: its bundles are reused) holds the bundles,
the SQLite files and the fetched folder while they are measured, results-api.json and
results-api.md (a Markdown table; --markdown prints it).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository: tests/

from tests.fake_ss12000 import CLIENT_ID, CLIENT_SECRET, FakeProvider

import sync_bench as sb

SECRET_ENV = "SCHOOLSYNC_SS12000_SECRET"
PAGE_SIZE = 1000  # what schoolsync asks for, and the most the provider gives
SIZES = ("tiny", "small", "medium", "large")

STEPS = (  # key, label, the read's mode (None: no API read)
    ("fetch", "fetch (API to folder, read only)", "full"),
    ("full", "full sync (API, empty directory)", "full"),
    ("noop", "no-op re-sync (API, incremental)", "incremental"),
    ("1pct", "1% change re-sync (API, incremental)", "incremental"),
    ("bundle", "first sync (bundle folder)", None),
)
LABELS = {key: label for key, label, _ in STEPS}
MODES = {key: mode for key, _, mode in STEPS}


# --- The provider ----------------------------------------------------------------------------


class TimedProvider(FakeProvider):
    """The fake provider, adding up the seconds it spends answering."""

    def __init__(self, bundle: Path) -> None:
        super().__init__(bundle, max_limit=PAGE_SIZE)
        self.answering = 0.0
        self._timing = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        try:
            return super().handler(request)
        finally:
            with self._timing:
                self.answering += time.perf_counter() - start


@dataclass
class Api:
    """A register served on 127.0.0.1, and the settings file that reads it."""

    provider: TimedProvider
    base: str
    config: Path

    def cmd(self, db_url: str | None, *args: str) -> list[str]:
        """A schoolsync command line with these settings."""
        return sb.schoolsync(db_url, "--config", str(self.config), *args)


@contextmanager
def served(register: Path, config: Path) -> Iterator[Api]:
    """Serve a register (a provider of its own: the steps change it) with a settings file."""
    provider = TimedProvider(register)
    with provider.serve() as (base, token):
        config.write_text(
            f'[ss12000]\ntoken_url = "{token}"\nclient_id = "{CLIENT_ID}"\n'
            f'client_secret_env = "{SECRET_ENV}"\npage_size = {PAGE_SIZE}\n',
            encoding="utf-8",
        )
        try:
            yield Api(provider, base, config)
        finally:
            config.unlink(missing_ok=True)


def rename_one_percent(provider: FakeProvider) -> int:
    """Put 1% of the persons (at least 3) again, their familyName changed; how many."""
    persons = provider.records["persons"]
    chosen = random.Random(1).sample(range(len(persons)), max(3, len(persons) // 100))
    for index in chosen:
        person = copy.deepcopy(persons[index])
        person["familyName"] = f"{person.get('familyName', '')}-Ek"
        provider.put("persons", person)
    return len(chosen)


# --- The steps -------------------------------------------------------------------------------


@dataclass
class ApiStep:
    """One measured step: the process, and what its read says it cost."""

    key: str
    label: str
    seconds: float
    peak_mb: float
    mode: str | None = None
    requests: int | None = None
    retries: int | None = None
    bytes: int | None = None
    read_seconds: float | None = None
    records: int | None = None
    records_by_endpoint: dict[str, int] = field(default_factory=dict)
    provider_seconds: float | None = None
    users_created: int | None = None
    users_updated: int | None = None

    def per_second(self, count: int | None) -> float | None:
        """``count`` per second of the read's own time."""
        if count is None or not self.read_seconds:
            return None
        return count / self.read_seconds


@dataclass
class ApiBench:
    """One size on one database: its steps."""

    size: str
    db: str
    persons: int
    changed: int = 0  # persons the 1% step renamed
    steps: list[ApiStep] = field(default_factory=list)


def failed(key: str, why: str, shown: Any) -> SystemExit:
    """The benchmark stops: a step did not do what it should (with what it said)."""
    return SystemExit(f"{LABELS[key]}: {why}\n{json.dumps(shown, indent=1)[-4000:]}")


def run_step(cmd: list[str], api: Api) -> tuple[sb.Measure, float]:
    """One step's command, measured (sb.run_measured stops on an exit status other than 0,
    with the tail of its stderr); with the seconds the provider spent answering it."""
    before = api.provider.answering
    m = sb.run_measured(cmd)
    return m, api.provider.answering - before


def make_step(key: str, m: sb.Measure, stats: dict[str, Any] | None, answering: float) -> ApiStep:
    """A step from its measure and its read's statistics, checked for the mode it expects."""
    step = ApiStep(key, LABELS[key], m.seconds, m.peak_mb)
    expected = MODES[key]
    if expected is None:
        if stats is not None:
            raise failed(key, "a bundle folder's sync reported an API read", stats)
        return step
    if stats is None or stats.get("mode") != expected:
        raise failed(key, f"the read was not {expected}", stats)
    step.mode, step.requests, step.retries = stats["mode"], stats["requests"], stats["retries"]
    step.bytes, step.read_seconds = stats["bytes"], stats["seconds"]
    step.records_by_endpoint = dict(stats["records"])
    step.records = sum(step.records_by_endpoint.values())
    step.provider_seconds = answering
    return step


def fetch_step(api: Api, target: Path) -> ApiStep:
    """``schoolsync fetch URL --to DIR``; the read's statistics from ``DIR/fetch.json``."""
    shutil.rmtree(target, ignore_errors=True)
    try:
        m, answering = run_step(api.cmd(None, "fetch", api.base, "--to", str(target)), api)
        note = json.loads((target / "fetch.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(target, ignore_errors=True)
    return make_step("fetch", m, note["stats"], answering)


def sync_step(key: str, api: Api, db: sb.Database, source: str) -> ApiStep:
    """``schoolsync sync --json SOURCE``: it must be applied."""
    m, answering = run_step(api.cmd(db.url, "sync", "--json", source), api)
    report = json.loads(m.output)
    if report["status"] != "applied":
        raise failed(key, f"the run was {report['status']}, not applied", report)
    step = make_step(key, m, report["sources"][0].get("api"), answering)
    users = report["changes"].get("users", {})
    step.users_created, step.users_updated = users.get("created", 0), users.get("updated", 0)
    return step


def bench(size: str, kind: str, bundles: sb.Bundles, args: argparse.Namespace) -> ApiBench:
    """Every step of one size on one database, against a provider of its own."""
    out: Path = args.out.resolve()
    result = ApiBench(size, kind, bundles.persons)

    def done(step: ApiStep) -> None:
        result.steps.append(step)
        read = f", {step.requests:,} requests" if step.requests is not None else ""
        print(f"  {size} {kind}: {step.label}: {step.seconds:.2f} s, {step.peak_mb:,.0f} MB{read}")

    with served(bundles.register, out / f"api-{size}-{kind}.toml") as api:
        done(fetch_step(api, out / f"api-{size}-fetch"))
        db = sb.make_db(kind, f"api-{size}-sync", args)
        try:
            done(sync_step("full", api, db, api.base))
            api.provider.tick(3600)
            done(sync_step("noop", api, db, api.base))
            api.provider.tick(3600)
            result.changed = rename_one_percent(api.provider)
            api.provider.tick(600)
            done(sync_step("1pct", api, db, api.base))
            for step, persons in ((result.steps[-2], 0), (result.steps[-1], result.changed)):
                read = step.records_by_endpoint.get("persons", 0)
                if read != persons:  # worth a look, not a failure: the overlap may reread some
                    print(f"  note: {step.key} read {read:,} persons, {persons:,} had changed")
        finally:
            db.drop()
        reference = sb.make_db(kind, f"api-{size}-bundle", args)
        try:
            done(sync_step("bundle", api, reference, str(bundles.register)))
        finally:
            reference.drop()
    return result


def warm_up(kinds: list[str], args: argparse.Namespace) -> None:
    """Untimed: sync_bench's warm-up (the tiny bundle synced), then the tiny register read
    over the API into each database, so that the HTTP client's code is compiled too."""
    sb.warm_up(kinds, args)
    out: Path = args.out.resolve()
    bundles = sb.prepare_bundles("tiny", out, args.fresh)
    with served(bundles.register, out / "api-warm-up.toml") as api:
        for kind in kinds:
            db = sb.make_db(kind, "api-warm-up", args)
            try:
                sb.run_measured(api.cmd(db.url, "sync", api.base))
            finally:
                db.drop()


# --- Report ----------------------------------------------------------------------------------


def number(value: float | None, digits: int = 0) -> str:
    """A number for a table, or "-"."""
    return "-" if value is None else f"{value:,.{digits}f}"


HEADER = ("step", "wall s", "peak MB", "requests", "requests/s", "MB read", "records read")
EXTRA = ("mode", "read s", "records/s", "provider s", "users +/~")  # the text table only


def row(step: ApiStep) -> list[str]:
    """The Markdown columns of one step (after size and database)."""
    mb = None if step.bytes is None else step.bytes / 2**20
    return [
        step.key,
        f"{step.seconds:.2f}",
        f"{step.peak_mb:,.0f}",
        number(step.requests),
        number(step.per_second(step.requests)),
        number(mb, 1),
        number(step.records),
    ]


def extra(step: ApiStep) -> list[str]:
    """The text table's further columns."""
    users = "-"
    if step.users_created is not None:
        users = f"{step.users_created:,}/{step.users_updated:,}"
    return [
        step.mode or "-",
        number(step.read_seconds, 2),
        number(step.per_second(step.records)),
        number(step.provider_seconds, 2),
        users,
    ]


def title(bench: ApiBench) -> str:
    """What was measured."""
    return f"{bench.size} ({bench.persons:,} persons, {bench.changed:,} renamed for 1pct)"


def print_table(bench: ApiBench) -> None:
    """A readable text table of one size on one database."""
    rows = [[*HEADER, *EXTRA], *([*row(s), *extra(s)] for s in bench.steps)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print(f"\n{title(bench)} on {bench.db}")
    for cells in rows:
        text = [
            c.ljust(w) if i in (0, 7) else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        print("  " + "  ".join(text).rstrip())


def markdown(benches: list[ApiBench], startup: sb.Measure) -> str:
    """All results as one Markdown table."""
    served = f"pages of {PAGE_SIZE}"
    lines = [
        f"The register served over HTTP on 127.0.0.1 by the fake SS 12000 provider ({served}); "
        "each step is a fresh `schoolsync` process, its wall time includes the "
        f"process start (`schoolsync --version`: {startup.seconds:.2f} s). fetch: `schoolsync "
        "fetch` to a folder (no database); full: `sync URL` into an empty directory; noop: "
        "`sync URL` again, nothing changed (incremental); 1pct: 1% of the persons renamed "
        "(incremental); bundle: `sync BUNDLE` of the same register as a folder, for reference. "
        "Requests (token included), MB received (MiB) and records are the read's own; "
        "requests/s is over the read's own seconds.",
        "",
        "| size | db | " + " | ".join(HEADER) + " |",
        "|---|---|---|" + "---:|" * (len(HEADER) - 1),
    ]
    for bench in benches:
        for step in bench.steps:
            lines.append("| " + " | ".join([bench.size, bench.db, *row(step)]) + " |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    """The command line (see the top)."""
    parser = sb.bench_parser(__doc__, "small,medium,large")
    parser.add_argument("--fresh", action="store_true", help="generate the bundles again")
    return parser.parse_args()


def main() -> int:
    """Run the benchmark."""
    args = parse_args()
    sizes = list(dict.fromkeys(s for s in args.sizes.split(",") if s))
    if unknown := set(sizes) - set(SIZES):
        raise SystemExit(f"--sizes: unknown size {', '.join(sorted(unknown))}")
    kinds = [k for k in args.db.split(",") if k]
    if unknown := set(kinds) - {"sqlite", "postgresql"}:
        raise SystemExit(f"--db: unknown database {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    bytecode = sb.cache_bytecode(args.out)
    os.environ[SECRET_ENV] = CLIENT_SECRET  # before the spawner starts: the steps inherit it
    warm_up(kinds, args)
    startup = sb.run_measured(sb.schoolsync(None, "--version"))
    print(
        f"process start (schoolsync --version): {startup.seconds:.2f} s, {startup.peak_mb:,.0f} MB"
    )
    benches: list[ApiBench] = []
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
            "page_size": PAGE_SIZE,
        },
        "results": [asdict(b) for b in benches],
    }
    (args.out / "results-api.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    table = markdown(benches, startup)
    (args.out / "results-api.md").write_text(table, encoding="utf-8")
    if args.markdown:
        print("\n" + table)
    print(f"\nwrote {args.out / 'results-api.json'} and {args.out / 'results-api.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
