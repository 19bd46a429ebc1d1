"""Commands that change the directory by hand, as the platform would: edits, re-keys, merges
and renames. Each is recorded as a run of its own kind (see :mod:`schoolsync.engine.manual`).
"""

from __future__ import annotations

import uuid

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env
from schoolsync.domain.personnummer import CivicNoError, mask_civic_no, parse_civic_no
from schoolsync.engine import manual
from schoolsync.errors import SchoolsyncError


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


@click.group("user")
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
    done = manual.edit_user(env.store(), number, {"email": email, "mobile": mobile}, env.today)
    if not done.changed:
        render.console.print("Nothing to change: the user already has those values.")
    for name, value in done.changed.items():
        render.console.print(
            f"{done.name}: {name} {'cleared' if value is None else 'set to ' + value} "
            f"(run {done.run_id})."
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
    done = manual.rekey(env.store(), old_no, new_no, env.today)
    render.console.print(
        f"{done.name}: personnummer {done.detail} (run {done.run_id}). "
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
    done = manual.merge(env.store(), source, target, (keys[0], keys[1]), env.today)
    render.console.print(
        f"Merged {done.source_name} into {done.target_name} ({done.target_id}): {done.moved} "
        f"link(s) moved (run {done.run_id})."
    )


def _rename(env: Env, kind: str, old: str, new: str, school_name: str) -> None:
    """Rename a class or group in the directory first (R5.3, the platform-first order)."""
    word = "class" if kind == "class" else "group"
    if not new.strip():
        raise click.UsageError("The new name must not be empty.")
    run_id = manual.rename_group(env.store(), kind, old, new, school_name, env.today)
    render.console.print(
        f"Renamed the {word} {old!r} to {new!r} at {school_name} (run {run_id}). Now rename "
        f"it the same way in the register; the next sync keeps this {word} with all its content."
    )


@click.group("class")
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


@click.group("group")
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
