"""Helpers shared by the rule tests at both levels (tests/plan and tests/integration): what a
run reported, and what the export shows."""

from __future__ import annotations

from typing import Any, Protocol

from tests.builder import Bundle


class Exports(Protocol):
    """A directory under test (on a database or in memory) that can be exported."""

    def export(self) -> dict[str, Any]: ...


def codes(result: Any) -> list[str]:
    """The issue codes of a run, in report order."""
    return [i.code for i in result.issues]


def messages(report: dict[str, Any], code: str) -> list[str]:
    """The messages of a run report's issues with this code (the report as ``sync --json``
    prints it, or :meth:`~schoolsync.engine.run.RunResult.as_report`)."""
    return [i["message"] for i in report["issues"] if i["code"] == code]


def find(export: dict[str, Any], section: str, name: str) -> dict[str, Any]:
    """The class or group of the export with this name."""
    return next(x for x in export[section] if x["name"] == name)


def students(entry: dict[str, Any], active_only: bool = True) -> set[str]:
    """The personnummer of a class's or group's students (active ones only, by default)."""
    return {s["civic_no"] for s in entry["students"] if s["active"] or not active_only}


def new_register_id(b: Bundle, gid: str, name: str) -> None:
    """Rename a group in the register the wrong way: a new name under a new register id."""
    group = b.find_group(gid)
    group["displayName"] = name
    group["id"] = "00000000-0000-4000-8000-" + name.encode().hex()[:12].ljust(12, "0")


def tied(directory: Exports, **where: Any) -> list[dict[str, Any]]:
    """The exported lessons whose fields equal ``where``."""
    return [x for x in directory.export()["lessons"] if all(x[k] == v for k, v in where.items())]
