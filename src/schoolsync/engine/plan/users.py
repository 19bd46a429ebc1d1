"""Users and their school links: match, create, update, end, reactivate (R1–R4).

Matching is by personnummer (R1.1). When the register's stable person id is known and the number
under it changed, the same user is re-keyed (R1.3). Register data overwrites the directory (R2.1)
except e-mail and mobile, which are only filled when empty (R2.2). Links the register no longer
implies are ended with an end date, never deleted (R3.2); a user with no open link is ``ended``,
and gets the same account back when the register lists them again (R3.3).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import msgspec

from schoolsync.domain.directory import LinkRow, UserRow, is_open
from schoolsync.domain.personnummer import CivicNo, mask_civic_no
from schoolsync.domain.protected import pseudonym_key, pseudonym_names
from schoolsync.domain.records import Person
from schoolsync.engine.plan.context import PlanContext
from schoolsync.engine.plan.guardians import kept_guardian_links, plan_guardianships
from schoolsync.engine.plan.people import People, Span, validate_persons, wanted_links

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


def _register_values(person: Person, civic: CivicNo, people: People) -> tuple[Any, ...]:
    """The user's REGISTER_FIELDS as the register has them, in that order (addresses and
    identifiers as the directory's JSON text)."""
    return (
        person.id,
        person.given_name,
        person.middle_name,
        person.family_name,
        person.birth_date or civic.birth_date,
        person.sex,
        person.addresses,
        person.identifiers,
        people.signatures.get(person.id),
    )


def _register_fields(person: Person, civic: CivicNo, people: People) -> dict[str, Any]:
    """The user's REGISTER_FIELDS by name."""
    return dict(zip(REGISTER_FIELDS, _register_values(person, civic, people), strict=True))


_held_register_values = attrgetter("civic_no", *REGISTER_FIELDS)


@dataclass
class UserOutcome:
    """What the user step decided, for the steps after it.

    Attributes:
        people: The usable persons and their wanted links.
        user_of: Register person id to user id (existing or created in this run).
        frozen: User ids to leave as they are this run.
        keep_memberships: User ids whose memberships must not be ended this run (their export
            names a unit it does not include).
    """

    people: People
    user_of: dict[str, str]
    frozen: set[str]
    keep_memberships: set[str] = field(default_factory=set)


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

    tf_users = _tf_index(directory, people, frozen)
    user_of: dict[str, str] = {}  # register id -> user id
    taken: set[str] = set()  # the user ids in user_of, to look up without a scan
    created: list[tuple[str, Person, CivicNo]] = []
    for pid in sorted(people.valid):
        person, civic = people.valid[pid]
        user: UserRow | None = by_civic.get(civic.value)
        if user is None and person.is_protected:
            user = _protected_account(people, pid, by_civic, by_register.get(pid, []), taken)
        elif user is None:
            user = _rekey_candidate(ctx, people, by_register.get(pid, []), taken, person, civic)
            user = user or _tf_merge_candidate(ctx, tf_users, taken, person, civic)
        if user is not None:
            user_of[pid] = user.id
            taken.add(user.id)
            if user.id in frozen:
                continue  # a record of theirs could not be read: leave them as they are
            _plan_known_user(ctx, people, user, person, civic, existing.get(user.id, {}), kept)
        elif any(is_open(span.end, ctx.today) for span in people.links.get(pid, {}).values()):
            user_of[pid] = _plan_new_user(ctx, people, person, civic)
            taken.add(user_of[pid])
            created.append((user_of[pid], person, civic))

    absent = [u for u in directory.users.values() if u.id not in taken and u.id not in frozen]
    if "persons" in ctx.snapshot.unidentified:
        ctx.report(
            "absence-ending-suspended",
            "Some person records could not be read and had no id, so nobody was ended for being "
            "absent from this read. Correct the records reported as invalid-record and run again.",
            "persons",
        )
        frozen.update(u.id for u in absent)
        absent = []
    ended: list[UserRow] = []
    for user in sorted(absent, key=lambda u: u.civic_no):
        protected = _became_protected(people, user)
        status = _plan_links(ctx, user.id, {}, existing.get(user.id, {}), kept, protected=protected)
        changed: dict[str, Any] = {}
        if protected:
            changed = _mask_account(ctx, user)  # ended under "exclude" (R11)
        elif status == "ended" and user.status == "active":
            ended.append(user)
        _set_status(ctx, user, status, changed)
    _report_possible_civic_changes(ctx, ended, created)
    _mask_frozen(ctx, people, frozen, existing, kept)
    ctx.changes.protected_persons.update(people.protected_ids)
    plan_guardianships(ctx, people, user_of, frozen)
    keep = {user_of[pid] for pid in people.keep_roles if pid in user_of}
    return UserOutcome(people, user_of, frozen, keep)


def _became_protected(people: People, user: UserRow) -> bool:
    """Whether the register now says (or may say) that this user's person is protected."""
    if user.register_id in people.protected_ids:
        return True
    return user.civic_no in people.protected_civics and user.register_id not in (
        people.unprotected_ids
    )


def _mask_frozen(
    ctx: PlanContext,
    people: People,
    frozen: set[str],
    existing: dict[str, dict[tuple[str, str], LinkRow]],
    kept: set[tuple[str, str, str]],
) -> None:
    """R11 before everything: a user left alone this run (a record of theirs could not be read,
    or absence endings are suspended) who is now protected is masked all the same, and under
    ``exclude`` ended, as any protected person is."""
    exclude = ctx.settings.sync.protected_identity == "exclude"
    for user_id in sorted(frozen):
        user = ctx.directory.users[user_id]
        if user.protected or not _became_protected(people, user):
            continue
        status = user.status
        if exclude:
            links = existing.get(user.id, {})
            status = _plan_links(ctx, user.id, {}, links, kept, protected=True)
            frozen.discard(user_id)  # their memberships and guardianships end too
        _set_status(ctx, user, status, _mask_account(ctx, user))


def _mask_merged(ctx: PlanContext, user: UserRow) -> None:
    """Accounts merged into a user who became protected (``user merge``) hold the same person's
    old data: they are masked too, along the whole chain."""
    todo = [user.id]
    while todo:
        for other_id in ctx.directory.merged_from.get(todo.pop(), ()):
            other = ctx.directory.users[other_id]
            if not other.protected:
                todo.append(other.id)
                ctx.changes.users.update(other.id, _masked_fields(ctx, other))


def _scrub(ctx: PlanContext, user: UserRow) -> None:
    """R11: what earlier runs recorded about this user (name, masked number) is to be removed."""
    texts = [f"{user.given_name} {user.family_name}", mask_civic_no(user.civic_no, today=ctx.today)]
    ctx.changes.scrub.append((user.id, texts))


def _masked_fields(ctx: PlanContext, user: UserRow) -> dict[str, Any]:
    """The pseudonym's values that differ from the user's, and the user's history to scrub."""
    _scrub(ctx, user)
    ctx.changes.record("user", user.id, "updated", protected=True)
    given, family = pseudonym_names(user.register_id or user.id)
    masked: dict[str, Any] = {
        "civic_no": pseudonym_key(user.register_id or user.id),
        "given_name": given,
        "middle_name": None,
        "family_name": family,
        "birth_date": None,
        "sex": None,
        "email": None,
        "mobile": None,
        "addresses": "[]",
        "identifiers": "{}",
        "protected": True,
    }
    return {k: v for k, v in masked.items() if getattr(user, k) != v}


def _mask_account(ctx: PlanContext, user: UserRow) -> dict[str, Any]:
    """A user who became protected (R11): the account keeps its history under a pseudonym, and
    what earlier runs recorded about the person is removed."""
    if user.protected:
        return {}
    _mask_merged(ctx, user)
    return _masked_fields(ctx, user)


def _protected_account(
    people: People,
    pid: str,
    by_civic: dict[str, UserRow],
    by_register: list[UserRow],
    taken: set[str],
) -> UserRow | None:
    """The account a protected person had before (by register id or real number), if any."""
    candidates = [*by_register, by_civic.get(people.protected_civic_of.get(pid, ""))]
    return next((u for u in candidates if u is not None and u.id not in taken), None)


def _tf_key(given: str, family: str, birth: Any) -> tuple[str, str, Any]:
    return (given.casefold().strip(), family.casefold().strip(), birth)


def _tf_index(
    directory: Any, people: People, frozen: set[str]
) -> dict[tuple[str, str, Any], list[UserRow]]:
    """Users with a TF number who have left the register, by names and birth date (R1.5)."""
    index: dict[tuple[str, str, Any], list[UserRow]] = defaultdict(list)
    for user in directory.users.values():
        left = user.civic_no[8:10] == "TF" and user.civic_no not in people.read_civics
        if left and user.id not in frozen and not user.protected and user.birth_date is not None:
            index[_tf_key(user.given_name, user.family_name, user.birth_date)].append(user)
    return index


def _tf_merge_candidate(
    ctx: PlanContext,
    tf_users: dict[tuple[str, str, Any], list[UserRow]],
    taken: set[str],
    person: Person,
    civic: CivicNo,
) -> UserRow | None:
    """R1.5: a new number whose names and birth date equal one TF user who left the register."""
    if civic.kind == "tf" or not tf_users:
        return None
    birth = person.birth_date or civic.birth_date
    candidates = [
        u
        for u in tf_users.get(_tf_key(person.given_name, person.family_name, birth), [])
        if u.id not in taken
    ]
    if len(candidates) != 1:
        return None
    user = candidates[0]
    ctx.report(
        "tf-number-merged",
        f"{person.given_name} {person.family_name} had the temporary number "
        f"{mask_civic_no(user.civic_no, today=ctx.today)} and now has the personnummer "
        f"{civic.masked()} "
        f"(same names and birth date, and the temporary number has left the register), so the "
        f"same account was kept with all its history. Nothing to do.",
        civic.masked(),
        persons=tuple(x for x in (person.id, user.register_id) if x),
    )
    return user


def _report_possible_civic_changes(
    ctx: PlanContext, ended: list[UserRow], created: list[tuple[str, Person, CivicNo]]
) -> None:
    """R1.6: one user ends and another with equal names and birth date is created."""
    if not ended:
        return  # a first sync creates everyone and ends nobody
    gone: dict[tuple[str, str, Any], list[UserRow]] = defaultdict(list)
    for user in ended:
        gone[_tf_key(user.given_name, user.family_name, user.birth_date)].append(user)
    for new_id, person, civic in created:
        birth = person.birth_date or civic.birth_date
        for old in gone.get(_tf_key(person.given_name, person.family_name, birth), []):
            ctx.report(
                "possible-civic-no-change",
                f"{old.given_name} {old.family_name} "
                f"({mask_civic_no(old.civic_no, today=ctx.today)}) was ended "
                f"and a new account for {person.given_name} {person.family_name} "
                f"({civic.masked()}) with the same names and birth date was created in this run. "
                f"If this is one person whose personnummer changed, keep the old account with "
                f"its history: schoolsync user merge {new_id} {old.id} (the old account takes "
                f"the new number). Next time, change the number in the directory first: "
                f"schoolsync user rekey <old number> <new number>.",
                civic.masked(),
                persons=tuple(x for x in (person.id, old.register_id) if x),
            )


def _is_frozen(people: People, user: UserRow) -> bool:
    """A user whose register record exists but could not be used: leave them as they are."""
    return user.register_id in people.frozen_ids or user.civic_no in people.frozen_civics


def _rekey_candidate(
    ctx: PlanContext,
    people: People,
    candidates: list[UserRow],
    taken: set[str],
    person: Person,
    civic: CivicNo,
) -> UserRow | None:
    """R1.3: the user with this register id, if their old number has left the register."""
    if len(candidates) != 1:
        return None
    user = candidates[0]
    if user.id in taken or user.civic_no in people.read_civics:
        return None
    if user.protected:
        return user  # its key is a pseudonym: nothing to tell
    ctx.report(
        "civic-no-changed",
        f"{person.given_name} {person.family_name} (register id {person.id}) changed "
        f"personnummer from {mask_civic_no(user.civic_no, today=ctx.today)} to "
        f"{civic.masked()}; the same "
        f"account was kept with all its history. Nothing to do.",
        civic.masked(),
        persons=(person.id,),
    )
    return user


# A person's fields fed by list elements that may be dropped when unreadable (``invalid-element``):
# while any element was dropped, the field keeps what the directory has (R3.1).
_PARTS_OF_FIELD = {
    "identifiers": ("persons.eduPersonPrincipalNames", "persons.externalIdentifiers"),
    "addresses": ("persons.addresses",),
}


def _partly_read_fields(ctx: PlanContext, person_id: str) -> set[str]:
    partial = ctx.snapshot.partial
    return {
        name
        for name, parts in _PARTS_OF_FIELD.items()
        if any(person_id in partial.get(part, ()) for part in parts)
    }


def _plan_known_user(
    ctx: PlanContext,
    people: People,
    user: UserRow,
    person: Person,
    civic: CivicNo,
    links: dict[tuple[str, str], LinkRow],
    kept: set[tuple[str, str, str]],
) -> None:
    changed: dict[str, Any] = {}
    if not _is_current(people, user, person, civic):
        changed = _changed_fields(ctx, people, user, person, civic)
    keep = people.keep_roles.get(person.id, set())
    status = _plan_links(ctx, user.id, people.links.get(person.id, {}), links, kept, keep)
    _set_status(ctx, user, status, changed)


def _is_current(people: People, user: UserRow, person: Person, civic: CivicNo) -> bool:
    """Whether the user already holds what the register says, so nothing of theirs changes.

    The common case of a re-sync, for every user: one tuple compare of REGISTER_FIELDS (the
    fields :func:`_changed_fields` compares), before a dict of the differences is built.
    """
    if person.is_protected or user.protected:
        return False
    if (person.email and not user.email) or (person.mobile and not user.mobile):
        return False  # R2.2: a contact detail to fill
    return bool(
        _held_register_values(user) == (civic.value, *_register_values(person, civic, people))
    )


def _changed_fields(
    ctx: PlanContext, people: People, user: UserRow, person: Person, civic: CivicNo
) -> dict[str, Any]:
    """The user's fields the register changes (R2.1, R2.2, R11), with the change-log entry."""
    values = _register_fields(person, civic, people)
    changed: dict[str, Any] = {}
    if user.civic_no != civic.value:
        changed["civic_no"] = civic.value
    partly_read = _partly_read_fields(ctx, person.id)
    for name in REGISTER_FIELDS:
        if getattr(user, name) != values[name] and name not in partly_read:
            if name in _JSON_FIELDS and _decode(getattr(user, name)) == _decode(values[name]):
                continue  # the same value, written as other text (by an earlier version)
            changed[name] = values[name]
    for name in USER_OWNED_FIELDS:
        new = getattr(person, name)
        if new and not getattr(user, name):
            changed[name] = new
    if person.is_protected:
        for name in USER_OWNED_FIELDS:  # R11: no contact data under a pseudonym
            if getattr(user, name) is not None:
                changed[name] = None
        if not user.protected:
            changed["protected"] = True
            _mask_merged(ctx, user)
            _scrub(ctx, user)
    elif user.protected:
        changed["protected"] = False  # protection lifted: the register's data comes back
    if changed:
        details = (
            {"protected": True}
            if person.is_protected
            else {name: _logged(name, getattr(user, name), new) for name, new in changed.items()}
        )
        ctx.changes.record("user", user.id, "updated", **details)
    return changed


_JSON_FIELDS = frozenset({"addresses", "identifiers"})
_decode = msgspec.json.decode


def _logged(name: str, old: Any, new: Any) -> list[Any]:
    """A changed field's old and new value for the change log (JSON text as its value)."""
    if name in _JSON_FIELDS:
        return [_decode(old), _decode(new)]
    return [old, new]


def _set_status(ctx: PlanContext, user: UserRow, status: str, changed: dict[str, Any]) -> None:
    if status != user.status:
        changed["status"] = status
        ctx.changes.record("user", user.id, "ended" if status == "ended" else "reactivated")
    if changed:
        ctx.changes.users.update(user.id, changed)


def _plan_new_user(ctx: PlanContext, people: People, person: Person, civic: CivicNo) -> str:
    user_id = ctx.new_id()
    ctx.changes.record("user", user_id, "created")
    status = _plan_links(ctx, user_id, people.links.get(person.id, {}), {}, set())
    ctx.changes.users.create(
        UserRow(
            id=user_id,
            civic_no=civic.value,
            **_register_fields(person, civic, people),
            email=person.email,
            mobile=person.mobile,
            status=status,
            protected=person.is_protected,
        )
    )
    return user_id


def _plan_links(
    ctx: PlanContext,
    user_id: str,
    wanted: dict[tuple[str, str], Span],
    existing: dict[tuple[str, str], LinkRow],
    kept: set[tuple[str, str, str]],
    keep_roles: frozenset[str] | set[str] = frozenset(),
    *,
    protected: bool = False,
) -> str:
    """Create, update, end or reactivate one user's school links.

    Links in ``kept``, links in ``keep_roles`` and links of a kind whose records could not all
    be read stay open, except for a user who is protected now (R11 comes first: ``protected``).

    Returns:
        The user's status after the run: ``active`` while any link is open, else ``ended``.
    """
    today = ctx.today
    keep_staff = "duties" in ctx.snapshot.unidentified and not protected
    keep_students = "placements" in ctx.snapshot.unidentified and not protected
    if protected:
        kept, keep_roles = set(), frozenset()
    status = "ended"
    for key, span in sorted(wanted.items()):
        row = existing.get(key)
        if is_open(span.end, today):
            status = "active"
        if row is None:
            link_id = ctx.new_id()
            ctx.changes.school_links.create(
                LinkRow(link_id, user_id, key[0], key[1], span.start, span.end, span.signature)
            )
            ctx.changes.record(
                "user_school", link_id, "created", user_id=user_id, school_id=key[0], role=key[1]
            )
            continue
        if (row.start_date, row.end_date, row.signature) == (span.start, span.end, span.signature):
            continue  # the common case of a re-sync: nothing to compare further
        new = {"start_date": span.start, "end_date": span.end, "signature": span.signature}
        changed = {k: v for k, v in new.items() if getattr(row, k) != v}
        was_open, now_open = is_open(row.end_date, today), is_open(span.end, today)
        action = "updated" if was_open == now_open else ("ended" if was_open else "reactivated")
        _update_link(ctx, row, changed, action)
    for key in sorted(key for key in existing if key not in wanted):  # usually none
        row = existing[key]
        keep = (
            (keep_staff and key[1] in STAFF_ROLES)
            or (keep_students and key[1] == "student")
            or key[1] in keep_roles
        )
        if not is_open(row.end_date, today):
            continue
        if keep or (user_id, *key) in kept:
            status = "active"
            continue
        _update_link(ctx, row, {"end_date": ctx.yesterday}, "ended")
    return status


def _update_link(ctx: PlanContext, row: LinkRow, changed: dict[str, Any], action: str) -> None:
    ctx.changes.school_links.update(row.id, changed)
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
