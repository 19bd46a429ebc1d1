"""One sync run from end to end: read the sources, load the directory, plan, apply, record.

Reading happens before the database is touched; planning is pure; applying is one transaction
that writes the data, the change log, the issues and the run row together.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from schoolsync.domain.issues import Issue, sort_issues
from schoolsync.domain.settings import Settings
from schoolsync.domain.snapshot import Snapshot
from schoolsync.engine.apply import is_bulk, total_rows, write_changes, write_issues
from schoolsync.engine.plan import Plan, plan_run
from schoolsync.errors import ConfigError, ConflictError, InputError, SchoolsyncError
from schoolsync.sources.detect import Source, as_source, fingerprint, local_sources, read_sources
from schoolsync.sources.ss12000.picture import Delta
from schoolsync.store.db import Store
from schoolsync.store.load import load_directory
from schoolsync.store.picture import load_picture, save_picture
from schoolsync.store.runs import finish_run, get_run, insert_run, now, update_run_options, who

StageCallback = Callable[[str, int], Callable[[int], None]]
CommitCallback = Callable[[int, str], None]


def _no_progress(_stage: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


def _no_commit(_run_id: int, _status: str) -> None:
    return None


@dataclass
class RunResult:
    """The outcome of a run, in the run report's terms."""

    status: str
    changes: dict[str, dict[str, int]]
    issues: list[Issue]
    today: date
    sources: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None
    message: str = ""

    def as_report(self) -> dict[str, Any]:
        """The run report (INTERFACE.md)."""
        return {
            "run_id": None if self.run_id is None else str(self.run_id),
            "status": self.status,
            "today": self.today.isoformat(),
            "sources": self.sources,
            "changes": self.changes,
            "issues": [i.as_dict() for i in self.issues],
            **({"message": self.message} if self.message else {}),
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during a run.

    A run builds millions of small, acyclic objects; the collector's repeated passes over them
    cost about half the run time and free nothing. Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def sync(
    store: Store,
    sources: Sequence[Source],
    settings: Settings,
    today: date,
    *,
    dry_run: bool = False,
    stage: StageCallback = _no_progress,
    source_format: str | None = None,
    allow_mass_changes: bool = False,
    wait: float = 0.0,
    on_commit: CommitCallback = _no_commit,
    full_read: bool = False,
) -> RunResult:
    """Run one sync.

    The sources are read first, without the directory. Then, under the run lock (taken once):
    the tables are created or upgraded if need be, the directory is loaded, the run is planned
    and applied (or held) in one transaction.

    Args:
        store: The directory database.
        sources: The sources: paths (an SS 12000 bundle folder, Novaschem text exports) and/or
            the base URL of an SS 12000 API (a str), read in full into a temporary folder.
        settings: The settings.
        today: The date the rules treat as today.
        dry_run: Plan and report only.
        stage: Called with a stage name and a total; returns a function to advance it.
        source_format: Read every source as this format instead of recognising it.
        allow_mass_changes: Apply even when a safety lock trips (recorded in the run).
        wait: Seconds to wait for another run that holds the directory.
        on_commit: Called with the run id and status (``applied`` or ``held``) the moment the
            run's transaction has committed, before anything is rendered.
        full_read: Read an SS 12000 API whole, even when reading what changed would do.

    Returns:
        The result: ``applied``, ``held`` (nothing applied), or ``planned`` for a dry run.

    Raises:
        SchoolsyncError: For bad input or a database failure; nothing was applied.
    """
    started = now()
    with gc_paused(), ExitStack() as stack:
        local, deltas = _localise(
            store, sources, settings, today, started, stage, dry_run, wait, stack, full_read
        )
        read = _read(
            store, sources, local, settings, today, started, stage, source_format,
            record=not dry_run, wait=wait,
        )  # fmt: skip
        deltas = _trusted(read, deltas)
        with store.run_lock(wait):
            store.migrate(create=True)
            plan = _load_and_plan(store, read, settings, today, stage)
            del read  # applying needs only the plan: the sources' memory goes back first
            return _decide_and_write(
                store,
                plan,
                sources,
                local,
                deltas,
                started,
                dry_run=dry_run,
                stage=stage,
                source_format=source_format,
                allow_mass_changes=allow_mass_changes,
                approves=None,
                on_commit=on_commit,
            )


def _localise(
    store: Store,
    sources: Sequence[Source],
    settings: Settings,
    today: date,
    started: Any,
    stage: StageCallback,
    dry_run: bool,
    wait: float,
    stack: ExitStack,
    full_read: bool = False,
) -> tuple[list[Path], list[Delta]]:
    """The sources as paths: an SS 12000 API read (what changed, merged into the picture the
    directory keeps of it, unless a full read is due) into a temporary bundle folder that lives
    as long as ``stack``; with what each API read changes in its picture. A read that fails is
    recorded as a failed run (unless a dry run)."""
    if not any(isinstance(s, str) for s in sources):
        return [s for s in sources if isinstance(s, Path)], []
    try:
        read = local_sources(
            sources, settings.ss12000, today, stage, lambda url: load_picture(store, url), full_read
        )
        return stack.enter_context(read)
    except (InputError, ConfigError) as exc:
        if not dry_run:
            record_failed(store, sources, today, started, exc, wait)
        raise


def _trusted(read: Snapshot, deltas: list[Delta]) -> list[Delta]:
    """The pictures an applied run may keep: not one of a read that gave no securityMarking for
    anyone (everyone was handled as protected; the next read must be a full one again)."""
    if read.register is not None and "persons.securityMarking" in read.register.withheld:
        return []
    return deltas


def _read(
    store: Store,
    sources: Sequence[Source],
    paths: Sequence[Path],
    settings: Settings,
    today: date,
    started: Any,
    stage: StageCallback,
    source_format: str | None,
    *,
    record: bool,
    wait: float,
) -> Snapshot:
    """Read the run's sources (``paths``: them as local paths); a run that fails on its input is
    recorded (when ``record``)."""
    labels = {p: s for s, p in zip(sources, paths, strict=True) if isinstance(s, str)}
    try:
        advance = stage("Reading sources", len(paths))
        max_bytes = settings.sources.max_file_bytes
        return read_sources(paths, advance, source_format, max_bytes, labels)
    except InputError as exc:
        if record:
            record_failed(store, sources, today, started, exc, wait)
        raise


def _load_and_plan(
    store: Store, read: Snapshot, settings: Settings, today: date, stage: StageCallback
) -> Plan:
    """Load the directory and plan the run against it; the caller holds the run lock. The
    directory's picture is let go when the plan is made.

    The lessons are read source by source while the plan compares each (so a big schedule's
    never all wait in memory), through the same connection; the run lock keeps every writer
    out until the run ends, so they are read as they were when the rest was.
    """
    advance = stage("Loading the directory", 1)
    with store.connect() as conn:
        directory = load_directory(conn, lesson_sources(read), by_source=True)
        advance(1)
        advance = stage("Planning", 1)
        plan = plan_run(read, directory, settings, today)
        advance(1)
    return plan


def _decide_and_write(
    store: Store,
    plan: Plan,
    sources: Sequence[Source],
    local: Sequence[Path],
    deltas: Sequence[Delta],
    started: Any,
    *,
    dry_run: bool,
    stage: StageCallback,
    source_format: str | None,
    allow_mass_changes: bool,
    approves: dict[str, Any] | None,
    on_commit: CommitCallback,
) -> RunResult:
    """Apply or hold a planned run (or report it, for a dry run); the caller holds the lock."""
    trips = plan.locks
    status = decide(plan, dry_run=dry_run, allow_mass_changes=allow_mass_changes)
    if dry_run:
        return run_result(plan, status)
    if status == "held":
        return _hold(store, plan, trips, sources, local, source_format, started, on_commit)
    return _apply(store, plan, trips, started, stage, approves, on_commit, deltas)


def lesson_sources(read: Snapshot) -> set[str]:
    """The lesson sources a run compares with: its schedules', and ``ss12000`` with a register."""
    found = {s.source for s in read.schedules}
    if read.register is not None:
        found.add("ss12000")
    return found


def decide(plan: Plan, *, dry_run: bool, allow_mass_changes: bool) -> str:
    """What a run does with its plan (pure): ``held`` when a safety lock trips and no override
    was given, else ``planned`` for a dry run and ``applied`` for a real one."""
    if plan.locks and not allow_mass_changes:
        return "held"
    return "planned" if dry_run else "applied"


def _hold(
    store: Store,
    plan: Plan,
    trips: list[Issue],
    sources: Sequence[Source],
    local: Sequence[Path],
    source_format: str | None,
    started: Any,
    on_commit: CommitCallback,
) -> RunResult:
    """Record a held run: what it would have done, why it was held; nothing else is written.
    Its export is fingerprinted as read (``local``: an API's read, in its folder)."""
    options = {
        "held_by": sorted({i.code for i in trips}),
        "paths": [str(p) for p in sources],
        "format": source_format,
        "fingerprint": fingerprint(local),
    }
    issues = plan.issues + trips
    run_id = 0
    with store.transaction(
        "recording the held run", committed=lambda: on_commit(run_id, "held")
    ) as conn:
        run_id = insert_run(conn, "sync", "held", plan.today, plan.sources, started, options)
        write_issues(conn, issues, run_id)
        finish_run(conn, run_id, plan.changes.counts())
    return run_result(plan, "held", run_id)


def _apply(
    store: Store,
    plan: Plan,
    trips: list[Issue],
    started: Any,
    stage: StageCallback,
    approves: dict[str, Any] | None,
    on_commit: CommitCallback,
    deltas: Sequence[Delta] = (),
) -> RunResult:
    """Apply a plan in one transaction; a lock that tripped is recorded as overridden. What the
    run read of an SS 12000 API goes into the directory's picture of it, in the same one."""
    options: dict[str, Any] = {}
    if trips:
        options["allow_mass_changes"] = True
        options["overridden_locks"] = sorted({i.code for i in trips})
    if approves is not None:
        options["approves_run"] = approves["id"]
    advance = stage("Applying", total_rows(plan.changes))
    run_id = 0
    bulk = is_bulk(plan.changes)
    with store.transaction(
        "applying the run", committed=lambda: on_commit(run_id, "applied"), bulk=bulk
    ) as conn:
        run_id = insert_run(conn, "sync", "applied", plan.today, plan.sources, started, options)
        accept(plan, approves)
        write_changes(conn, plan.changes, run_id, plan.today, advance)
        for delta in deltas:
            save_picture(conn, delta, run_id)
        finish_run(conn, run_id, plan.changes.counts())
        if approves is not None:
            by = approves.get("actor") or who()
            approval = {"approved_by_run": run_id, "approved_by": by, "approved_at": now()}
            update_run_options(conn, approves["id"], {**approves["options"], **approval})
    if bulk:
        store.analyze()
    return run_result(plan, "applied", run_id)


def accept(plan: Plan, approves: dict[str, Any] | None = None) -> None:
    """Ready a plan to be applied: the locks it trips are added to its issues as overridden
    (by ``approves``, the held run approved, or else by --allow-mass-changes)."""
    plan.changes.issues.extend(overridden(plan.locks, approves))


def overridden(trips: list[Issue], approves: dict[str, Any] | None) -> list[Issue]:
    """The lock issues of a run applied anyway, saying so instead of 'held'."""
    how = f"approved (run {approves['id']})" if approves else "--allow-mass-changes"
    return [
        Issue(
            i.code, i.message.split(" The run was held")[0] + f" Applied anyway: {how}.", i.subject
        )
        for i in trips
    ]


def run_result(plan: Plan, status: str, run_id: int | None = None) -> RunResult:
    """The result of a run with this plan and status (pure). A run not applied lists the locks
    that tripped among its issues; an applied one has them, saying so, in the plan's issues."""
    held = status != "applied"
    issues = sort_issues(plan.issues + plan.locks) if held else plan.issues
    return RunResult(status, plan.changes.counts(), issues, plan.today, plan.sources, run_id)


def record_failed(
    store: Store,
    sources: Sequence[Source],
    today: date,
    started: Any,
    exc: SchoolsyncError,
    wait: float = 0.0,
) -> None:
    """Record a run that failed on its input, under the run lock.

    Best effort: a database error, or another run holding the directory, leaves it unrecorded.
    """
    try:
        with store.run_lock(wait), store.transaction("recording a failed run") as conn:
            srcs = [{"format": "unknown", "path": str(p)} for p in sources]
            run_id = insert_run(conn, "sync", "failed", today, srcs, started, {}, str(exc))
            finish_run(conn, run_id, {})
    except SchoolsyncError:
        pass


def approve(
    store: Store,
    run_id: int,
    settings: Settings,
    today: date,
    *,
    stage: StageCallback = _no_progress,
    wait: float = 0.0,
    on_commit: CommitCallback = _no_commit,
    actor: str | None = None,
) -> RunResult:
    """Apply a held run on purpose (R10): the same export, planned again against the directory.
    ``actor`` is who approves it, as recorded (default: this process's user).

    Everything is decided under the run lock, taken once: that the run is held and not yet
    approved, that its export is unchanged, and the run that applies it. Two approvals at once
    therefore apply once; the second finds the run approved.

    Raises:
        NoDirectoryError: When there is no directory at the URL.
        NotFoundError: When there is no such run.
        ConflictError: When the run is not held, was approved already, or its export changed.
    """
    with store.run_lock(wait):
        store.migrate(create=False)
        with store.connect() as conn:
            run = get_run(conn, run_id)
        options = run["options"] or {}
        if run["kind"] != "sync" or run["status"] != "held":
            raise ConflictError(
                f"Run {run_id} is {run['status']}, not held; only a held run can be approved.",
                "List the runs with: schoolsync runs",
            )
        if options.get("approved_by_run"):
            raise ConflictError(
                f"Run {run_id} was approved already, by run {options['approved_by_run']}.",
                f"See: schoolsync runs show {options['approved_by_run']}",
            )
        paths = [as_source(p) for p in options.get("paths", [])]
        started = now()
        source_format = options.get("format")
        with gc_paused(), ExitStack() as stack:
            # An API is read again (into a temporary folder): approving needs the same read.
            # An approval that cannot read its export again is not a sync that failed: it is
            # not recorded as one (the caller is told).
            local, deltas = _localise(
                store, paths, settings, today, started, stage, True, 0.0, stack
            )
            if fingerprint(local) != options.get("fingerprint"):
                raise ConflictError(
                    f"The export behind run {run_id} ({', '.join(map(str, paths))}) changed or "
                    f"is gone since the run was held, so it cannot be approved as it was.",
                    "Run the sync again with the new export; add --allow-mass-changes if it "
                    "should be applied even though it trips a safety lock.",
                )
            read = _read(
                store, paths, local, settings, today, started, stage, source_format,
                record=True, wait=0.0,
            )  # fmt: skip
            deltas = _trusted(read, deltas)
            plan = _load_and_plan(store, read, settings, today, stage)
            del read
            result = _decide_and_write(
                store,
                plan,
                paths,
                local,
                deltas,
                started,
                dry_run=False,
                stage=stage,
                source_format=source_format,
                allow_mass_changes=True,
                approves={**run, "actor": actor},
                on_commit=on_commit,
            )
    if result.changes != run["summary"]:
        result.message = (
            f"The directory or the date changed since run {run_id} was held, so the export was "
            f"planned again; the numbers above are the new plan's."
        )
    return result
