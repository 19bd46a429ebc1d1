"""``schoolsync troubleshoot group NAME`` / ``troubleshoot signature SIG``: explain one thing."""

from __future__ import annotations

from typing import Any

import click

from schoolsync.cli import render
from schoolsync.cli.context import Env, pass_env
from schoolsync.domain.near import how_near
from schoolsync.troubleshoot import KIND_WORD, troubleshoot_group, troubleshoot_signature


@click.group("troubleshoot")
def troubleshoot_cmd() -> None:
    """Explain what the directory and the last run know about one group or signature."""


def _print_not_found(view: dict[str, Any], what: str) -> None:
    render.console.print(f"[bold red]No {what} is named exactly {view['query']!r}.[/]")
    for item in view["near"]:
        render.console.print(
            f"  [yellow]Did you mean {item['name']!r}?[/] It {item['difference']}. Names must "
            f"match exactly (case, spaces, punctuation, å/ä/ö)."
        )
    if view["others"]:
        render.console.print("  Other close names: " + ", ".join(map(repr, view["others"])))


PROBLEM_TEXT = {
    "schedule-unknown-group": "no teaching group or class has exactly this name",
    "schedule-class-no-subject-group": "the class has no teaching group with exactly this subject",
    "schedule-class-mixed": "the groups with this subject mix students from other classes",
}


def _span(item: dict[str, Any]) -> str:
    first, last = item["first"][:10], item["last"][:10]
    cancelled = f", {item['cancelled']} cancelled or removed" if item["cancelled"] else ""
    return f"{item['lessons']} lesson(s) {first} – {last}{cancelled}"


def _print_lessons(query: str, tied: list[dict[str, Any]], failed: list[dict[str, Any]]) -> None:
    if not tied and not failed:
        render.console.print("No lessons in the directory name it.")
    for item in tied:
        via = f" (placed on the class {item['class']})" if item["class"] else ""
        render.console.print(
            f"  Lessons tied to {item['group']!r}{via}: {_span(item)}, subject "
            f"{item['subject'] or '-'}, teachers {', '.join(item['teachers']) or '-'}."
        )
    for item in failed:
        written = item["as_written"]
        how = how_near(query, written) if written != query else None
        reason = PROBLEM_TEXT.get(item["problem"] or "", item["problem"] or "not tied")
        render.console.print(
            f"  [bold red]Not tied:[/] {written!r} in {item['source']}: {_span(item)}, subject "
            f"{item['subject'] or '-'}: [red]{reason}[/]" + (f"; it {how}" if how else "") + "."
        )


def _print_issues(view: dict[str, Any]) -> None:
    if view["run_id"] is None:
        render.console.print("No sync has run yet.")
        return
    if not view["issues"]:
        render.console.print(f"The last sync (run {view['run_id']}) reported nothing about it.")
        return
    render.console.print(f"What the last sync (run {view['run_id']}) reported about it:")
    for item in view["issues"]:
        style = render.SEVERITY_STYLE.get(item["severity"], "")
        render.console.print(f"  [{style}]{item['severity']} {item['code']}[/]: {item['message']}")


@troubleshoot_cmd.command("group")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@pass_env
def troubleshoot_group_cmd(env: Env, name: str, as_json: bool) -> None:
    """Everything about the class or group named exactly NAME: dates, members, warnings."""
    with env.store().connect() as conn:
        view = troubleshoot_group(conn, name, env.today, env.settings().sync.visibility_lead_days)
    if as_json:
        render.print_json(view)
        return
    if not view["found"]:
        _print_not_found(view, "class or group")
    for group in view["found"]:
        word = KIND_WORD[group["kind"]]
        render.console.print(f"[bold]{group['name']}[/] is a {word} at {group['school']}.")
        render.console.print(
            f"  It runs {group['start_date'] or '(no start)'} – {group['end_date'] or '(no end)'} "
            f"and is {group['status']}"
            + ("" if group["visible"] else "; it is not visible yet (before its lead days)")
            + "."
        )
        if group["subject"] or group["course"]:
            render.console.print(
                f"  Subject {group['subject'] or '-'}, course {group['course'] or '-'}"
                + (
                    f", from the activities {', '.join(group['activities'])}."
                    if group["activities"]
                    else "."
                )
            )
        counts = group["active_counts"]
        render.console.print(
            f"  Today it has {counts.get('student', 0) + counts.get('member', 0)} active "
            f"student(s), {counts.get('teacher', 0)} teacher(s) and {counts.get('mentor', 0)} "
            f"mentor(s)."
        )
        if not counts.get("teacher") and group["kind"] == "group":
            render.console.print(
                "  [red]No teacher teaches it today:[/] check the activity's teachers and their "
                "signatures in the register (schoolsync troubleshoot signature SIG)."
            )
        for member in group["members"]:
            if member["role"] in ("teacher", "mentor"):
                state = "" if member["active"] else " (not active today)"
                render.console.print(
                    f"  {member['role']}: {member['signature'] or '(no signature)'} "
                    f"{member['who']}{state}"
                )
    _print_lessons(name, view["lessons"]["tied"], view["lessons"]["failed"])
    _print_issues(view)


@troubleshoot_cmd.command("signature")
@click.argument("signature")
@click.option("--json", "as_json", is_flag=True, help="Print the facts as JSON.")
@pass_env
def troubleshoot_signature_cmd(env: Env, signature: str, as_json: bool) -> None:
    """Everything about the teacher signature SIG: who has it, where, what they teach."""
    with env.store().connect() as conn:
        view = troubleshoot_signature(conn, signature, env.today)
    if as_json:
        render.print_json(view)
        return
    if not view["found"]:
        _print_not_found(view, "teacher's signature")
    if len(view["found"]) > 1:
        render.console.print(
            f"[bold red]{len(view['found'])} people have the signature {signature}[/]: lessons "
            f"and groups cannot tell them apart."
        )
    for holder in view["found"]:
        render.console.print(
            f"[bold]{signature}[/] belongs to {holder['who']}; the directory's signature for "
            f"this teacher is {holder['directory_signature'] or '(none)'}."
        )
        for school in holder["schools"]:
            there = school["signature_there"]
            note = "" if there in (None, signature) else f" [yellow](signature there: {there})[/]"
            state = "active" if school["active"] else "ended"
            render.console.print(f"  {school['role']} at {school['school']} ({state}){note}")
        for group in holder["groups"]:
            state = "" if group["active"] else " (not active today)"
            render.console.print(
                f"  {group['role']} of the {KIND_WORD[group['kind']]} {group['name']!r} at "
                f"{group['school']}{state}"
            )
    lessons = view["lessons"]
    _print_lessons(
        signature,
        [x for x in lessons if x["group"]],
        [x for x in lessons if not x["group"]],
    )
    if lessons and not view["found"]:
        render.console.print(
            f"  [bold red]No teacher has the signature {signature}[/], so these lessons reach "
            f"no teacher."
        )
    _print_issues(view)
