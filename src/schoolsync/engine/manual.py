"""Changes made by hand, as the platform would: a user's own edit, re-keys, merges and renames.

Each holds the directory's run lock and is recorded as a run of its own kind (``edit``,
``rekey``, ``merge``, ``rename``) with its change log, so the history says who changed what,
when. The CLI parses and renders; everything here is the change itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from schoolsync.domain.near import describe_near
from schoolsync.domain.personnummer import mask_civic_no, mask_details
from schoolsync.engine.accounts import merge_users, rekey_user
from schoolsync.engine.plan.changeset import ENTITY_GROUP
from schoolsync.errors import ConflictError, NotFoundError, SchoolsyncError
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.runs import finish_run, insert_run, now


@dataclass
class Recorder:
    """A hand-made change in progress: its connection, run id, day and change log."""

    conn: Connection
    run_id: int
    today: date
    entries: list[dict[str, Any]] = field(default_factory=list)

    def log(self, entity: str, entity_id: str, action: str, details: dict[str, Any]) -> None:
        """Add a change-log entry to this run."""
        self.entries.append(
            {"run_id": self.run_id, "entity": entity, "entity_id": entity_id, "action": action,
             "details": mask_details(details, today=self.today)}
        )  # fmt: skip


@contextmanager
def recorded(store: Store, kind: str, doing: str, today: date) -> Iterator[Recorder]:
    """Hold the run lock, open one transaction and record it as a run of ``kind``."""
    started = now()
    with store.run_lock(), store.transaction(doing) as conn:
        recorder = Recorder(conn, insert_run(conn, kind, "applied", today, [], started, {}), today)
        yield recorder
        if recorder.entries:
            conn.execute(t.changes.insert(), recorder.entries)
        _stamp(conn, recorder)
        summary: dict[str, Counter[str]] = {}
        for entry in recorder.entries:
            group = ENTITY_GROUP[entry["entity"]]
            summary.setdefault(group, Counter())[entry["action"]] += 1
        finish_run(conn, recorder.run_id, {k: dict(v) for k, v in summary.items()})


# The tables of the entities a hand-made change logs, whose rows record the run that last
# changed them (what ``export --since`` and the OneRoster service's dateLastModified read).
_TABLE_OF = {
    "user": t.users,
    "user_school": t.user_schools,
    "guardianship": t.guardianships,
    "membership": t.memberships,
    "class": t.groups,
    "group": t.groups,
}


def _stamp(conn: Connection, recorder: Recorder) -> None:
    """Mark every row the change logged as changed by its run."""
    ids: dict[str, set[str]] = {}
    for entry in recorder.entries:
        if entry["entity"] in _TABLE_OF:
            ids.setdefault(entry["entity"], set()).add(entry["entity_id"])
    for entity, row_ids in ids.items():
        table = _TABLE_OF[entity]
        conn.execute(
            table.update()
            .where(table.c.id.in_(sorted(row_ids)))
            .values(updated_run_id=recorder.run_id)
        )


@dataclass(frozen=True)
class Edited:
    """What a hand-made change did: the run that recorded it and whom or what it changed."""

    run_id: int
    name: str
    changed: dict[str, str | None] = field(default_factory=dict)
    detail: str = ""


def edit_user(store: Store, civic_no: str, values: dict[str, str | None], today: date) -> Edited:
    """The user's own change of e-mail or mobile in the platform (R2.2).

    Args:
        store: The directory.
        civic_no: The user's personnummer, canonical.
        values: ``email`` and/or ``mobile``; an empty text clears the value.
        today: The run's day.

    Returns:
        The run and the fields that changed (None: cleared).

    Raises:
        NotFoundError: When no user has the number.
    """
    with recorded(store, "edit", "editing the user", today) as run:
        u = t.users.c
        row = run.conn.execute(
            select(u.id, u.email, u.mobile, u.given_name, u.family_name).where(
                u.civic_no == civic_no
            )
        ).first()
        if row is None:
            raise NotFoundError(
                f"No user has the personnummer {mask_civic_no(civic_no, today=today)}.",
                "Check the number; list users with: schoolsync export --json",
            )
        changed = {
            name: (value.strip() or None)
            for name, value in values.items()
            if value is not None and getattr(row, name) != (value.strip() or None)
        }
        if changed:
            run.conn.execute(
                t.users.update().where(u.id == row.id).values(**changed, updated_run_id=run.run_id)
            )
            run.log(
                "user", row.id, "updated", {k: [getattr(row, k), v] for k, v in changed.items()}
            )
    return Edited(run.run_id, f"{row.given_name} {row.family_name}", changed)


def rekey(store: Store, old: str, new: str, today: date) -> Edited:
    """R1.4: give the user with personnummer ``old`` the number ``new`` (both canonical)."""
    with recorded(store, "rekey", "changing the personnummer", today) as run:
        user, summary = rekey_user(run.conn, old, new, today, run.log)
    return Edited(run.run_id, f"{user['given_name']} {user['family_name']}", detail=summary)


@dataclass(frozen=True)
class Merged:
    """A merge done: the run, the two accounts' names, the kept account's id, rows moved."""

    run_id: int
    source_name: str
    target_name: str
    target_id: str
    moved: int


def merge(
    store: Store,
    source: str,
    target: str,
    keys: tuple[str | None, str | None],
    today: date,
) -> Merged:
    """R1.6 repaired: move everything of account ``source`` into ``target`` and end ``source``.

    ``keys`` are the canonical personnummer of each, or None where it was given by user id.
    """
    with recorded(store, "merge", "merging the accounts", today) as run:
        old, new, moved = merge_users(run.conn, source, target, keys, today, run.log)
    return Merged(
        run.run_id,
        f"{old['given_name']} {old['family_name']}",
        f"{new['given_name']} {new['family_name']}",
        new["id"],
        moved,
    )


def rename_group(store: Store, kind: str, old: str, new: str, school_name: str, today: date) -> int:
    """Rename a class or group in the directory first (R5.3, the platform-first order).

    Returns:
        The run that recorded the rename.

    Raises:
        SchoolsyncError: When a class name has a comma (R5.2).
        NotFoundError: When the school or the class/group does not exist (with near names).
        ConflictError: When the school has one of that name already.
    """
    word = "class" if kind == "class" else "group"
    if kind == "class" and "," in new:
        raise SchoolsyncError(
            f"{new!r} has a comma; commas are not allowed in class names (R5.2).",
            "Choose a name without a comma.",
        )
    g, s = t.groups.c, t.schools.c
    with recorded(store, "rename", f"renaming the {word}", today) as run:
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
    return run.run_id
