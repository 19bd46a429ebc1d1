"""Commands that change the directory by hand, as the platform would: edits, re-keys, merges
and renames.

Each holds the directory's run lock and is recorded as a run of its own kind (``edit``,
``rekey``, ``merge``, ``rename``) with its change log, so the history says who changed what, when.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.engine import Connection

from schoolsync.cli import render
from schoolsync.cli.app import Env, cli, pass_env
from schoolsync.domain.near import describe_near
from schoolsync.domain.personnummer import (
    CivicNoError,
    mask_civic_no,
    mask_details,
    parse_civic_no,
)
from schoolsync.engine.accounts import merge_users, rekey_user
from schoolsync.engine.apply import now
from schoolsync.engine.changeset import ENTITY_GROUP
from schoolsync.engine.run import finish_run, insert_run
from schoolsync.errors import ConflictError, NotFoundError, SchoolsyncError
from schoolsync.store import schema as t


def canonical_civic_no(text: str, env: Env) -> str:
    """A personnummer from the command line, checked and in its 12-character form."""
    try:
        return parse_civic_no(text, today=env.today).value
    except CivicNoError as exc:
        raise SchoolsyncError(
            f"The personnummer {mask_civic_no(text, today=env.today)} is not valid: {exc}.",
            "Give it as YYYYMMDDNNNN, YYYYMMDD-NNNN or YYMMDD-NNNN.",
        ) from exc


def _is_user_id(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


@dataclass
class Recorder:
    """A hand-made change in progress: its connection and its change log."""

    conn: Connection
    run_id: int
    entries: list[dict[str, Any]] = field(default_factory=list)

    def log(self, entity: str, entity_id: str, action: str, details: dict[str, Any]) -> None:
        """Add a change-log entry to this run."""
        self.entries.append(
            {"run_id": self.run_id, "entity": entity, "entity_id": entity_id, "action": action,
             "details": mask_details(details)}
        )  # fmt: skip


@contextmanager
def recorded(env: Env, kind: str, doing: str) -> Iterator[Recorder]:
    """Hold the run lock, open one transaction and record it as a run of ``kind``."""
    store = env.store()
    started = now()
    with store.run_lock(), store.transaction(doing) as conn:
        recorder = Recorder(conn, insert_run(conn, kind, "applied", env.today, [], started, {}))
        yield recorder
        if recorder.entries:
            conn.execute(t.changes.insert(), recorder.entries)
        summary: dict[str, Counter[str]] = {}
        for entry in recorder.entries:
            group = ENTITY_GROUP[entry["entity"]]
            summary.setdefault(group, Counter())[entry["action"]] += 1
        finish_run(conn, recorder.run_id, {k: dict(v) for k, v in summary.items()})


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
    with recorded(env, "edit", "editing the user") as run:
        u = t.users.c
        row = run.conn.execute(
            select(u.id, u.email, u.mobile, u.given_name, u.family_name).where(u.civic_no == number)
        ).first()
        if row is None:
            raise NotFoundError(
                f"No user has the personnummer {mask_civic_no(number, today=env.today)}.",
                "Check the number; list users with: schoolsync export --json",
            )
        changed = {
            name: (value.strip() or None)
            for name, value in (("email", email), ("mobile", mobile))
            if value is not None and getattr(row, name) != (value.strip() or None)
        }
        if changed:
            run.conn.execute(
                t.users.update().where(u.id == row.id).values(**changed, updated_run_id=run.run_id)
            )
            run.log(
                "user", row.id, "updated", {k: [getattr(row, k), v] for k, v in changed.items()}
            )
    if not changed:
        render.console.print("Nothing to change: the user already has those values.")
    for name, value in changed.items():
        render.console.print(
            f"{row.given_name} {row.family_name}: {name} "
            f"{'cleared' if value is None else 'set to ' + value} (run {run.run_id})."
        )


@user_group.command("rekey")
@click.argument("old")
@click.argument("new")
@pass_env
def user_rekey(env: Env, old: str, new: str) -> None:
    """Give the user with personnummer OLD the number NEW, before the register does (R1.4).

    The next sync that brings NEW from the register keeps the same account with all its history.
    """
    old_no, new_no = canonical_civic_no(old, env), canonical_civic_no(new, env)
    with recorded(env, "rekey", "changing the personnummer") as run:
        user, summary = rekey_user(run.conn, old_no, new_no, run.log)
    render.console.print(
        f"{user['given_name']} {user['family_name']}: personnummer {summary} (run {run.run_id}). "
        f"Now change it the same way in the register; the next sync keeps this account."
    )


@user_group.command("merge")
@click.argument("source")
@click.argument("target")
@pass_env
def user_merge(env: Env, source: str, target: str) -> None:
    """Move everything of account SOURCE into account TARGET, and end SOURCE (R1.6).

    SOURCE and TARGET are personnummer or user ids (as a possible-civic-no-change warning gives
    them). TARGET keeps its history and takes SOURCE's school links, memberships and guardianships;
    when SOURCE is the active account, TARGET also takes its personnummer.
    """
    keys = tuple(None if _is_user_id(k) else canonical_civic_no(k, env) for k in (source, target))
    with recorded(env, "merge", "merging the accounts") as run:
        old, new, moved = merge_users(
            run.conn, source, target, (keys[0], keys[1]), env.today, run.log
        )
    render.console.print(
        f"Merged {old['given_name']} {old['family_name']} into {new['given_name']} "
        f"{new['family_name']} ({new['id']}): {moved} link(s) moved (run {run.run_id})."
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
    g, s = t.groups.c, t.schools.c
    with recorded(env, "rename", f"renaming the {word}") as run:
        conn = run.conn
        school_id = conn.execute(select(s.id).where(s.name == school_name)).scalar()
        if school_id is None:
            known = conn.execute(select(s.name)).scalars().all()
            raise NotFoundError(
                f"There is no school named {school_name!r}.",
                describe_near(school_name, known) or "List the schools with: schoolsync export",
            )
        mine = (g.school_id == school_id) & (g.kind == kind)
        row = conn.execute(select(g.id, g.register_name).where(mine, g.name == old)).first()
        if row is None:
            names = conn.execute(select(g.name).where(mine)).scalars()
            raise NotFoundError(
                f"{school_name} has no {word} named exactly {old!r}.",
                describe_near(old, names) or f"See: schoolsync troubleshoot group {old!r}",
            )
        if conn.execute(select(g.id).where(mine, g.name == new)).first() is not None:
            raise ConflictError(
                f"{school_name} already has a {word} named {new!r}, so {old!r} was not renamed.",
                "Choose another name, or rename the other one first.",
            )
        # What the register calls it until it is renamed there too (R5.3); a second rename
        # keeps the register's name, and renaming back to it leaves nothing pending.
        register_name = old if row.register_name is None else row.register_name
        conn.execute(
            t.groups.update()
            .where(g.id == row.id)
            .values(
                name=new,
                register_name=None if register_name == new else register_name,
                updated_run_id=run.run_id,
            )
        )
        run.log(word, row.id, "renamed", {"name": [old, new], "kind": kind})
    render.console.print(
        f"Renamed the {word} {old!r} to {new!r} at {school_name} (run {run.run_id}). Now rename "
        f"it the same way in the register; the next sync keeps this {word} with all its content."
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
