"""``schoolsync export``: what the platform would see, as a table or JSON."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from schoolsync import __version__
from schoolsync.cli import render
from schoolsync.cli.context import Env, date_option, pass_env, today_option
from schoolsync.errors import ExportError
from schoolsync.export import export_directory, export_roster


@click.command("export")
@click.option("--json", "as_json", is_flag=True, help="Print the whole directory as JSON.")
@click.option("--from", "lessons_from", metavar="YYYY-MM-DD", callback=date_option,
              help="Only lessons on or after this date.")  # fmt: skip
@click.option("--to", "lessons_to", metavar="YYYY-MM-DD", callback=date_option,
              help="Only lessons on or before this date.")  # fmt: skip
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["oneroster", "sds"]),
    help="Write CSV files for other platforms: OneRoster 1.2 or Microsoft SDS v2.1.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder the --format files are written to (made if missing).",
)
@click.option(
    "--since",
    "since_run",
    type=click.IntRange(min=1),
    metavar="RUN",
    help="OneRoster only: a delta set, what changed after this run.",
)
@today_option
@pass_env
def export_command(
    env: Env,
    as_json: bool,
    lessons_from: date | None,
    lessons_to: date | None,
    file_format: str | None,
    out: Path | None,
    since_run: int | None,
) -> None:
    """Print the directory as it stands (schools, users, classes, groups, lessons), or write it
    as OneRoster 1.2 or SDS v2.1 CSV files (--format, --out)."""
    if file_format is not None or out is not None or since_run is not None:
        _export_files(env, file_format, out, since_run, as_json)
        return
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


def _export_files(
    env: Env, file_format: str | None, out: Path | None, since_run: int | None, as_json: bool
) -> None:
    """``export --format oneroster|sds --out DIR [--since RUN]``."""
    from schoolsync.rostering.files import write_oneroster, write_sds

    if file_format is None or out is None:
        raise click.UsageError("Give both --format (oneroster or sds) and --out DIR.")
    if since_run is not None and file_format != "oneroster":
        raise click.UsageError(
            "--since is for OneRoster only: SDS reads whole sets (a record missing from a set is "
            "made inactive), so write the whole set without --since."
        )
    settings = env.settings()
    with env.store().connect() as conn:
        roster = export_roster(conn, settings, env.today, since_run)
    demographics = settings.rostering.demographics
    left_out = 0
    try:
        if file_format == "oneroster":
            delta = since_run is not None
            counts = write_oneroster(
                roster, out, delta=delta, demographics=demographics, version=__version__
            )
        else:
            counts, left_out = write_sds(roster, out, demographics=demographics)
    except OSError as exc:
        raise ExportError(
            f"The {file_format} files could not be written to {out}: "
            f"{exc.strerror or type(exc).__name__}. Nothing in {out} was changed.",
            "Choose a folder you may write to, with room for the files.",
        ) from exc
    if file_format == "sds" and left_out:
        how = settings.rostering.username
        render.err_console.print(
            f"Warning: {left_out} user(s) are not in the SDS set: SDS needs a username (here: "
            f"the {how!r} of \\[rostering] username), and an e-mail for a guardian. Add it in "
            f"the register, or choose another \\[rostering] username.",
            soft_wrap=True,
        )
    kind = {"oneroster": "OneRoster 1.2", "sds": "SDS v2.1"}[file_format]
    what = f"a delta since run {since_run}" if since_run is not None else "a whole set"
    if as_json:
        render.print_json({"format": file_format, "out": str(out), "since": since_run,
                           "files": counts, "users_left_out": left_out})  # fmt: skip
        return
    from rich.table import Table

    table = Table()
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, count in counts.items():
        table.add_row(f"{name}.csv", str(count))
    render.console.print(table)
    render.console.print(f"Wrote {kind} CSV ({what}) to {out}.", soft_wrap=True)
