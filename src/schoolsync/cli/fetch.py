"""``schoolsync fetch``: read a live SS 12000 API and keep what it answered as a bundle folder."""

from __future__ import annotations

from pathlib import Path

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env, today_option
from schoolsync.sources.ss12000.api import check_url, fetch_to


@click.command("fetch")
@click.argument("url")
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="The new folder to write the bundle to (it must not exist, or be empty).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the read's note as JSON.")
@today_option
@pass_env
def fetch_command(env: Env, url: str, target: Path, as_json: bool) -> None:
    """Read the SS 12000 API at URL (its base, ending in the version: https://…/v2.0) with the
    [ss12000] settings, as a sync reads it, and write it as a bundle folder.

    `schoolsync sync DIR` then gives the same directory as `schoolsync sync URL` would have:
    for audit, support cases and replay. The folder appears only when the read is complete.
    """
    settings = env.settings()
    check_url(url)
    with render.progress_stages(not as_json and render.err_console.is_terminal) as stage:
        note = fetch_to(url, target, settings.ss12000, env.today, progress=stage)
    if as_json:
        render.print_json({"to": str(target), **note.as_dict()})
        return
    stats = note.stats
    render.console.print(
        f"Read {note.source} into {target}: "
        + ", ".join(f"{n} {endpoint}" for endpoint, n in stats["records"].items())
        + "."
    )
    render.console.print(render.api_summary(stats))
    for item in note.issues():
        render.console.print(f"warning: {item.message}")
