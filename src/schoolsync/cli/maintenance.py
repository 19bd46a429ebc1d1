"""``schoolsync vacuum`` (retention of the run history) and ``schoolsync doctor`` (is everything
in place for unattended runs)."""

from __future__ import annotations

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env, today_option


@click.command("vacuum")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option(
    "--compact",
    is_flag=True,
    help="Then give the space back to the system (SQLite VACUUM, PostgreSQL VACUUM ANALYZE); "
    "on SQLite it waits for readers such as serve to let go.",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
@today_option
@pass_env
def vacuum_command(env: Env, dry_run: bool, compact: bool, as_json: bool) -> None:
    """Apply [retention]: runs older than change_log_days keep their row and counts, and lose
    their change-log entries and issues (summarised on the run). The directory's own data (users,
    classes, groups, memberships, lessons) is never touched."""
    from schoolsync.store.retention import compact as compact_store
    from schoolsync.store.retention import prune

    days = env.settings().retention.change_log_days
    store = env.store()
    pruned = prune(store, days, env.today, dry_run=dry_run)
    if compact and not dry_run:
        compact_store(store)
    if as_json:
        render.print_json(
            {
                "cutoff": pruned.cutoff.isoformat(),
                "kept_days": days,
                "runs": pruned.runs,
                "changes": pruned.changes,
                "issues": pruned.issues,
                "dry_run": dry_run,
            }
        )
        return
    verb = "would remove" if dry_run else "removed"
    if not pruned.runs:
        render.console.print(
            f"Nothing to remove: no run before {pruned.cutoff.isoformat()} ({days} days, "
            f"\\[retention] change_log_days) has a change log or issues left."
        )
        return
    render.console.print(
        f"Retention {verb} the change log ({pruned.changes:,} entries) and the issues "
        f"({pruned.issues:,}) of {len(pruned.runs)} run(s) before {pruned.cutoff.isoformat()} "
        f"({days} days): runs {_ranges(pruned.runs)}. Their rows and counts stay."
    )


def _ranges(ids: list[int]) -> str:
    """``1-4, 7`` for [1, 2, 3, 4, 7]."""
    out: list[str] = []
    for n in sorted(ids):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out)


@click.command("doctor")
@click.option("--send-test", is_flag=True, help="Also send a test e-mail and a test webhook.")
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@today_option
@pass_env
def doctor_command(env: Env, send_test: bool, as_json: bool) -> int:
    """Check that everything is in place for unattended runs: the settings, the database, each
    job's sources, the schedule and the notifiers. One line a check; exit 1 when one fails.
    Nothing is changed."""
    from dataclasses import asdict

    from rich.markup import escape

    from schoolsync.doctor import run_checks
    from schoolsync.store.db import resolve_url

    checks = run_checks(env.config, resolve_url(env.db_url), env.today, send_test=send_test)
    failed = [c for c in checks if not c.ok]
    if as_json:
        render.print_json({"ok": not failed, "checks": [asdict(c) for c in checks]})
        return 1 if failed else 0
    for c in checks:
        mark = "[green]✓[/]" if c.ok else "[red]✗[/]"
        line = f"{mark} {c.area}: {escape(c.name)}: {escape(c.detail)}"
        if not c.ok and c.fix:
            line += f" [bold]{escape(c.fix)}[/]"
        render.console.print(line, soft_wrap=True)
    render.console.print(
        f"{len(checks) - len(failed)} of {len(checks)} checks passed."
        + (f" {len(failed)} failed: see the lines marked ✗." if failed else "")
    )
    return 1 if failed else 0


@click.command("report")
@click.option("--school", required=True, help="The school (its name as the directory has it).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "csv", "html"]),
    default="md",
    show_default=True,
    help="Markdown, CSV or an HTML page.",
)
@click.option(
    "--send",
    is_flag=True,
    help="E-mail it to the school's [reports] recipients (through [notify.email]).",
)
@pass_env
def report_command(env: Env, school: str, fmt: str, send: bool) -> None:
    """What one school's people must fix, grouped by who fixes it (the schedule's maker, the
    register's administrator, the directory's), each with the change to make and since which
    run it has been open."""
    from schoolsync.errors import ConfigError
    from schoolsync.notify import Notice, email_ready, send_email
    from schoolsync.report import as_markdown, build
    from schoolsync.report import render as render_report

    report = build(env.store(), school)
    text = render_report(report, fmt)
    if not send:
        click.echo(text, nl=False)
        return
    settings = env.settings()
    to = settings.reports.recipients.get(report.school, [])
    if not to or not email_ready(settings.notify.email):
        raise ConfigError(
            f"The report of {report.school} has nobody to go to: it needs [reports] recipients "
            f'for "{report.school}" and [notify.email] host.',
            "Set them in the settings, or print the report without --send.",
        )
    lines = tuple(as_markdown(report).splitlines())
    subject = f"schoolsync: what {report.school} must fix ({len(report.items)} item(s))"
    send_email(settings.notify.email, Notice("report", subject, lines), recipients=to)
    render.console.print(f"The report of {report.school} went to {len(to)} recipient(s).")
