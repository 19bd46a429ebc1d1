"""The command group, its global options, and the main commands (sync, export, runs, demo)."""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from schoolsync import __version__
from schoolsync.cli import render
from schoolsync.engine.run import RunResult, sync
from schoolsync.errors import SchoolsyncError
from schoolsync.export import export_directory
from schoolsync.settings import Settings, load_settings
from schoolsync.sources.detect import FORMATS
from schoolsync.store.db import Store
from schoolsync.store.runs import count_changes, get_run, list_runs, run_changes

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
"""The dates the directory holds; --today, --from and --to outside them are usage errors."""

MAX_RUN_ID = 2**63 - 1


@dataclass
class Env:
    """What the global options give every command; the store and settings open lazily.

    Attributes:
        committed: ``(run id, status)`` of the run this command committed, once it has: from
            then on the command's outcome is that run's, whatever happens while reporting it.
    """

    db_url: str | None = None
    config: Path | None = None
    today_option: date | None = None
    committed: tuple[int, str] | None = None
    _store: Store | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)
    _checked: bool = field(default=False, repr=False)

    @property
    def today(self) -> date:
        """``--today``, else the real date."""
        return self.today_option or date.today()

    def store(self, *, create: bool = False) -> Store:
        """The directory database.

        Args:
            create: False (every command but sync, demo and init): the directory must exist;
                one made by an older schoolsync is upgraded first (under the run lock), a
                missing one is an error and nothing is created. True: the directory may not
                exist yet; the caller creates or upgrades it under its run lock.

        Raises:
            NoDirectoryError: When ``create`` is false and there is no directory.
            NewerDirectoryError: When a newer schoolsync wrote the directory.
        """
        if self._store is None:
            self._store = Store(self.db_url, migrate=False)
        if not self._checked:
            self._store.revision()  # a directory from a newer schoolsync stops every command
            if not create:
                self._store.migrate(create=False)
            self._checked = True
        return self._store

    def mark_committed(self, run_id: int, status: str) -> None:
        """Remember that run ``run_id`` committed (``applied`` or ``held``)."""
        self.committed = (run_id, status)

    def settings(self) -> Settings:
        """The settings file's values (defaults when there is none)."""
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


pass_env = click.make_pass_decorator(Env)


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from exc
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise click.BadParameter(
            f"{value} is outside the dates the directory holds "
            f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"
        )
    return parsed


def _seconds(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a number of seconds (0 or more)")
    return value


def wait_option(func: Any) -> Any:
    """``--wait SECONDS``: wait this long for another run that holds the directory."""
    return click.option(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        callback=_seconds,
        help="Wait this long for another run that is changing the directory.",
    )(func)


run_id_argument = click.argument("run_id", type=click.IntRange(1, MAX_RUN_ID))


def today_option(func: Any) -> Any:
    """``--today`` on a command (it may also be given before the command)."""

    def store_today(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        parsed = _date(ctx, param, value)
        if parsed is not None:
            ctx.ensure_object(Env).today_option = parsed

    return click.option(
        "--today",
        metavar="YYYY-MM-DD",
        expose_value=False,
        callback=store_today,
        help="The date the rules treat as today (default: the real date).",
    )(func)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Directory database (SQLAlchemy URL). Default: $SCHOOLSYNC_DATABASE_URL, else "
    "sqlite:///schoolsync.db.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file (TOML). Default: schoolsync.toml in the working directory, if present.",
)
@click.option(
    "--today",
    metavar="YYYY-MM-DD",
    callback=_date,
    help="The date the rules treat as today (default: the real date).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="schoolsync")
@click.pass_context
def cli(
    ctx: click.Context, db_url: str | None, config: Path | None, today: date | None, debug: bool
) -> None:
    """Keep a learning platform's directory in step with a Swedish school register."""
    env = ctx.ensure_object(Env)
    env.db_url, env.config, env.today_option = db_url, config, today or env.today_option

    @ctx.call_on_close
    def _close() -> None:
        if env._store is not None:
            env._store.dispose()


@cli.command("sync")
@click.argument("sources", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Plan and report only; apply nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option(
    "--format",
    "source_format",
    type=click.Choice(FORMATS),
    help="Read every SOURCE as this format instead of recognising it.",
)
@click.option(
    "--allow-mass-changes",
    is_flag=True,
    help="Apply even if a safety lock trips (missing data, many endings); recorded in the run.",
)
@wait_option
@today_option
@pass_env
def sync_command(
    env: Env,
    sources: tuple[Path, ...],
    dry_run: bool,
    as_json: bool,
    source_format: str | None,
    allow_mass_changes: bool,
    wait: float,
) -> int:
    """Run one sync of SOURCES: plan, then apply in one transaction.

    SOURCES: an SS 12000 bundle folder (the register) and/or Skola24/Novaschem text exports (the
    schedule, one per school). Exit status: 0 done (warnings included), 1 failed (nothing
    applied), 3 held by a safety lock.
    """
    settings = env.settings()
    store = env.store(create=True)
    with render.progress_stages(not as_json and render.err_console.is_terminal) as stage:
        result = sync(
            store,
            sources,
            settings,
            env.today,
            dry_run=dry_run,
            stage=stage,
            source_format=source_format,
            allow_mass_changes=allow_mass_changes,
            wait=wait,
            on_commit=env.mark_committed,
        )
    show_result(result, as_json)
    return result.exit_code


def show_result(result: RunResult, as_json: bool) -> None:
    """Print a run's result for a person or as JSON."""
    if as_json:
        render.print_json(result.as_report())
        return
    head = {
        "applied": f"Run {result.run_id} applied",
        "planned": "Dry run: nothing was applied",
        "held": f"[red]Run {result.run_id} held by a safety lock: nothing was applied[/]",
    }.get(result.status, result.status)
    if result.status == "held" and result.run_id is None:
        head = "[red]Dry run: a real run would be held by a safety lock[/]"
    render.console.print(f"[bold]{head}[/] (today = {result.today.isoformat()})")
    title = "What the run would have changed" if result.status == "held" else "Changes"
    render.console.print(render.changes_table(result.changes, title))
    if result.message:
        render.console.print(result.message)
    if result.issues:
        render.console.print(render.issues_by_code_table(result.issues))
        render.console.print(render.issues_table(result.issues, limit=30))
    else:
        render.console.print("No issues.")
    if result.status == "held" and result.run_id is not None:
        render.console.print(
            f"To apply it anyway once you have checked the export: schoolsync runs approve "
            f"{result.run_id}"
        )


@cli.command("export")
@click.option("--json", "as_json", is_flag=True, help="Print the whole directory as JSON.")
@click.option("--from", "lessons_from", metavar="YYYY-MM-DD", callback=_date,
              help="Only lessons on or after this date.")  # fmt: skip
@click.option("--to", "lessons_to", metavar="YYYY-MM-DD", callback=_date,
              help="Only lessons on or before this date.")  # fmt: skip
@today_option
@pass_env
def export_command(
    env: Env, as_json: bool, lessons_from: date | None, lessons_to: date | None
) -> None:
    """Print the directory as it stands (schools, users, classes, groups, lessons)."""
    lead = env.settings().sync.visibility_lead_days
    with env.store().connect() as conn:
        doc = export_directory(conn, env.today, lead, lessons_from, lessons_to)
    if as_json:
        render.print_json(doc)
        return
    from rich.table import Table

    table = Table(title=f"Directory on {env.today.isoformat()}", title_justify="left")
    for name in ("school", "students", "teachers", "staff", "guardians"):
        table.add_column(name, justify="left" if name == "school" else "right")
    counts: dict[str, dict[str, int]] = {s["name"]: {} for s in doc["schools"]}
    for user in doc["users"]:
        for link in user["schools"]:
            if link["active"]:
                per = counts.setdefault(link["school"], {})
                per[link["role"]] = per.get(link["role"], 0) + 1
    for school, per in counts.items():
        table.add_row(
            school, *(str(per.get(r, 0)) for r in ("student", "teacher", "staff", "guardian"))
        )
    render.console.print(table)
    ended = sum(1 for u in doc["users"] if u["status"] == "ended")
    render.console.print(
        f"{len(doc['users'])} users ({ended} ended), {len(doc['classes'])} classes, "
        f"{len(doc['groups'])} groups, {len(doc['lessons'])} lessons. Use --json for the whole "
        f"directory."
    )


@cli.group("runs", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, MAX_RUN_ID),
              help="How many runs to list.")  # fmt: skip
@click.pass_context
def runs_group(ctx: click.Context, as_json: bool, limit: int) -> None:
    """List past runs, newest first (``runs show ID`` for one run)."""
    if ctx.invoked_subcommand is not None:
        return
    env = ctx.find_object(Env)
    assert env is not None
    with env.store().connect() as conn:
        runs = list_runs(conn, limit)
    if as_json:
        render.print_json([_run_summary(r) for r in runs])
        return
    from rich.table import Table

    table = Table(title="Runs", title_justify="left")
    for name in ("id", "kind", "status", "started (UTC)", "today", "who", "changes", "issues"):
        table.add_column(name)
    for run in runs:
        table.add_row(
            str(run["id"]),
            run["kind"],
            run["status"],
            run["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
            run["today"].isoformat(),
            run["who"],
            _changes_text(run["summary"]),
            ", ".join(f"{n} {s}" for s, n in sorted(run["issue_counts"].items())) or "-",
        )
    render.console.print(table if runs else "No runs yet. Start with: schoolsync demo")


def _changes_text(summary: dict[str, dict[str, int]]) -> str:
    parts = [
        f"{kind} {action} {n}"
        for kind, counts in summary.items()
        for action, n in counts.items()
        if n and kind == "users"
    ]
    return ", ".join(parts) or "-"


def _run_summary(run: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": str(run["id"]),
        "kind": run["kind"],
        "status": run["status"],
        "started_at": run["started_at"].isoformat(),
        "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None,
        "today": run["today"].isoformat(),
        "who": run["who"],
        "sources": run["sources"],
        "options": run["options"],
        "changes": run["summary"],
        "message": run["message"],
        "issue_counts": run.get("issue_counts", {}),
    }


@runs_group.command("show")
@run_id_argument
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--log", "show_log", is_flag=True, help="Include the whole change log.")
@click.option("--all", "show_all", is_flag=True, help="List every issue with its message.")
@pass_env
def runs_show(env: Env, run_id: int, as_json: bool, show_log: bool, show_all: bool) -> None:
    """Show one run: its verdict and why, its changes, its issues by code and its change log.

    The full list of issues is behind --all and the whole change log behind --log.
    """
    with env.store().connect() as conn:
        run = get_run(conn, run_id)
        log = run_changes(conn, run_id, None if show_log or as_json else LOG_PREVIEW + 1)
        total = len(log) if show_log or as_json else count_changes(conn, run_id)
    report = _run_summary(run)
    report["issues"] = run["issues"]
    if as_json:
        if show_log:
            report["change_log"] = log
        render.print_json(report)
        return
    render.console.print(
        f"[bold]Run {run_id}[/] {run['kind']} {run['status']} by {run['who']} "
        f"(today = {report['today']}, started {report['started_at']})"
    )
    for line in verdict_lines(run):
        render.console.print(line)
    if run["message"]:
        render.console.print(run["message"])
    title = "What the run would have changed" if run["status"] == "held" else "Changes"
    render.console.print(render.changes_table(run["summary"] or {}, title))
    if run["issues"]:
        render.console.print(render.issues_by_code_table(run["issues"]))
        if show_all:
            render.console.print(render.issues_table(run["issues"]))
        else:
            render.console.print(
                f"{len(run['issues'])} issue(s); list them with their messages: "
                f"schoolsync runs show {run_id} --all"
            )
    else:
        render.console.print("No issues.")
    from schoolsync.cli.changelog import change_log_table

    if log:
        shown = log if show_log else log[:LOG_PREVIEW]
        render.console.print(change_log_table(env, shown))
        if total > len(shown):
            render.console.print(
                f"{total - len(shown)} more change(s), use --log: schoolsync runs show {run_id} "
                f"--log"
            )


LOG_PREVIEW = 40
"""How many change-log entries ``runs show`` prints without --log."""


def verdict_lines(run: dict[str, Any]) -> list[str]:
    """What became of a run, and why, for the top of ``runs show``."""
    options = run["options"] or {}
    status = run["status"]
    if status == "held":
        locks = ", ".join(options.get("held_by", [])) or "a safety lock"
        lines = [f"[bold red]Held by a safety lock ({locks}): nothing was applied.[/]"]
        lines += [
            f"  - {escape(i['message'])}" for i in run["issues"] if i["code"].startswith("lock-")
        ]
        if options.get("approved_by_run"):
            lines.append(
                f"[bold]Approved[/] by {escape(str(options.get('approved_by', '?')))} at "
                f"{options.get('approved_at', '?')}: applied as run {options['approved_by_run']} "
                f"(schoolsync runs show {options['approved_by_run']})."
            )
        else:
            lines.append(
                f"Not approved. To apply it once you have checked the export: schoolsync runs "
                f"approve {run['id']}"
            )
        return lines
    if status == "applied":
        line = "[bold]Applied.[/]"
        if options.get("approves_run"):
            line += f" It approved the held run {options['approves_run']}."
        if options.get("overridden_locks"):
            line += f" Safety locks overridden: {', '.join(options['overridden_locks'])}."
        return [line]
    if status == "failed":
        return ["[bold red]Failed: nothing was applied.[/]"]
    return [f"[bold]{escape(status)}[/]"]


@runs_group.command("approve")
@run_id_argument
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@wait_option
@today_option
@pass_env
def runs_approve(env: Env, run_id: int, as_json: bool, wait: float) -> int:
    """Apply a run that a safety lock held (R10), recording who approved it and when.

    The same export is planned again against the directory as it is now, then applied.
    """
    from schoolsync.engine.run import approve

    with render.progress_stages(not as_json and render.err_console.is_terminal) as stage:
        result = approve(
            env.store(),
            run_id,
            env.settings(),
            env.today,
            stage=stage,
            wait=wait,
            on_commit=env.mark_committed,
        )
    show_result(result, as_json)
    return result.exit_code


size_option = click.option(
    "--size",
    type=click.Choice(["tiny", "small", "medium", "large"]),
    default="small",
    show_default=True,
    help="How big a municipality to generate.",
)


@cli.command("demo")
@size_option
@click.option("--seed", default=1, show_default=True, help="Seed of the generated data.")
@click.option(
    "--keep",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write the generated bundle to this folder and keep it (default: a temporary folder).",
)
@today_option
@pass_env
def demo_command(env: Env, size: str, seed: int, keep: Path | None) -> int:
    """Generate the synthetic municipality and sync it into the directory.

    Exit status as for sync: 0 applied, 3 held by a safety lock. A held run's bundle is kept
    (in --keep DIR, else in a folder the message names), so that runs approve can apply it.
    """
    from schoolsync.generate import generate_bundle

    store = env.store(create=True)
    folder = keep if keep is not None else Path(tempfile.mkdtemp(prefix="schoolsync-demo-"))
    bundle = folder if keep is not None else folder / "bundle"
    result: RunResult | None = None
    try:
        try:
            summary = generate_bundle(bundle, size, seed=seed, today=env.today)
        except OSError as exc:
            raise SchoolsyncError(
                f"Cannot write the demo bundle to {bundle}: {exc.strerror or exc}.",
                "Choose a --keep folder you may write to.",
            ) from exc
        render.console.print(
            f"Generated a {size} municipality: {summary.schools} school(s), "
            f"{summary.students} students, {summary.staff} staff, {summary.guardians} guardians "
            f"(seed {seed})."
        )
        render.console.print(
            f"Syncing it and its {len(summary.schedules)} schedule export(s) "
            f"({summary.dated_lessons} dated lessons) into {store.display} ..."
        )
        sources = [bundle, *summary.schedules]
        with render.progress_stages(True) as stage:
            result = sync(
                store, sources, env.settings(), env.today, stage=stage,
                on_commit=env.mark_committed,
            )  # fmt: skip
    finally:
        if keep is None and (result is None or result.status != "held"):
            shutil.rmtree(folder, ignore_errors=True)
    show_result(result, False)
    if result.status == "held":
        render.console.print(
            f"The generated bundle is kept in {bundle}, so that the approval can read it; "
            f"delete the folder when you are done."
        )
        return result.exit_code
    if keep is not None:
        render.console.print(f"The generated bundle is in {bundle}.")
    render.console.print(
        "Next: schoolsync export | schoolsync runs | schoolsync runs show "
        f"{result.run_id} | schoolsync export --json"
    )
    return result.exit_code


@cli.command("init")
@wait_option
@pass_env
def init_command(env: Env, wait: float) -> None:
    """Create an empty directory at --db, or upgrade one made by an older schoolsync.

    Only init, sync and demo create a directory; every other command needs an existing one.
    Running init on an up-to-date directory changes nothing.
    """
    store = env.store(create=True)
    before = store.revision()
    store.migrate(create=True, wait=wait)
    after = store.revision()
    if before is None:
        render.console.print(f"Created an empty directory at {store.display} (schema {after}).")
    elif before != after:
        render.console.print(
            f"Upgraded the directory at {store.display} from schema {before} to {after}."
        )
    else:
        render.console.print(f"The directory at {store.display} is up to date (schema {after}).")


@cli.command("generate")
@size_option
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the SS 12000 bundle to (created if missing).",
)
@click.option("--seed", default=1, show_default=True, help="Same seed and --today, same files.")
@click.option("--faults/--no-faults", default=True, show_default=True,
              help="Sprinkle in realistic faults (invalid numbers, duplicates, ...).")  # fmt: skip
@today_option
@pass_env
def generate_command(env: Env, size: str, out: Path, seed: int, faults: bool) -> None:
    """Write a synthetic SS 12000 bundle (test personnummer only) to --out."""
    from schoolsync.generate import generate_bundle

    try:
        summary = generate_bundle(out, size, seed=seed, today=env.today, faults=faults)
    except OSError as exc:
        raise SchoolsyncError(
            f"Cannot write the bundle to {out}: {exc.strerror or exc}.",
            "Choose a folder you may write to.",
        ) from exc
    render.console.print(
        f"Wrote {summary.persons} persons ({summary.students} students, {summary.staff} staff, "
        f"{summary.guardians} guardians), {summary.schools} school units, {summary.groups} "
        f"groups and {summary.duties} duties to {out} (school year from "
        f"{summary.school_year_start.isoformat()}; {summary.test_numbers} test personnummer, "
        f"{summary.tf_numbers} TF numbers)."
    )
    if summary.schedules:
        render.console.print(
            f"Wrote {len(summary.schedules)} Skola24/Novaschem schedule export(s) under "
            f"{out / 'schedule'} ({summary.lesson_rows} lesson rows, {summary.dated_lessons} "
            f"dated lessons). Sync them with: schoolsync sync {out} {out / 'schedule'}/*.txt"
        )
    for fault in summary.faults:
        render.console.print(f"  fault: {fault}")


from schoolsync.cli import admin, troubleshoot  # noqa: E402,F401  (registers their commands)
