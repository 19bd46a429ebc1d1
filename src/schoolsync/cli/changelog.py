"""The change log of a run, for people: who changed, how (personnummer masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table
from sqlalchemy import select

from schoolsync.domain.personnummer import mask_civic_no
from schoolsync.store import schema as t

if TYPE_CHECKING:
    from schoolsync.cli.app import Env

_MASKED_FIELDS = {"civic_no"}


def _describe_details(details: dict[str, Any]) -> str:
    parts = []
    for name, value in details.items():
        if name in ("user_id",):
            continue
        if isinstance(value, list) and len(value) == 2:
            old, new = value
            if name in _MASKED_FIELDS:
                old, new = mask_civic_no(str(old or "")), mask_civic_no(str(new or ""))
            parts.append(f"{name}: {old} → {new}")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


def change_log_table(env: Env, log: list[dict[str, Any]]) -> Table:
    """A table of change-log entries, naming users by name and masked personnummer."""
    user_ids = {e["entity_id"] for e in log if e["entity"] == "user"}
    user_ids |= {e["details"].get("user_id") for e in log if e["details"].get("user_id")}
    names: dict[str, str] = {}
    if user_ids:
        u = t.users.c
        with env.store().connect() as conn:
            for row in conn.execute(
                select(u.id, u.given_name, u.family_name, u.civic_no).where(u.id.in_(user_ids))
            ):
                names[row.id] = (
                    f"{row.given_name} {row.family_name} ({mask_civic_no(row.civic_no)})"
                )
    table = Table(title="Change log", title_justify="left")
    for name in ("entity", "action", "who / what", "details"):
        table.add_column(name, overflow="fold")
    for entry in log:
        user_id = (
            entry["entity_id"] if entry["entity"] == "user" else entry["details"].get("user_id")
        )
        who = names.get(user_id or "", entry["entity_id"])
        table.add_row(entry["entity"], entry["action"], who, _describe_details(entry["details"]))
    return table
