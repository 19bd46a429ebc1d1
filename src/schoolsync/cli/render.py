"""Rendering for people (Rich tables) and scripts (JSON). No logic lives here."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from schoolsync.domain.issues import KINDS, Issue

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

ACTION_ORDER = ("created", "updated", "renamed", "ended", "archived", "reactivated")
SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def error(message: str, hint: str = "", *, label: str = "") -> None:
    """A stop message on stderr: the sentence (after a red label), then the hint.

    On a terminal the text wraps to its width; elsewhere (a log file, a cron mail, a pipe) each
    sentence stays on one line, so that it can be found with grep.
    """
    soft = not err_console.is_terminal
    head = f"[bold red]{escape(label)}[/] " if label else ""
    err_console.print(head + escape(message), highlight=False, soft_wrap=soft)
    if hint:
        err_console.print(escape(hint), highlight=False, soft_wrap=soft)


def print_json(data: Any) -> None:
    """Write JSON to stdout (UTF-8, not escaped, stable key order as built)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def api_summary(stats: dict[str, Any]) -> str:
    """One line on what an SS 12000 API read cost."""
    size = stats.get("bytes", 0) / 1024**2
    restarts = stats.get("restarts", 0)
    return (
        f"API read: {stats.get('requests', 0)} requests, {stats.get('retries', 0)} retried, "
        f"{size:.1f} MB in {stats.get('seconds', 0):.1f} s"
        + (f", {restarts} read again from page 1 (expired page tokens)" if restarts else "")
        + "."
    )


def changes_table(changes: dict[str, dict[str, int]], title: str = "Changes") -> Table:
    """A table of change counts per kind and action; kinds without changes are left out."""
    seen = {a for group in changes.values() for a in group}
    actions = [a for a in ACTION_ORDER if a in seen] + sorted(seen - set(ACTION_ORDER))
    table = Table(title=title, title_justify="left")
    table.add_column("kind")
    for action in actions:
        table.add_column(action, justify="right")
    for kind, counts in changes.items():
        if any(counts.values()):
            table.add_row(kind, *(str(counts.get(a, 0)) for a in actions))
    if not table.row_count:
        table.add_row("(nothing changed)", *("" for _ in actions))
    return table


def issues_by_code_table(issues: list[Issue] | list[dict[str, str]]) -> Table:
    """A table of issue counts per code (issues of a run, or as stored)."""
    table = Table(title="Issues by code", title_justify="left")
    for name in ("code", "severity", "rule", "count", "what"):
        table.add_column(name, justify="right" if name == "count" else "left")
    codes = Counter(i.code if isinstance(i, Issue) else i["code"] for i in issues)
    for code, count in sorted(codes.items()):
        kind = KINDS.get(code)
        if kind is None:  # a code of an older schoolsync, kept in the run history
            table.add_row(code, "", "", str(count), "")
            continue
        style = SEVERITY_STYLE[kind.severity]
        table.add_row(code, f"[{style}]{kind.severity}[/]", kind.rule, str(count), kind.title)
    return table


def issues_table(issues: list[dict[str, str]] | list[Issue], limit: int | None = None) -> Table:
    """A table of issues with their messages."""
    table = Table(title="Issues", title_justify="left", show_lines=False)
    for name in ("severity", "code", "rule", "message"):
        table.add_column(name, overflow="fold")
    rows = [i.as_dict() if isinstance(i, Issue) else i for i in issues]
    for item in rows[:limit]:
        style = SEVERITY_STYLE.get(item["severity"], "")
        table.add_row(
            f"[{style}]{item['severity']}[/]", item["code"], item["rule"], item["message"]
        )
    if limit is not None and len(rows) > limit:
        table.add_row("", "", "", f"... and {len(rows) - limit} more (use --json for all)")
    return table


@contextmanager
def progress_stages(enabled: bool) -> Iterator[Callable[[str, int], Callable[[int], None]]]:
    """A Rich progress display with one bar per stage; a no-op when disabled. A stage of size
    -1 (an API endpoint) counts its records and pages as they come, and ends when advanced by
    -1."""
    if not enabled:
        yield lambda _stage, _total: lambda _n: None
        return
    columns = (
        TextColumn("{task.description:<24}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[pages]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=False) as progress:

        def stage(name: str, total: int) -> Callable[[int], None]:
            if total < 0:  # not known until it is done: an API endpoint, a page at a time
                task = progress.add_task(name, total=None, pages="")
                pages = [0]

                def advance(n: int) -> None:
                    if n < 0:  # done: the bar ends full
                        done = progress.tasks[task].completed
                        progress.update(task, total=max(done, 1), completed=max(done, 1))
                    else:  # one page of n records
                        pages[0] += 1
                        label = f"{pages[0]} page" + ("s" if pages[0] != 1 else "")
                        progress.update(task, advance=n, pages=label)

                return advance
            task = progress.add_task(name, total=max(total, 1), pages="")
            if total == 0:
                progress.advance(task, 1)
            return lambda n: progress.advance(task, n)

        yield stage
