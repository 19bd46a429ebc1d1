"""``schoolsync sync``: one run of the register and/or the schedules, and its report."""

from __future__ import annotations

import logging
from typing import Any

import click

from schoolsync import logs
from schoolsync.cli import render
from schoolsync.cli.context import Env, exit_status, pass_env, today_option, wait_option
from schoolsync.domain.settings import Settings
from schoolsync.engine.run import RunResult, sync
from schoolsync.errors import SchoolsyncError
from schoolsync.sources.detect import FORMATS, as_source
from schoolsync.store.db import Store


@click.command("sync")
@click.argument("sources", nargs=-1, required=True)
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
@click.option(
    "--full",
    "full_read",
    is_flag=True,
    help="Read an SS 12000 API whole instead of what changed since the last read.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["never", "error", "warning"]),
    default="never",
    show_default=True,
    help="Exit 4 when the run applied but found issues of this severity (warning: also errors), "
    "so that a cron job or a service manager can alert.",
)
@click.option(
    "--notify",
    is_flag=True,
    help="Send what [notify] sets up (e-mail, webhook) when the run is held, fails or finds new "
    "issues; a quiet run sends nothing.",
)
@wait_option
@today_option
@pass_env
def sync_command(
    env: Env,
    sources: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    source_format: str | None,
    allow_mass_changes: bool,
    wait: float,
    full_read: bool,
    fail_on: str,
    notify: bool,
) -> int:
    """Run one sync of SOURCES: plan, then apply in one transaction.

    SOURCES: an SS 12000 bundle folder or the base URL of an SS 12000 API (https://…/v2.0, read
    with the [ss12000] settings) for the register, and/or Skola24/Novaschem text exports (the
    schedule, one per school). Exit status: 0 done (warnings included), 1 failed (nothing
    applied), 3 held by a safety lock, 4 applied but with issues --fail-on names.
    """
    settings = env.settings()
    store: Store | None = None
    try:
        store = env.store(create=True)
        with (
            render.progress_stages(not as_json and render.err_console.is_terminal) as shown,
            logs.timed_stages(shown) as stage,
        ):
            result = sync(
                store,
                [as_source(s) for s in sources],
                settings,
                env.today,
                dry_run=dry_run,
                stage=stage,
                source_format=source_format,
                allow_mass_changes=allow_mass_changes,
                wait=wait,
                on_commit=env.mark_committed,
                full_read=full_read,
            )
    except SchoolsyncError as exc:
        logs.event("run failed", logging.ERROR, status="failed", error=type(exc).__name__)
        if notify and not dry_run:  # the run stopped: nothing applied, a person must look
            report = {"status": "failed", "error": type(exc).__name__, "issues": []}
            _notify(store, env.db_url, settings, report)
        raise
    logs.event(f"run {result.run_id} {result.status}", **run_fields(result))
    if notify and not dry_run:  # before the report: a closed output must not keep it back
        _notify(store, env.db_url, settings, result.as_report())
    show_result(result, as_json)
    return exit_status(result, fail_on)


def run_fields(result: RunResult) -> dict[str, Any]:
    """A run's log fields: counts only (no subject, no message: they may name persons)."""
    changes = sum(n for kinds in result.changes.values() for n in kinds.values())
    severities: dict[str, int] = {}
    for issue in result.issues:
        severities[issue.severity] = severities.get(issue.severity, 0) + 1
    return {
        "run_id": result.run_id,
        "status": result.status,
        "changes": changes,
        "issues": severities,
    }


def _notify(
    store: Store | None, db_url: str | None, settings: Settings, report: dict[str, Any]
) -> None:
    """``sync --notify``: send what the run calls for; a notifier that fails is a warning, and
    never changes the run's outcome or exit status."""
    from rich.markup import escape

    from schoolsync.notify import notify_run

    try:
        _, failures = notify_run(store or Store(db_url, migrate=False), settings.notify, report)
    except Exception as exc:  # a notice never hides the run's own outcome
        failures = [f"The notice could not be sent ({type(exc).__name__})."]
    for failure in failures:
        render.err_console.print(f"Warning: {escape(failure)}", soft_wrap=True)


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
    for source in result.sources:
        if source.get("api"):
            render.console.print(render.api_summary(source["api"]))
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
