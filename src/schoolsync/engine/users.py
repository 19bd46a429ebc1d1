"""Users and their school links: match, create, update, end, reactivate (R1–R4).

Matching is by personnummer (R1.1). When the register's stable person id is known and the number
under it changed, the same user is re-keyed (R1.3). Register data overwrites the directory (R2.1)
except e-mail and mobile, which are only filled when empty (R2.2). Links the register no longer
implies are ended with an end date, never deleted (R3.2); a user with no open link is ``ended``,
and gets the same account back when the register lists them again (R3.3).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from schoolsync.domain.personnummer import CivicNo, mask_civic_no
from schoolsync.domain.records import Person
from schoolsync.engine.context import PlanContext
from schoolsync.engine.guardians import kept_guardian_links, plan_guardianships
from schoolsync.engine.people import People, Span, validate_persons, wanted_links
from schoolsync.engine.state import LinkRow, UserRow, is_open
from schoolsync.store import schema as t

# Fields the register owns (R2.1): overwritten at every sync.
REGISTER_FIELDS = (
    "register_id",
    "given_name",
    "middle_name",
    "family_name",
    "birth_date",
    "sex",
    "addresses",
    "identifiers",
    "signature",
)
# Fields the user owns once filled (R2.2): written only while the directory has none.
USER_OWNED_FIELDS = ("email", "mobile")
STAFF_ROLES = frozenset({"teacher", "staff"})


def _register_values(person: Person, civic: CivicNo, people: People) -> dict[str, Any]:
    return {
        "register_id": person.id,
        "given_name": person.given_name,
        "middle_name": person.middle_name,
        "family_name": person.family_name,
        "birth_date": person.birth_date or civic.birth_date,
        "sex": person.sex,
        "addresses": [dict(a) for a in person.addresses],
        "identifiers": dict(person.identifiers),
        "signature": people.signatures.get(person.id),
    }


@dataclass
class UserOutcome:
    """What the user step decided, for the steps after it.

    Attributes:
        people: The usable persons and their wanted links.
        user_of: Register person id to user id (existing or created in this run).
        frozen: User ids to leave as they are this run.
    """

    people: People
    user_of: dict[str, str]
    frozen: set[str]


def plan_users(ctx: PlanContext) -> UserOutcome:
    """Plan every user and school-link change of the run.

    Returns:
        The validated persons, who became which user, and which users to leave alone.
    """
    people = validate_persons(ctx)
    wanted_links(ctx, people)
    directory = ctx.directory
    by_civic = {u.civic_no: u for u in directory.users.values()}
    by_register: dict[str, list[UserRow]] = defaultdict(list)
    for row in directory.users.values():
        if row.register_id:
            by_register[row.register_id].append(row)
    existing = directory.links_by_user()
    frozen = {u.id for u in directory.users.values() if _is_frozen(people, u)}
    kept = kept_guardian_links(ctx, frozen)

    user_of: dict[str, str] = {}  # register id -> user id
    for pid in sorted(people.valid):
        person, civic = people.valid[pid]
        user: UserRow | None = by_civic.get(civic.value)
        if user is None:
            user = _rekey_candidate(ctx, people, by_register.get(pid, []), user_of, person, civic)
        if user is not None:
            user_of[pid] = user.id
            _plan_known_user(ctx, people, user, person, civic, existing.get(user.id, {}), kept)
        elif any(is_open(span.end, ctx.today) for span in people.links.get(pid, {}).values()):
            user_of[pid] = _plan_new_user(ctx, people, person, civic)

    matched = set(user_of.values())
    absent = [u for u in directory.users.values() if u.id not in matched and u.id not in frozen]
    if "persons" in ctx.snapshot.unidentified:
        ctx.report(
            "absence-ending-suspended",
            "Some person records could not be read and had no id, so nobody was ended for being "
            "absent from this read. Correct the records reported as invalid-record and run again.",
            "persons",
        )
        frozen.update(u.id for u in absent)
        absent = []
    for user in sorted(absent, key=lambda u: u.civic_no):
        status = _plan_links(ctx, user.id, {}, existing.get(user.id, {}), kept)
        _set_status(ctx, user, status, {})
    plan_guardianships(ctx, people, user_of, frozen)
    return UserOutcome(people, user_of, frozen)


def _is_frozen(people: People, user: UserRow) -> bool:
    """A user whose register record exists but could not be used: leave them as they are."""
    return user.register_id in people.frozen_ids or user.civic_no in people.frozen_civics


def _rekey_candidate(
    ctx: PlanContext,
    people: People,
    candidates: list[UserRow],
    user_of: dict[str, str],
    person: Person,
    civic: CivicNo,
) -> UserRow | None:
    """R1.3: the user with this register id, if their old number has left the register."""
    if len(candidates) != 1:
        return None
    user = candidates[0]
    if user.id in user_of.values() or user.civic_no in people.read_civics:
        return None
    ctx.report(
        "civic-no-changed",
        f"{person.given_name} {person.family_name} (register id {person.id}) changed "
        f"personnummer from {mask_civic_no(user.civic_no)} to {civic.masked()}; the same "
        f"account was kept with all its history. Nothing to do.",
        civic.masked(),
    )
    return user


def _plan_known_user(
    ctx: PlanContext,
    people: People,
    user: UserRow,
    person: Person,
    civic: CivicNo,
    links: dict[tuple[str, str], LinkRow],
    kept: set[tuple[str, str, str]],
) -> None:
    values = _register_values(person, civic, people)
    changed: dict[str, Any] = {}
    if user.civic_no != civic.value:
        changed["civic_no"] = civic.value
    for name in REGISTER_FIELDS:
        if getattr(user, name) != values[name]:
            changed[name] = values[name]
    for name, new in (("email", person.email), ("mobile", person.mobile)):
        if new and not getattr(user, name):
            changed[name] = new
    if changed:
        details = {name: [getattr(user, name), new] for name, new in changed.items()}
        ctx.changes.record("user", user.id, "updated", **details)
    status = _plan_links(ctx, user.id, people.links.get(person.id, {}), links, kept)
    _set_status(ctx, user, status, changed)


def _set_status(ctx: PlanContext, user: UserRow, status: str, changed: dict[str, Any]) -> None:
    if status != user.status:
        changed["status"] = status
        ctx.changes.record("user", user.id, "ended" if status == "ended" else "reactivated")
    if changed:
        ctx.changes.update(t.users.name, {"id": user.id, **changed})


def _plan_new_user(ctx: PlanContext, people: People, person: Person, civic: CivicNo) -> str:
    user_id = ctx.new_id()
    ctx.changes.record("user", user_id, "created")
    status = _plan_links(ctx, user_id, people.links.get(person.id, {}), {}, set())
    row = {
        "id": user_id,
        "civic_no": civic.value,
        **_register_values(person, civic, people),
        "email": person.email,
        "mobile": person.mobile,
        "status": status,
        "protected": False,
    }
    ctx.changes.insert(t.users.name, row)
    return user_id


def _plan_links(
    ctx: PlanContext,
    user_id: str,
    wanted: dict[tuple[str, str], Span],
    existing: dict[tuple[str, str], LinkRow],
    kept: set[tuple[str, str, str]],
) -> str:
    """Create, update, end or reactivate one user's school links.

    Links in ``kept`` and links of a kind whose records could not all be read stay open.

    Returns:
        The user's status after the run: ``active`` while any link is open, else ``ended``.
    """
    today = ctx.today
    keep_staff = "duties" in ctx.snapshot.unidentified
    keep_students = "placements" in ctx.snapshot.unidentified
    status = "ended"
    for key, span in sorted(wanted.items()):
        row = existing.get(key)
        if is_open(span.end, today):
            status = "active"
        if row is None:
            link_id = ctx.new_id()
            ctx.changes.insert(
                t.user_schools.name,
                {
                    "id": link_id,
                    "user_id": user_id,
                    "school_id": key[0],
                    "role": key[1],
                    "start_date": span.start,
                    "end_date": span.end,
                    "signature": span.signature,
                },
            )
            ctx.changes.record(
                "user_school", link_id, "created", user_id=user_id, school_id=key[0], role=key[1]
            )
            continue
        new = {"start_date": span.start, "end_date": span.end, "signature": span.signature}
        changed = {k: v for k, v in new.items() if getattr(row, k) != v}
        if changed:
            was_open, now_open = is_open(row.end_date, today), is_open(span.end, today)
            action = "updated" if was_open == now_open else ("ended" if was_open else "reactivated")
            _update_link(ctx, row, changed, action)
    for key, row in sorted(existing.items()):
        if key in wanted:
            continue
        keep = (keep_staff and key[1] in STAFF_ROLES) or (keep_students and key[1] == "student")
        if not is_open(row.end_date, today):
            continue
        if keep or (user_id, *key) in kept:
            status = "active"
            continue
        _update_link(ctx, row, {"end_date": ctx.yesterday}, "ended")
    return status


def _update_link(ctx: PlanContext, row: LinkRow, changed: dict[str, Any], action: str) -> None:
    ctx.changes.update(t.user_schools.name, {"id": row.id, **changed})
    details = {k: [getattr(row, k), v] for k, v in changed.items()}
    ctx.changes.record(
        "user_school",
        row.id,
        action,
        user_id=row.user_id,
        school_id=row.school_id,
        role=row.role,
        **details,
    )
