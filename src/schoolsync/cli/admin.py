"""Commands that change the directory by hand, as the platform would: edits and renames.

Each is recorded as a run of its own kind (``edit``, ...) with its change log, so the history says
who changed what and when.
"""

from __future__ import annotations

import click
from sqlalchemy import select

from schoolsync.cli import render
from schoolsync.cli.app import Env, cli, pass_env
from schoolsync.domain.near import describe_near
from schoolsync.domain.personnummer import CivicNoError, parse_civic_no
from schoolsync.engine.apply import now
from schoolsync.engine.run import finish_run, insert_run
from schoolsync.errors import ConflictError, NotFoundError, SchoolsyncError
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


def _rename(env: Env, kind: str, old: str, new: str, school_name: str) -> None:
    """Rename a class or group in the directory first (R5.3, the platform-first order)."""
    word = "class" if kind == "class" else "group"
    if not new.strip():
        raise click.UsageError("The new name must not be empty.")
    if kind == "class" and "," in new:
        raise SchoolsyncError(
            f"{new!r} has a comma; commas are not allowed in class names (R5.2).",
            "Choose a name without a comma.",
        )
    started = now()
    g, s = t.groups.c, t.schools.c
    with env.store().transaction(f"renaming the {word}") as conn:
        school_id = conn.execute(select(s.id).where(s.name == school_name)).scalar()
        if school_id is None:
            known = conn.execute(select(s.name)).scalars().all()
            raise NotFoundError(
                f"There is no school named {school_name!r}.",
                describe_near(school_name, known) or "List the schools with: schoolsync export",
            )
        row = conn.execute(
            select(g.id).where(g.school_id == school_id, g.kind == kind, g.name == old)
        ).first()
        if row is None:
            names = conn.execute(
                select(g.name).where(g.school_id == school_id, g.kind == kind)
            ).scalars()
            raise NotFoundError(
                f"{school_name} has no {word} named exactly {old!r}.",
                describe_near(old, names) or f"See: schoolsync troubleshoot group {old!r}",
            )
        taken = conn.execute(
            select(g.id).where(g.school_id == school_id, g.kind == kind, g.name == new)
        ).first()
        if taken is not None:
            raise ConflictError(
                f"{school_name} already has a {word} named {new!r}, so {old!r} was not renamed.",
                "Choose another name, or rename the other one first.",
            )
        run_id = insert_run(conn, "rename", "applied", env.today, [], started, {})
        conn.execute(
            t.groups.update().where(g.id == row.id).values(name=new, updated_run_id=run_id)
        )
        conn.execute(
            t.changes.insert().values(
                run_id=run_id, entity=word, entity_id=row.id, action="renamed",
                details={"name": [old, new], "kind": kind},
            )
        )  # fmt: skip
        finish_run(conn, run_id, {f"{word}es" if kind == "class" else "groups": {"renamed": 1}})
    render.console.print(
        f"Renamed the {word} {old!r} to {new!r} at {school_name} (run {run_id}). Now rename it "
        f"the same way in the register; the next sync keeps this {word} with all its content."
    )


@cli.group("class")
def class_group() -> None:
    """Work on one class in the directory (rename it before the register does, R5.3)."""


@class_group.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--school", required=True, help="The school the class belongs to (its name).")
@pass_env
def class_rename(env: Env, old: str, new: str, school: str) -> None:
    """Rename class OLD to NEW in the directory, before the same rename in the register.

    The next sync that brings NEW from the register keeps the same class, with its students,
    content and history. Renamed in the register first instead, the old class is archived and a
    new one created (possible-rename).
    """
    _rename(env, "class", old, new, school)


@cli.group("group")
def group_group() -> None:
    """Work on one teaching group in the directory (rename it before the register does, R5.3)."""


@group_group.command("rename")
@click.argument("old")
@click.argument("new")
@click.option("--school", required=True, help="The school the group belongs to (its name).")
@pass_env
def group_rename(env: Env, old: str, new: str, school: str) -> None:
    """Rename teaching group OLD to NEW in the directory, before the register does.

    The next sync that brings NEW from the register keeps the same group, with its content and
    history.
    """
    _rename(env, "group", old, new, school)
