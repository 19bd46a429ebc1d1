"""``schoolsync runs``: the run history, one run's report, and approving a held run."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape

from schoolsync.cli import render
from schoolsync.cli.context import (
    MAX_RUN_ID,
    Env,
    exit_status,
    pass_env,
    run_id_argument,
    today_option,
    wait_option,
)
from schoolsync.cli.sync import show_result
from schoolsync.store.runs import count_changes, get_run, list_runs, run_changes


@click.group("runs", invoke_without_command=True)
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
        log = run_changes(conn, run_id, env.today, None if show_log or as_json else LOG_PREVIEW + 1)
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
    elif not (run["options"] or {}).get("retention"):
        render.console.print("No issues.")
    if retained := (run["options"] or {}).get("retention"):
        codes = ", ".join(f"{code} {n}" for code, n in retained["issues"].items()) or "none"
        render.console.print(
            f"Its change log ({retained['changes']:,} entries) and its issues ({codes}) were "
            f"removed on {retained['removed_on']} by retention (kept "
            f"{retained['kept_days']} days, \\[retention] change_log_days)."
        )
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
    return exit_status(result)
