"""``schoolsync report --school S``: what one school's people must fix, grouped by who fixes it.

Most warnings are fixed by someone other than the administrator: a schedule maker (a group name
misspelt in Skola24, a signature the register does not know), a register administrator (a comma
in a class name, a teacher with two signatures, a missing personnummer). The report takes the
issues of the last applied sync that concern the school (the persons, classes and groups they
name are the school's; or they name the school, or its unit's schedule export; in a directory of
one school, all of them), groups them by who fixes them, and says since which run each has been
open: the first of the applied syncs in a row up to the last that all had it.
"""

from __future__ import annotations

import csv
import html
import io
import re
from dataclasses import dataclass

import sqlalchemy as sa

from schoolsync.errors import NotFoundError
from schoolsync.store import schema as t
from schoolsync.store.db import Store
from schoolsync.store.views import issues_within

# Who fixes an issue, by its code: the schedule's maker, the register's administrator, or the
# directory's administrator (settings, approvals).
SCHEDULE, REGISTER, ADMIN = "schedule", "register", "administrator"
_ADMIN_CODES = {
    "lock-missing-data",
    "lock-mass-change",
    "absence-ending-suspended",
    "api-endpoint-unavailable",
    "api-full-reads",
    "security-marking-missing",
    "unknown-unit",
    "rename-pending",
    "possible-rename",
}
WHO = {
    SCHEDULE: "The schedule (Skola24/Novaschem): the schedule maker",
    REGISTER: "The register (the student register's administrator)",
    ADMIN: "The directory (its administrator)",
}


def fixer(code: str) -> str:
    if code.startswith("schedule-"):
        return SCHEDULE
    return ADMIN if code in _ADMIN_CODES else REGISTER


@dataclass(frozen=True)
class Item:
    who: str
    code: str
    severity: str
    subject: str
    message: str
    since_run: int
    since: str  # the day of that run (its --today)


@dataclass(frozen=True)
class Report:
    school: str
    run_id: int | None
    day: str | None
    items: list[Item]


def build(store: Store, school: str, *, by_id: bool = False) -> Report:
    """The report of one school (by name or id; with ``by_id``, by id only).

    Raises:
        NotFoundError: When the directory has no such school.
    """
    s, r, i = t.schools.c, t.runs.c, t.run_issues.c
    with store.connect() as conn:
        row = conn.execute(
            sa.select(s.id, s.name).where(
                s.id == school if by_id else sa.or_(s.name == school, s.id == school)
            )
        ).first()
        if row is None:
            names = sorted(conn.execute(sa.select(s.name)).scalars())
            raise NotFoundError(
                f"The directory has no school named {school!r}.",
                "The schools: " + ", ".join(names[:20]) + ("…" if len(names) > 20 else ""),
            )
        syncs = conn.execute(
            sa.select(r.id, r.today)
            .where(r.kind == "sync", r.status == "applied")
            .order_by(r.id.desc())
            .limit(400)
        ).all()
        if not syncs:
            return Report(row.name, None, None, [])
        last = syncs[0].id
        issues = [
            dict(x)
            for x in conn.execute(
                sa.select(i.id, i.code, i.severity, i.subject, i.message)
                .where(i.run_id == last)
                .order_by(i.id)
            ).mappings()
        ]
        mine = issues_within(conn, issues, frozenset({row.id}))
        # Besides what the directory ties to the school (its persons, classes and groups): what
        # names the school ("at Skolan"), or its unit's schedule export (<skolenhetskod>.txt), and
        # in a directory of one school, everything.
        codes = [
            c
            for c in conn.execute(
                sa.select(t.school_units.c.code).where(t.school_units.c.school_id == row.id)
            ).scalars()
            if c
        ]
        only = conn.execute(sa.select(sa.func.count()).select_from(t.schools)).scalar_one() == 1
        taken = {x["id"] for x in mine}
        # Whole names only, and the longest: "Norra Vallaskolan" is not Vallaskolan's.
        others = [n for n in conn.execute(sa.select(s.name)).scalars() if n != row.name]
        longer = [n for n in others if row.name in n]
        pattern = re.compile(rf"(?<![\w-]){re.escape(row.name)}(?![\w-])")

        def names_us(message: str) -> bool:
            stripped = message
            for name in longer:
                stripped = stripped.replace(name, " ")
            return bool(pattern.search(stripped))

        files = (
            re.compile(rf"(?<![\w-])(?:{'|'.join(map(re.escape, codes))})\.txt\b")
            if codes
            else None
        )
        for x in issues:
            if x["id"] in taken:
                continue
            if only or names_us(x["message"]) or (files and files.search(x["message"])):
                mine.append(x)
        mine.sort(key=lambda x: x["id"])
        keys = {(x["code"], x["subject"]) for x in mine}
        had: dict[tuple[str, str], set[int]] = {k: set() for k in keys}
        ids = [x.id for x in syncs]
        for run_id, code, subject in conn.execute(
            sa.select(i.run_id, i.code, i.subject).where(i.run_id.in_(ids))
        ):
            if (code, subject) in had:
                had[(code, subject)].add(run_id)
    day_of = {x.id: x.today.isoformat() for x in syncs}
    items = []
    for x in mine:
        since = last
        for run_id in ids:  # newest first: as far back as every sync had it
            if run_id not in had[(x["code"], x["subject"])]:
                break
            since = run_id
        items.append(
            Item(
                fixer(x["code"]),
                x["code"],
                x["severity"],
                x["subject"],
                x["message"],
                since,
                day_of[since],
            )
        )
    order = {SCHEDULE: 0, REGISTER: 1, ADMIN: 2}
    sev = {"error": 0, "warning": 1, "info": 2}
    items.sort(key=lambda it: (order[it.who], sev.get(it.severity, 3), it.since_run, it.code))
    return Report(row.name, last, day_of[last], items)


def as_markdown(report: Report) -> str:
    head = f"# What {report.school} must fix"
    if report.run_id is None:
        return f"{head}\n\nThe directory has no applied sync yet.\n"
    lines = [
        head,
        "",
        f"From the issues of run {report.run_id} ({report.day}) that concern "
        f"the school; each says what to change, and since when it has been open.",
        "",
    ]
    if not report.items:
        lines.append("Nothing to fix.")
    for who in (SCHEDULE, REGISTER, ADMIN):
        mine = [x for x in report.items if x.who == who]
        if not mine:
            continue
        lines += [f"## {WHO[who]}", ""]
        for x in mine:
            lines.append(
                f"- **{x.severity} {x.code}** ({x.subject}): {x.message} "
                f"*Open since run {x.since_run} ({x.since}).*"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


COLUMNS = (
    "school",
    "who_fixes",
    "severity",
    "code",
    "subject",
    "message",
    "open_since_run",
    "open_since",
)


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for x in report.items:
        writer.writerow(
            [report.school, x.who, x.severity, x.code, x.subject, x.message, x.since_run, x.since]
        )
    return out.getvalue()


def as_html(report: Report) -> str:
    e = html.escape
    rows: list[str] = []
    for who in (SCHEDULE, REGISTER, ADMIN):
        mine = [x for x in report.items if x.who == who]
        if not mine:
            continue
        rows.append(
            f"<h2>{e(WHO[who])}</h2><table><tr><th>severity</th><th>code</th>"
            "<th>about</th><th>what to change</th><th>open since</th></tr>"
        )
        rows += [
            f"<tr><td>{e(x.severity)}</td><td>{e(x.code)}</td><td>{e(x.subject)}</td>"
            f"<td>{e(x.message)}</td><td>run {x.since_run} ({e(x.since)})</td></tr>"
            for x in mine
        ]
        rows.append("</table>")
    body = "".join(rows) or "<p>Nothing to fix.</p>"
    run = f"run {report.run_id} ({e(report.day or '')})" if report.run_id else "no sync yet"
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>What '
        f"{e(report.school)} must fix</title><h1>What {e(report.school)} must fix</h1>"
        f"<p>From the issues of {run}.</p>{body}</html>\n"
    )


def render(report: Report, fmt: str) -> str:
    return {"md": as_markdown, "csv": as_csv, "html": as_html}[fmt](report)
