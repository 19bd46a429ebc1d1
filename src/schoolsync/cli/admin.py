"""Commands that change the directory by hand, as the platform would: ``user edit`` and friends.

Each is recorded as a run of its own kind (``edit``, ...) with its change log, so the history says
who changed what and when.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from schoolsync.cli import render
from schoolsync.cli.app import Env, cli, pass_env
from schoolsync.domain.personnummer import CivicNoError, parse_civic_no
from schoolsync.engine.apply import now
from schoolsync.engine.run import finish_run, insert_run
from schoolsync.errors import NotFoundError, SchoolsyncError
from schoolsync.store import schema as t


def canonical_civic_no(text: str, env: Env) -> str:
    """A personnummer from the command line, checked and in its 12-character form."""
    try:
        return parse_civic_no(text, today=env.today).value
    except CivicNoError as exc:
        raise SchoolsyncError(
            f"{text!r} is not a valid personnummer: {exc}.",
            "Give it as YYYYMMDDNNNN, YYYYMMDD-NNNN or YYMMDD-NNNN.",
        ) from exc


@cli.group("user")
def user_group() -> None:
    """Change one user in the directory, as the platform would."""


@user_group.command("edit")
@click.argument("civic_no")
@click.option("--email", help="New e-mail address ('' clears it).")
@click.option("--mobile", help="New mobile number ('' clears it).")
@pass_env
def user_edit(env: Env, civic_no: str, email: str | None, mobile: str | None) -> None:
    """The user's own change of e-mail or mobile in the platform (R2.2).

    A sync never overwrites a value set here; a value cleared here is filled in again from the
    register at the next sync, unless it is removed there too.
    """
    if email is None and mobile is None:
        raise click.UsageError("Give --email and/or --mobile.")
    number = canonical_civic_no(civic_no, env)
    store = env.store()
    started = now()
    with store.transaction("editing the user") as conn:
        u = t.users.c
        row = conn.execute(
            select(u.id, u.email, u.mobile, u.given_name, u.family_name).where(u.civic_no == number)
        ).first()
        if row is None:
            raise NotFoundError(
                f"No user has the personnummer {civic_no}.",
                "Check the number; list users with: schoolsync export --json",
            )
        changed = {}
        for name, value in (("email", email), ("mobile", mobile)):
            if value is not None:
                new = value.strip() or None
                if getattr(row, name) != new:
                    changed[name] = new
        if not changed:
            render.console.print("Nothing to change: the user already has those values.")
            return
        run_id = insert_run(conn, "edit", "applied", env.today, [], started, {})
        conn.execute(
            t.users.update().where(u.id == row.id).values(**changed, updated_run_id=run_id)
        )
        details = {k: [getattr(row, k), v] for k, v in changed.items()}
        conn.execute(
            t.changes.insert().values(
                run_id=run_id, entity="user", entity_id=row.id, action="updated", details=details
            )
        )
        finish_run(conn, run_id, {"users": {"updated": 1}})
    for name, value in changed.items():
        render.console.print(
            f"{row.given_name} {row.family_name}: {name} "
            f"{'cleared' if value is None else 'set to ' + value} (run {run_id})."
        )
