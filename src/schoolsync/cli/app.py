"""The ``schoolsync`` command: its global options and every command, registered explicitly."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from schoolsync import __version__, logs
from schoolsync.cli import (
    admin,
    demo,
    export,
    fetch,
    maintenance,
    runs,
    serve,
    sync,
    troubleshoot,
)
from schoolsync.cli.context import Env, date_option


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
    callback=date_option,
    help="The date the rules treat as today (default: the real date).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="The log's lines on stderr: readable text, or one JSON object a line.",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    help="What is logged: info has a line per stage and run (default: warning; serve: info).",
)
@click.version_option(__version__, prog_name="schoolsync")
@click.pass_context
def cli(
    ctx: click.Context,
    db_url: str | None,
    config: Path | None,
    today: date | None,
    debug: bool,
    log_format: str,
    log_level: str | None,
) -> None:
    """Keep a learning platform's directory in step with a Swedish school register."""
    env = ctx.ensure_object(Env)
    env.db_url, env.config, env.today_option = db_url, config, today or env.today_option
    serving = ctx.invoked_subcommand == "serve"
    logs.configure(log_level or ("info" if serving else "warning"), log_format)

    @ctx.call_on_close
    def _close() -> None:
        if env._store is not None:
            env._store.dispose()


for command in (
    sync.sync_command,
    fetch.fetch_command,
    export.export_command,
    runs.runs_group,
    demo.demo_command,
    demo.init_command,
    demo.generate_command,
    admin.user_group,
    admin.class_group,
    admin.group_group,
    troubleshoot.troubleshoot_cmd,
    serve.serve_command,
    serve.admin_group,
    maintenance.vacuum_command,
    maintenance.doctor_command,
    maintenance.report_command,
):
    cli.add_command(command)
