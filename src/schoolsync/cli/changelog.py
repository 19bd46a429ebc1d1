"""The change log of a run, for people: who changed, how (personnummer masked)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.table import Table

from schoolsync.store.runs import log_names

if TYPE_CHECKING:
    from schoolsync.cli.context import Env


def _describe_details(details: dict[str, Any], schools: dict[str, str] | None = None) -> str:
    parts = []
    for name, value in details.items():
        if name in ("user_id",):
            continue
        if name == "school_id" and not isinstance(value, list):
            parts.append(f"school: {(schools or {}).get(str(value), value)}")
            continue
        if isinstance(value, list) and len(value) == 2:  # personnummer come masked (run_changes)
            old, new = value
            parts.append(f"{name}: {old} → {new}")
        else:
            parts.append(f"{name}: {value}")
    return "; ".join(parts)


def change_log_table(env: Env, log: list[dict[str, Any]]) -> Table:
    """A table of change-log entries, naming users (masked personnummer) and schools by name."""
    user_ids = {e["entity_id"] for e in log if e["entity"] == "user"}
    user_ids |= {e["details"].get("user_id") for e in log if e["details"].get("user_id")}
    school_ids = {str(e["details"]["school_id"]) for e in log if e["details"].get("school_id")}
    names: dict[str, str] = {}
    schools: dict[str, str] = {}
    if user_ids or school_ids:
        with env.store().connect() as conn:
            names, schools = log_names(conn, user_ids, school_ids, env.today)
    table = Table(title="Change log", title_justify="left")
    for name in ("entity", "action", "who / what", "details"):
        table.add_column(name, overflow="fold")
    for entry in log:
        user_id = (
            entry["entity_id"] if entry["entity"] == "user" else entry["details"].get("user_id")
        )
        who = names.get(user_id or "", entry["entity_id"])
        if entry["entity"] == "school":
            who = schools.get(entry["entity_id"], who)
        details = _describe_details(entry["details"], schools)
        table.add_row(entry["entity"], entry["action"], who, details)
    return table
