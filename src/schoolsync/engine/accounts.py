"""Changes to accounts made by hand, platform first (R1.4, R1.6): re-key and merge.

``rekey`` gives a user a new personnummer before the register changes it, so the next sync keeps
the account. ``merge`` repairs a change made in the wrong order: everything one account has moves
to the other, which is kept with all its history; the emptied account is ended, never deleted.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import is_open
from schoolsync.domain.personnummer import mask_civic_no
from schoolsync.errors import ConflictError, NotFoundError
from schoolsync.store import schema as t

Log = Callable[[str, str, str, dict[str, Any]], None]


def find_user(conn: Connection, key: str, civic: str | None, today: date) -> Any:
    """A user by personnummer (canonical) or internal id.

    Raises:
        NotFoundError: When no user has it.
    """
    u = t.users.c
    condition = (u.civic_no == civic) if civic else (u.id == key)
    row = conn.execute(sa.select(t.users).where(condition)).mappings().first()
    if row is None:
        raise NotFoundError(
            f"No user has the {'personnummer' if civic else 'id'} "
            f"{mask_civic_no(civic, today=today) if civic else key}.",
            "Check it; list users with: schoolsync export --json",
        )
    return row


def rekey_user(conn: Connection, old: str, new: str, today: date, log: Log) -> tuple[Any, str]:
    """R1.4: give the user with ``old`` the number ``new``; returns (user, masked summary)."""
    user = find_user(conn, old, old, today)
    u = t.users.c
    taken = conn.execute(sa.select(t.users.c.id).where(u.civic_no == new)).scalar()
    if taken is not None:
        raise ConflictError(
            f"Another account already has the personnummer {mask_civic_no(new, today=today)}, "
            f"so the number was not changed.",
            f"If both accounts are the same person, merge them: schoolsync user merge {taken} "
            f"{user['id']}",
        )
    conn.execute(t.users.update().where(u.id == user["id"]).values(civic_no=new))
    log("user", user["id"], "updated", {"civic_no": [old, new]})
    return user, f"{mask_civic_no(old, today=today)} → {mask_civic_no(new, today=today)}"


def _widen(a: Any, b: Any) -> tuple[date | None, date | None]:
    starts = [d for d in (a["start_date"], b["start_date"]) if d is not None]
    end = (
        None
        if a["end_date"] is None or b["end_date"] is None
        else max(a["end_date"], b["end_date"])
    )
    return (min(starts) if starts else None, end)


def _move_rows(
    conn: Connection,
    table: sa.Table,
    owner: str,
    key_columns: tuple[str, ...],
    source: str,
    target: str,
    today: date,
    log: Log,
    entity: str,
) -> int:
    """Move a table's rows from one user to another; where both have one, keep the target's,
    widened to cover both, and end the source's."""
    c = table.c
    rows = conn.execute(sa.select(table).where(c[owner] == source)).mappings().all()
    theirs = {
        tuple(r[k] for k in key_columns): r
        for r in conn.execute(sa.select(table).where(c[owner] == target)).mappings()
    }
    for row in rows:
        twin = theirs.get(tuple(row[k] for k in key_columns))
        if twin is None:
            conn.execute(table.update().where(c.id == row["id"]).values({owner: target}))
            log(entity, row["id"], "updated", {owner: [source, target]})
            continue
        if "start_date" in c:
            start, end = _widen(row, twin)
            if (start, end) != (twin["start_date"], twin["end_date"]):
                conn.execute(
                    table.update().where(c.id == twin["id"]).values(start_date=start, end_date=end)
                )
                log(entity, twin["id"], "updated", {
                    "start_date": [twin["start_date"], start], "end_date": [twin["end_date"], end]
                })  # fmt: skip
        if is_open(row["end_date"], today):
            conn.execute(
                table.update().where(c.id == row["id"]).values(end_date=today - timedelta(days=1))
            )
            log(entity, row["id"], "ended", {"merged_into": twin["id"]})
    return len(rows)


def _retired_number(conn: Connection, user_id: str) -> str:
    """The key a merged-away account keeps in place of its personnummer: ``X`` and 11 hex
    digits of a hash of its id (12 characters, never a personnummer).

    Not the id's own leading digits: ids are time-ordered, so the accounts made in one run share
    them. A value another account holds already (a collision, or an older retired key) is
    passed over for the next.
    """
    u = t.users.c
    for attempt in itertools.count():
        digest = hashlib.blake2b(f"{user_id}/{attempt}".encode(), digest_size=6).hexdigest()
        candidate = "X" + digest[:11]
        taken = conn.execute(sa.select(u.id).where(u.civic_no == candidate).limit(1)).first()
        if taken is None:
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover - itertools.count never ends


def merge_users(
    conn: Connection,
    source_key: str,
    target_key: str,
    keys: tuple[str | None, str | None],
    today: date,
    log: Log,
) -> tuple[Any, Any, int]:
    """Move everything of one account into another and end it (R1.6 repaired).

    The kept account takes over the source's personnummer and register id when the source is
    the active one (the number the register uses now); the source keeps a retired key.

    Returns:
        (source user, target user, how many rows moved).
    """
    source = find_user(conn, source_key, keys[0], today)
    target = find_user(conn, target_key, keys[1], today)
    if source["id"] == target["id"]:
        raise ConflictError("Both name the same account, so there is nothing to merge.")
    if source["merged_into"]:
        raise ConflictError(f"The account {source['id']} was merged already.")
    if source["status"] == "active" and target["status"] == "active":
        raise ConflictError(
            "Both accounts are active: the register still lists both numbers, so a merge would "
            "be undone at the next sync.",
            "Correct the register first (one person, one number), sync, then merge.",
        )
    moved = _move_rows(
        conn,
        t.user_schools,
        "user_id",
        ("school_id", "role"),
        source["id"],
        target["id"],
        today,
        log,
        "user_school",
    )
    moved += _move_rows(
        conn,
        t.memberships,
        "user_id",
        ("group_id", "role"),
        source["id"],
        target["id"],
        today,
        log,
        "membership",
    )
    moved += _move_rows(
        conn,
        t.guardianships,
        "guardian_id",
        ("student_id",),
        source["id"],
        target["id"],
        today,
        log,
        "guardianship",
    )
    moved += _move_rows(
        conn,
        t.guardianships,
        "student_id",
        ("guardian_id",),
        source["id"],
        target["id"],
        today,
        log,
        "guardianship",
    )
    u = t.users.c
    retired = _retired_number(conn, source["id"])
    takes_number = source["status"] == "active"
    conn.execute(
        t.users.update()
        .where(u.id == source["id"])
        .values(
            civic_no=retired,
            status="ended",
            merged_into=target["id"],
            register_id=None if takes_number else source["register_id"],
        )
    )
    log(
        "user",
        source["id"],
        "ended",
        {"merged_into": target["id"], "civic_no": [source["civic_no"], retired]},
    )
    if takes_number:
        conn.execute(
            t.users.update()
            .where(u.id == target["id"])
            .values(civic_no=source["civic_no"], register_id=source["register_id"], status="active")
        )
        log(
            "user",
            target["id"],
            "updated",
            {"civic_no": [target["civic_no"], source["civic_no"]], "merged_from": source["id"]},
        )
    return source, target, moved
