"""``schoolsync export``: what the platform would see, as a table or JSON."""

from __future__ import annotations

from datetime import date

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, date_option, pass_env, today_option
from schoolsync.export import export_directory


@click.command("export")
@click.option("--json", "as_json", is_flag=True, help="Print the whole directory as JSON.")
@click.option("--from", "lessons_from", metavar="YYYY-MM-DD", callback=date_option,
              help="Only lessons on or after this date.")  # fmt: skip
@click.option("--to", "lessons_to", metavar="YYYY-MM-DD", callback=date_option,
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
