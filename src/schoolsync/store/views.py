"""What the web interface's pages show, read with SQL a page at a time and only within the schools
the viewer may see (``schools``: a school-admin's school ids; None: every school).

An issue belongs to the schools of the persons it names, of the class or group it is about (when
only one school has a class or group of that name), and of the school a lock names; an issue that
names none of these (a file that cannot be read, a count of protected persons, "7A" when several
schools have a 7A) concerns the organisation and is shown to organisation-wide viewers only.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schoolsync.domain.directory import is_open, link_active
from schoolsync.domain.issues import KINDS, SEVERITY_ORDER
from schoolsync.domain.personnummer import mask_civic_no, mask_details
from schoolsync.store import schema as t
from schoolsync.store.queries import Schools, within
from schoolsync.store.runs import count_changes, get_run, list_runs


def _folded(conn: Connection, column: Any, query: str) -> Any:
    """``column`` in lower case for comparing with ``query`` (lower case): Å, Ä and Ö folded
    too. SQLite's lower() folds only A–Z, so for a query with other letters the store's
    ``unicode_lower`` (Python's, row by row: slower) does it; for an ASCII query SQLite's own
    is enough, as no other letter can match one of its letters either way."""
    slow = conn.dialect.name == "sqlite" and not query.isascii()
    return getattr(sa.func, "unicode_lower" if slow else "lower")(column)


def _active_on(columns: Any, today: date) -> list[Any]:
    """The SQL of :func:`link_active` for a table with ``start_date`` and ``end_date``."""
    start, end = columns.start_date, columns.end_date
    return [sa.or_(start.is_(None), start <= today), sa.or_(end.is_(None), end >= today)]


def _like(text: str) -> str:
    """A LIKE pattern for text anywhere (the wildcards in ``text`` taken literally)."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def school_names(conn: Connection, schools: Schools) -> dict[str, str]:
    """The visible schools' names by id."""
    s = t.schools.c
    query = sa.select(s.id, s.name).where(*within(s.id, schools)).order_by(s.name)
    return dict(conn.execute(query).all())


# -- issues and the schools they concern --------------------------------------------------------


def _one_school_has(name: Any) -> Any:
    """The condition that one school alone has a class or group of this name: "7A" is at every
    school, and an issue about "7A" names none of them."""
    other = t.groups.alias()
    schools = sa.select(sa.func.count(sa.distinct(other.c.school_id))).where(other.c.name == name)
    return schools.scalar_subquery() == 1


def _issue_schools(conn: Connection, issue_ids: list[int]) -> dict[int, set[str]]:
    """The schools each issue concerns: those of the persons it names, of the class or group
    its subject names (when one school alone has that name), and of the school it names."""
    found: dict[int, set[str]] = defaultdict(set)
    if not issue_ids:
        return found
    ip, u, ln, i, g = (t.run_issue_persons.c, t.users.c, t.user_schools.c, t.run_issues.c,
                       t.groups.c)  # fmt: skip
    for start in range(0, len(issue_ids), 500):
        chunk = issue_ids[start : start + 500]
        persons = (
            sa.select(ip.issue_id, ln.school_id)
            .join(t.users, u.register_id == ip.register_id)
            .join(t.user_schools, ln.user_id == u.id)
            .where(ip.issue_id.in_(chunk))
        )
        groups = (
            sa.select(i.id, g.school_id)
            .join(t.groups, g.name == i.subject)
            .where(i.id.in_(chunk), _one_school_has(i.subject))
        )
        named = (  # a lock's issue is about a school, by name
            sa.select(i.id, t.schools.c.id)
            .join(t.schools, t.schools.c.name == i.subject)
            .where(i.id.in_(chunk))
        )
        rows = [*conn.execute(persons), *conn.execute(groups), *conn.execute(named)]
        for issue_id, school_id in rows:
            found[issue_id].add(school_id)
    return found


def issues_within(conn: Connection, issues: list[dict[str, Any]], schools: Schools) -> list[Any]:
    """The issues (dicts with their ``id``) that concern one of ``schools`` (all: None)."""
    if schools is None:
        return issues
    where = _issue_schools(conn, [x["id"] for x in issues])
    return [x for x in issues if schools & where.get(x["id"], set())]


def _issue_persons(conn: Connection, issue_ids: list[int]) -> dict[int, set[str]]:
    """The register ids of the persons each issue names."""
    found: dict[int, set[str]] = defaultdict(set)
    ip = t.run_issue_persons.c
    for start in range(0, len(issue_ids), 500):
        chunk = issue_ids[start : start + 500]
        query = sa.select(ip.issue_id, ip.register_id).where(ip.issue_id.in_(chunk))
        for issue_id, register_id in conn.execute(query):
            found[issue_id].add(register_id)
    return found


def _issues(conn: Connection, run_id: int, schools: Schools) -> list[dict[str, Any]]:
    """A run's issues the viewer may see, each with the schools it concerns."""
    i = t.run_issues.c
    rows = [
        dict(r)
        for r in conn.execute(
            sa.select(i.id, i.code, i.severity, i.rule, i.subject, i.message)
            .where(i.run_id == run_id)
            .order_by(i.id)
        ).mappings()
    ]
    ids = [r["id"] for r in rows]
    where = _issue_schools(conn, ids)
    persons = _issue_persons(conn, ids)
    out = []
    for row in rows:
        row["schools"] = sorted(where.get(row["id"], ()))
        row["persons"] = sorted(persons.get(row["id"], ()))
        if schools is None or schools & set(row["schools"]):
            out.append(row)
    return out


def _key(issue: dict[str, Any]) -> tuple[str, str, tuple[str, ...]]:
    """What makes two runs' issues the same one: the code, the subject, and the persons it
    names (a masked personnummer is the subject of many persons' issues)."""
    return issue["code"], issue["subject"], tuple(issue["persons"])


def _last_syncs(conn: Connection) -> list[int]:
    r = t.runs.c
    query = (
        sa.select(r.id)
        .where(r.kind == "sync", r.status == "applied")
        .order_by(r.id.desc())
        .limit(2)
    )
    return list(conn.execute(query).scalars())


def overview(conn: Connection, schools: Schools, today: date) -> dict[str, Any]:
    """The dashboard: the last run of each kind and outcome, the held runs, the last applied
    sync's issues as new, still open and resolved since the applied sync before (a held run's
    are its own page's), and each school's counts."""
    r = t.runs.c
    latest = sa.select(sa.func.max(r.id)).group_by(r.kind, r.status).scalar_subquery()
    last_runs = list_runs(conn, 100, where=[r.id.in_(latest)])
    held = [
        run
        for run in list_runs(conn, 1000, where=[r.status == "held"])
        if not (run["options"] or {}).get("approved_by_run")
    ]
    syncs = _last_syncs(conn)
    last = _issues(conn, syncs[0], schools) if syncs else []
    before = _issues(conn, syncs[1], schools) if len(syncs) > 1 else []
    before_keys = {_key(x) for x in before}
    last_keys = {_key(x) for x in last}
    per_school: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for item in last:
        for school_id in item["schools"]:
            per_school[school_id][item["severity"]] += 1
    return {
        "last_runs": sorted(last_runs, key=lambda x: x["kind"]),
        "held": held,
        "sync_run": syncs[0] if syncs else None,
        "new": [x for x in last if _key(x) not in before_keys],
        "still_open": [x for x in last if _key(x) in before_keys],
        "resolved": [x for x in before if _key(x) not in last_keys],
        "schools": schools_list(conn, schools, today, per_school),
    }


def schools_list(
    conn: Connection,
    schools: Schools,
    today: date,
    issues: dict[str, dict[str, int]] | None = None,
) -> list[dict[str, Any]]:
    """The visible schools with their active students, staff, classes and groups today."""
    ln, g = t.user_schools.c, t.groups.c
    people: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for school_id, role, n in conn.execute(
        sa.select(ln.school_id, ln.role, sa.func.count())
        .where(*within(ln.school_id, schools), *_active_on(ln, today))
        .group_by(ln.school_id, ln.role)
    ):
        people[school_id][role] = n
    kinds: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for school_id, kind, n in conn.execute(
        sa.select(g.school_id, g.kind, sa.func.count())
        .where(*within(g.school_id, schools), sa.or_(g.end_date.is_(None), g.end_date >= today))
        .group_by(g.school_id, g.kind)
    ):
        kinds[school_id][kind] = n
    return [
        {
            "id": school_id,
            "name": name,
            "students": people[school_id]["student"],
            "staff": people[school_id]["teacher"] + people[school_id]["staff"],
            "classes": kinds[school_id]["class"],
            "groups": sum(n for k, n in kinds[school_id].items() if k != "class"),
            "issues": dict((issues or {}).get(school_id, {})),
        }
        for school_id, name in school_names(conn, schools).items()
    ]


# -- runs ----------------------------------------------------------------------------------------


def runs_list(
    conn: Connection, limit: int, offset: int, kind: str | None, status: str | None
) -> tuple[list[dict[str, Any]], int]:
    """Runs newest first, filtered, a page at a time; and how many there are."""
    r = t.runs.c
    where = [c for c in (r.kind == kind if kind else None, r.status == status if status else None)
             if c is not None]  # fmt: skip
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(t.runs).where(*where)).scalar_one()
    )
    rows = list_runs(conn, limit, where=where, offset=offset)
    return rows, total


def run_page(
    conn: Connection,
    run_id: int,
    schools: Schools,
    today: date,
    log_offset: int = 0,
    log_limit: int = 50,
) -> dict[str, Any]:
    """One run: its row, its issues grouped by code (with the records they concern), and a page
    of its change log.

    Raises:
        NotFoundError: When there is no such run.
    """
    run = get_run(conn, run_id)
    issues = _issues(conn, run_id, schools)
    hidden = len(run["issues"]) - len(issues)
    links = _issue_links(conn, [x["id"] for x in issues], schools, today)
    by_code: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in issues:
        item["links"] = links.get(item["id"], [])
        by_code[item["code"]].append(item)
    groups = [
        {
            "code": code,
            "severity": items[0]["severity"],
            "rule": items[0]["rule"],
            "title": KINDS[code].title if code in KINDS else code,
            "items": items,
        }
        for code, items in by_code.items()
    ]
    # What held the run first (its reason), then by severity and code.
    groups.sort(
        key=lambda x: (not x["code"].startswith("lock-"), SEVERITY_ORDER.get(x["severity"], 9),
                       x["code"])
    )  # fmt: skip
    log, total = change_log(conn, run_id, schools, today, log_offset, log_limit)
    return {"run": run, "issue_groups": groups, "issue_count": len(issues),
            "hidden_issues": hidden, "log": log, "log_total": total}  # fmt: skip


def _issue_links(
    conn: Connection, issue_ids: list[int], schools: Schools, today: date
) -> dict[int, list[dict[str, str]]]:
    """The persons, classes and groups each issue names, as links for the page."""
    found: dict[int, list[dict[str, str]]] = defaultdict(list)
    if not issue_ids:
        return found
    ip, u, ln, i, g, s = (t.run_issue_persons.c, t.users.c, t.user_schools.c, t.run_issues.c,
                          t.groups.c, t.schools.c)  # fmt: skip
    for start in range(0, len(issue_ids), 500):
        chunk = issue_ids[start : start + 500]
        visible = sa.exists().where(ln.user_id == u.id, *within(ln.school_id, schools))
        persons = conn.execute(
            sa.select(ip.issue_id, u.id, u.given_name, u.family_name, u.civic_no, u.protected)
            .join(t.users, u.register_id == ip.register_id)
            .where(ip.issue_id.in_(chunk), visible)
            .order_by(u.family_name, u.given_name)
        )
        for issue_id, user_id, given, family, civic, protected in persons:
            label = f"{given} {family}" + (
                "" if protected else f" ({mask_civic_no(civic, today=today)})"
            )
            found[issue_id].append({"kind": "person", "id": user_id, "label": label})
        groups = conn.execute(
            sa.select(i.id, g.id, g.name, g.kind, s.name)
            .join(t.groups, g.name == i.subject)
            .join(t.schools, s.id == g.school_id)
            .where(i.id.in_(chunk), _one_school_has(g.name), *within(g.school_id, schools))
        )
        for issue_id, group_id, name, kind, school in groups:
            found[issue_id].append({"kind": kind, "id": group_id, "label": f"{name}, {school}"})
    return found


def change_log(
    conn: Connection, run_id: int, schools: Schools, today: date, offset: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of a run's change log, and how many entries the viewer may see. A school-admin
    sees the entries about its schools' users, classes, groups and memberships."""
    c = t.changes.c
    where: list[Any] = [c.run_id == run_id]
    if schools is not None:
        ln, g, m = t.user_schools.c, t.groups.c, t.memberships.c
        users = sa.select(ln.user_id).where(ln.school_id.in_(schools))
        groups = sa.select(g.id).where(g.school_id.in_(schools))
        where.append(
            sa.or_(
                sa.and_(c.entity == "user", c.entity_id.in_(users)),
                sa.and_(c.entity.in_(("class", "group")), c.entity_id.in_(groups)),
                sa.and_(
                    c.entity == "membership",
                    c.entity_id.in_(sa.select(m.id).where(m.group_id.in_(groups))),
                ),
                sa.and_(
                    c.entity == "user_school",
                    c.entity_id.in_(sa.select(ln.id).where(ln.school_id.in_(schools))),
                ),
            )
        )
        total = int(conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one())
    else:
        total = count_changes(conn, run_id)
    rows = conn.execute(
        sa.select(c.id, c.entity, c.entity_id, c.action, c.details)
        .where(*where)
        .order_by(c.id)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [{**r, "details": mask_details(r["details"] or {}, today=today)} for r in rows], total


# -- classes, groups and persons -------------------------------------------------------------------


def groups_list(
    conn: Connection,
    schools: Schools,
    kinds: tuple[str, ...],
    today: date,
    query: str,
    school: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    """Classes or groups by school and name, searched by name, a page at a time; and how many
    match."""
    g, s, m = t.groups.c, t.schools.c, t.memberships.c
    where = [g.kind.in_(kinds), *within(g.school_id, schools)]
    if query:
        where.append(_folded(conn, g.name, query).like(_like(query), escape="\\"))
    if school:
        where.append(g.school_id == school)
    total = int(
        conn.execute(sa.select(sa.func.count()).select_from(t.groups).where(*where)).scalar_one()
    )
    rows = conn.execute(
        sa.select(g.id, g.name, g.kind, g.subject, g.start_date, g.end_date, s.name.label("school"))
        .join(t.schools, s.id == g.school_id)
        .where(*where)
        .order_by(s.name, g.name, g.id)
        .limit(limit)
        .offset(offset)
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    ids = [r.id for r in rows]
    if ids:
        for group_id, role, start, end in conn.execute(
            sa.select(m.group_id, m.role, m.start_date, m.end_date).where(m.group_id.in_(ids))
        ):
            if link_active(start, end, today):
                counts[group_id][role] += 1
    return [
        {
            "id": r.id, "name": r.name, "kind": r.kind, "subject": r.subject,
            "school": r.school, "start_date": r.start_date, "end_date": r.end_date,
            "archived": r.end_date is not None and r.end_date < today,
            "students": counts[r.id]["student"] + counts[r.id]["member"],
            "teachers": counts[r.id]["teacher"] + counts[r.id]["mentor"],
        }
        for r in rows
    ], total  # fmt: skip


def group_name(conn: Connection, schools: Schools, group_id: str) -> str | None:
    """A visible class's or group's name; None when there is none (or it is another school's)."""
    g = t.groups.c
    query = sa.select(g.name).where(g.id == group_id, *within(g.school_id, schools))
    return conn.execute(query).scalar()


def persons_list(
    conn: Connection,
    schools: Schools,
    today: date,
    query: str,
    role: str | None,
    offset: int,
    limit: int,
    *,
    count: bool = True,
) -> tuple[list[dict[str, Any]], int]:
    """Persons by name, searched by name or signature, a page at a time; and how many match
    (``count=False``: not counted, -1). A school-admin sees those linked to its schools, with
    those links only."""
    u, ln, s = t.users.c, t.user_schools.c, t.schools.c
    link = [ln.user_id == u.id, *within(ln.school_id, schools)]
    if role:
        link.append(ln.role == role)
    where: list[Any] = [u.merged_into.is_(None)]
    if schools is not None or role:
        where.append(sa.exists().where(*link))
    if query:
        words = [w for w in query.split() if w][:4]
        for word in words:
            pattern = _like(word)
            where.append(
                sa.or_(
                    _folded(conn, u.given_name, word).like(pattern, escape="\\"),
                    _folded(conn, u.family_name, word).like(pattern, escape="\\"),
                    _folded(conn, u.signature, word) == word.lower(),
                )
            )
    total = (
        int(
            conn.execute(sa.select(sa.func.count()).select_from(t.users).where(*where)).scalar_one()
        )
        if count
        else -1
    )
    rows = conn.execute(
        sa.select(u.id, u.given_name, u.family_name, u.civic_no, u.signature, u.protected, u.status)
        .where(*where)
        .order_by(u.family_name, u.given_name, u.id)
        .limit(limit)
        .offset(offset)
    ).all()
    links: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ids = [r.id for r in rows]
    if ids:
        for user_id, school, role_, start, end in conn.execute(
            sa.select(ln.user_id, s.name, ln.role, ln.start_date, ln.end_date)
            .join(t.schools, s.id == ln.school_id)
            .where(ln.user_id.in_(ids), *within(ln.school_id, schools))
            .order_by(s.name)
        ):
            links[user_id].append(
                {"school": school, "role": role_, "active": link_active(start, end, today)}
            )
    return [_person_row(r, today) | {"schools": links[r.id]} for r in rows], total


def _person_row(r: Any, today: date) -> dict[str, Any]:
    return {
        "id": r.id,
        "name": f"{r.given_name} {r.family_name}",
        "civic_no": None if r.protected else mask_civic_no(r.civic_no, today=today),
        "signature": r.signature,
        "protected": r.protected,
        "status": r.status,
    }


def person(conn: Connection, schools: Schools, user_id: str, today: date) -> dict[str, Any] | None:
    """One person, as the viewer may see them: schools, classes and groups, guardians or
    children, and their change history; None when there is none (or not at the viewer's
    schools)."""
    u, ln, s, m, g, gd, c, r = (t.users.c, t.user_schools.c, t.schools.c, t.memberships.c,
                                t.groups.c, t.guardianships.c, t.changes.c, t.runs.c)  # fmt: skip
    where = [u.id == user_id]
    if schools is not None:
        where.append(sa.exists().where(ln.user_id == u.id, ln.school_id.in_(schools)))
    row = conn.execute(sa.select(t.users).where(*where)).first()
    if row is None:
        return None
    links = [
        {"school": x.name, "school_id": x.school_id, "role": x.role, "start_date": x.start_date,
         "end_date": x.end_date, "signature": x.signature,
         "active": link_active(x.start_date, x.end_date, today)}
        for x in conn.execute(
            sa.select(s.name, ln.school_id, ln.role, ln.start_date, ln.end_date, ln.signature)
            .join(t.schools, s.id == ln.school_id)
            .where(ln.user_id == user_id, *within(ln.school_id, schools))
            .order_by(s.name, ln.role)
        )
    ]  # fmt: skip
    groups = [
        {"id": x.id, "name": x.name, "kind": x.kind, "school": x.school, "role": x.role,
         "start_date": x.start_date, "end_date": x.end_date,
         "active": link_active(x.start_date, x.end_date, today)}
        for x in conn.execute(
            sa.select(g.id, g.name, g.kind, s.name.label("school"), m.role, m.start_date,
                      m.end_date)
            .join(t.groups, g.id == m.group_id)
            .join(t.schools, s.id == g.school_id)
            .where(m.user_id == user_id, *within(g.school_id, schools))
            .order_by(g.kind, g.name)
        )
    ]  # fmt: skip
    relations = []
    for mine, theirs, word in ((gd.student_id, gd.guardian_id, "guardian"),
                               (gd.guardian_id, gd.student_id, "child")):  # fmt: skip
        other = t.users.alias()
        visible = []
        if schools is not None:
            visible = [sa.exists().where(ln.user_id == other.c.id, ln.school_id.in_(schools))]
            if word == "guardian":
                visible = []  # a visible student's guardians are the school's to see
        for x in conn.execute(
            sa.select(other.c.id, other.c.given_name, other.c.family_name, other.c.civic_no,
                      other.c.protected, other.c.status, other.c.signature, gd.relation,
                      gd.end_date)
            .join(other, other.c.id == theirs)
            .where(mine == user_id, *visible)
            .order_by(other.c.family_name, other.c.given_name)
        ):  # fmt: skip
            relations.append(
                _person_row(x, today) | {"relation": word, "kind": x.relation,
                                         "active": is_open(x.end_date, today)}
            )  # fmt: skip
    history = [
        {"run_id": x.run_id, "at": x.started_at, "entity": x.entity, "action": x.action,
         "details": mask_details(x.details or {}, today=today)}
        for x in conn.execute(
            sa.select(c.run_id, r.started_at, c.entity, c.action, c.details)
            .join(t.runs, r.id == c.run_id)
            .where(c.entity_id == user_id)
            .order_by(c.id.desc())
            .limit(100)
        )
    ]  # fmt: skip
    return _person_row(row, today) | {
        "email": None if row.protected else row.email,
        "mobile": None if row.protected else row.mobile,
        "birth_date": None if row.protected else row.birth_date,
        "merged_into": row.merged_into,
        "links": links,
        "groups": groups,
        "relations": relations,
        "history": history,
    }


def civic_no(conn: Connection, schools: Schools, user_id: str) -> str | None:
    """A visible, unprotected person's whole personnummer (for the audit-logged reveal)."""
    u, ln = t.users.c, t.user_schools.c
    where = [u.id == user_id, u.protected.is_(False)]
    if schools is not None:
        where.append(sa.exists().where(ln.user_id == u.id, ln.school_id.in_(schools)))
    return conn.execute(sa.select(u.civic_no).where(*where)).scalar()
