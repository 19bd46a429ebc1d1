"""The roster for other platforms (OneRoster 1.2, SDS v2.1), built from a directory held in
memory: what a platform is given, and what it is never given (issue 12, R5.4, R11)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from schoolsync.domain.directory import (
    Directory,
    GroupRow,
    GuardianshipRow,
    LinkRow,
    MembershipRow,
    SchoolRow,
    UnitRow,
    UserRow,
)
from schoolsync.domain.settings import RosteringSettings
from schoolsync.rostering.model import Modified, Roster, Since, build_roster, derived_id, e164

TODAY = date(2025, 10, 15)
RUN1 = (1, datetime(2025, 8, 18, 2, 0, tzinfo=UTC))
RUN2 = (2, datetime(2025, 10, 14, 2, 0, tzinfo=UTC))


def user(uid: str, given: str, family: str, **kw: object) -> UserRow:
    fields: dict[str, object] = {
        "id": uid,
        "civic_no": f"civic-{uid}",
        "register_id": f"reg-{uid}",
        "given_name": given,
        "middle_name": None,
        "family_name": family,
        "birth_date": date(2012, 3, 4),
        "sex": "Kvinna",
        "email": f"{uid}@skola.invalid",
        "mobile": None,
        "addresses": "[]",
        "identifiers": "{}",
        "signature": None,
        "status": "active",
    }
    fields.update(kw)
    return UserRow(**fields)  # type: ignore[arg-type]


def municipality() -> Directory:
    """One school: class 7A (mentor MEN), group Ma 7A (teacher LAR), three students (one of them
    protected, under their pseudonym), a guardian of two of them, a merged-away account, a
    student who left in June and a membership that ended in September."""
    d = Directory()
    d.schools["k"] = SchoolRow("sch", "k", "Norrskolan")
    d.units["u1"] = UnitRow("u1", "sch", "12345678", "Norrskolan", ["GR"])
    ids = {
        "extern": json.dumps(
            {
                "eduPersonPrincipalNames": ["anna@eppn.invalid"],
                "externalIdentifiers": [
                    {"value": "anna01", "context": "https://kommun.invalid/ad/sAMAccountName"}
                ],
            }
        )
    }
    users = [
        user("anna", "Anna", "Berg", identifiers=ids["extern"], mobile="070-174 06 95"),
        user("bo", "Bo", "Ek"),
        user(
            "skyddad",
            "Skyddad",
            "identitet 7F3A",
            protected=True,
            birth_date=None,
            sex=None,
            email=None,
        ),
        user("gun", "Gun", "Berg", birth_date=date(1980, 1, 1)),
        user("lar", "Lars", "Lärare", signature="LAR", sex="Man", birth_date=None),
        user("men", "Mona", "Mentor", signature="MEN"),
        user("gone", "Gustav", "Gammal", status="ended"),
        user("old", "Olle", "Dubblett", merged_into="anna", status="ended"),
    ]
    for u in users:
        d.users[u.id] = u
    links = [
        ("anna", "student", date(2022, 8, 22), None),
        ("bo", "student", date(2022, 8, 22), None),
        ("skyddad", "student", date(2022, 8, 22), None),
        ("gun", "guardian", date(2022, 8, 22), None),
        ("lar", "teacher", date(2020, 8, 1), None),
        ("lar", "staff", date(2024, 8, 1), None),
        ("men", "teacher", date(2020, 8, 1), None),
        ("gone", "student", date(2019, 8, 19), date(2025, 6, 13)),
        ("old", "student", date(2022, 8, 22), date(2025, 1, 1)),
    ]
    for uid, role, start, end in links:
        d.links[(uid, "sch", role)] = LinkRow(f"l-{uid}-{role}", uid, "sch", role, start, end, None)
    for student in ("anna", "skyddad"):
        d.guardianships[("gun", student)] = GuardianshipRow(
            f"g-{student}", "gun", student, "Vårdnadshavare", None
        )
    year = (date(2025, 8, 18), date(2026, 6, 12))
    d.groups["c7a"] = GroupRow(
        "c7a", "sch", "class", "7A", "r7a", "Klass", None, None, [], *year, "active"
    )
    d.groups["ma7a"] = GroupRow(
        "ma7a", "sch", "group", "Ma 7A", "rma", "Undervisning", "MA", None, [], *year, "active"
    )
    d.groups["next"] = GroupRow(
        "next",
        "sch",
        "group",
        "Ma 8A",
        "rnext",
        "Undervisning",
        "MA",
        None,
        [],
        date(2026, 8, 17),
        date(2027, 6, 11),
        "active",
    )
    d.groups["mentorgrp"] = GroupRow(
        "mentorgrp",
        "sch",
        "mentor",
        "Mentorsgrupp",
        None,
        "Mentor",
        None,
        None,
        [],
        *year,
        "active",
    )
    members = [
        ("c7a", "anna", "student", year[0], None),
        ("c7a", "bo", "student", year[0], date(2025, 9, 30)),
        ("c7a", "skyddad", "student", year[0], None),
        ("c7a", "men", "mentor", year[0], None),
        ("ma7a", "anna", "student", year[0], None),
        ("ma7a", "lar", "teacher", year[0], None),
        ("next", "anna", "student", date(2026, 8, 17), None),
    ]
    for gid, uid, role, start, end in members:
        d.memberships[(gid, uid, role)] = MembershipRow(
            f"m-{gid}-{uid}", gid, uid, role, start, end
        )
    return d


def everything(d: Directory) -> Modified:
    """Every row written by run 1."""
    rows = [
        *d.schools.values(),
        *d.users.values(),
        *d.links.values(),
        *d.guardianships.values(),
        *d.groups.values(),
        *d.memberships.values(),
    ]
    return Modified({r.id: RUN1 for r in rows}, RUN1)


def roster(d: Directory | None = None, **settings: object) -> Roster:
    d = d or municipality()
    return build_roster(d, everything(d), RosteringSettings(**settings), TODAY)  # type: ignore[arg-type]


def test_a_bulk_set_holds_the_huvudman_its_school_and_who_is_active_there() -> None:
    r = roster(organisation_name="Exempelstads kommun")
    district, school = r.orgs
    assert (district.name, district.type, district.parent) == (
        "Exempelstads kommun",
        "district",
        None,
    )
    assert (school.sourced_id, school.type, school.identifier, school.parent) == (
        "sch",
        "school",
        "12345678",
        district.sourced_id,
    )
    assert {u.sourced_id for u in r.users} == {"anna", "bo", "skyddad", "gun", "lar", "men"}
    assert all(u.enabled and u.change.status == "active" for u in r.users)


def test_a_class_is_a_homeroom_a_group_is_scheduled_and_each_has_a_course_and_its_terms() -> None:
    r = roster()
    classes = {k.sourced_id: k for k in r.classes}
    # The group of next school year is not shown yet (R5.4); a mentor group is no class.
    assert set(classes) == {"c7a", "ma7a"}
    assert classes["c7a"].class_type == "homeroom" and classes["ma7a"].class_type == "scheduled"
    courses = {c.sourced_id: c for c in r.courses}
    assert courses[classes["ma7a"].course].code == "MA"
    assert courses[classes["c7a"].course].code == "Klass"
    terms = {s.sourced_id: s for s in r.sessions if s.type == "term"}
    assert [terms[t].title for t in classes["c7a"].terms] == ["HT 2025", "VT 2026"]
    year = next(s for s in r.sessions if s.type == "schoolYear")
    assert (year.title, year.school_year, year.start, year.end) == (
        "Läsår 2025/26",
        "2026",
        date(2025, 7, 1),
        date(2026, 6, 30),
    )
    periods = [s for s in r.sessions if s.type == "gradingPeriod"]
    assert sorted(terms[p.parent].title for p in periods if p.parent) == ["HT 2025", "VT 2026"]


def test_enrollments_carry_the_membership_dates_and_the_primary_teacher() -> None:
    r = roster()
    got = {(e.klass, e.user): (e.role, e.primary, e.begin, e.end) for e in r.enrollments}
    start = date(2025, 8, 18)
    assert got == {
        ("c7a", "anna"): ("student", False, start, None),
        ("c7a", "skyddad"): ("student", False, start, None),
        ("c7a", "men"): ("teacher", True, start, None),  # a class's mentor is its teacher
        ("ma7a", "anna"): ("student", False, start, None),
        ("ma7a", "lar"): ("teacher", True, start, None),
    }  # Bo's membership ended in September: not in a bulk set


def test_roles_are_the_school_links_with_one_primary_role_per_user() -> None:
    r = roster()
    lars = sorted((x.role, x.role_type) for x in r.roles if x.user == "lar")
    assert lars == [("aide", "secondary"), ("teacher", "primary")]
    gun = next(u for u in r.users if u.sourced_id == "gun")
    assert (gun.primary_org, gun.primary_role) == ("sch", "guardian")


def test_guardians_and_children_are_agents_of_each_other_but_never_of_a_protected_person() -> None:
    r = roster()
    agents = {u.sourced_id: u.agents for u in r.users}
    assert agents["anna"] == ("gun",)
    assert agents["gun"] == ("anna",)  # not the protected child (R11)
    assert agents["skyddad"] == ()
    assert [(x.student, x.guardian, x.relation) for x in r.relationships] == [
        ("anna", "gun", "Vårdnadshavare")
    ]
    protected = next(u for u in r.users if u.sourced_id == "skyddad")
    assert (protected.email, protected.birth_date, protected.sex) == ("", None, None)


@pytest.mark.parametrize(
    ("how", "login"),
    [("email", "anna@skola.invalid"), ("eppn", "anna@eppn.invalid"),
     ("external:https://kommun.invalid/ad/sAMAccountName", "anna01"), ("id", "anna"),
     ("external:https://other.invalid/id", "")],
)  # fmt: skip
def test_the_login_is_the_identifier_the_settings_name(how: str, login: str) -> None:
    anna = next(u for u in roster(username=how).users if u.sourced_id == "anna")
    assert anna.username == login
    assert anna.user_ids == (("sAMAccountName", "anna01"),)


def test_a_delta_holds_what_changed_after_the_run_and_what_ended_since_as_to_be_deleted() -> None:
    d = municipality()
    modified = everything(d)
    # Run 2 renamed Anna and ended Lars's staff link; Bo's membership ended on 30 September
    # without any run writing it (the date passed).
    modified.rows["anna"] = RUN2
    modified.rows["l-lar-staff"] = RUN2
    d.links[("lar", "sch", "staff")].end_date = date(2025, 10, 13)
    delta = build_roster(d, modified, RosteringSettings(), TODAY, since=Since(1, date(2025, 9, 1)))
    assert [(u.sourced_id, u.change.status, u.change.modified) for u in delta.users] == [
        ("anna", "active", RUN2[1]),
        ("lar", "active", RUN2[1]),  # one of their links changed
    ]
    # A user in a delta comes with every role (which is primary may move to an unchanged one).
    assert sorted((x.sourced_id, x.change.status, x.role_type) for x in delta.roles) == [
        ("l-anna-student", "active", "primary"),
        ("l-lar-staff", "tobedeleted", "secondary"),
        ("l-lar-teacher", "active", "primary"),
    ]
    assert [(e.sourced_id, e.change.status) for e in delta.enrollments] == [
        ("m-c7a-bo", "tobedeleted")
    ]
    assert delta.classes == [] and delta.orgs == []
    nothing = build_roster(d, everything(d), RosteringSettings(), TODAY, since=Since(1, TODAY))
    assert (nothing.users, nothing.roles, nothing.enrollments, nothing.sessions) == ([], [], [], [])


def test_an_archived_class_and_a_user_who_left_are_to_be_deleted_in_a_delta() -> None:
    d = municipality()
    modified = everything(d)
    d.groups["ma7a"].end_date = date(2025, 10, 10)
    d.groups["ma7a"].status = "archived"
    modified.rows["ma7a"] = RUN2
    d.links[("bo", "sch", "student")].end_date = date(2025, 10, 10)
    modified.rows["l-bo-student"] = RUN2
    delta = build_roster(d, modified, RosteringSettings(), TODAY, since=Since(1, date(2025, 9, 1)))
    assert [(k.sourced_id, k.change.status) for k in delta.classes] == [("ma7a", "tobedeleted")]
    bo = next(u for u in delta.users if u.sourced_id == "bo")
    assert (bo.enabled, bo.change.status) == (False, "tobedeleted")
    bulk = build_roster(d, modified, RosteringSettings(), TODAY)
    assert "ma7a" not in {k.sourced_id for k in bulk.classes}
    assert "bo" not in {u.sourced_id for u in bulk.users}
    assert all(e.klass != "ma7a" for e in bulk.enrollments)


def test_ids_of_what_the_directory_holds_no_row_for_are_the_same_in_every_export() -> None:
    first, again = roster(), roster()
    assert [s.sourced_id for s in first.sessions] == [s.sourced_id for s in again.sessions]
    # Pinned: a platform keys its records by these; they must never change between versions.
    assert first.orgs[0].sourced_id == derived_id("district", "Huvudman")
    assert derived_id("district", "Huvudman") == "6708b52b-b4a2-5f45-a6a0-6c354359210c"
    assert len({s.sourced_id for s in first.sessions}) == len(first.sessions) == 5


@pytest.mark.parametrize(
    ("written", "sent"),
    [("070-174 06 95", "+46701740695"), ("+46 70 174 06 95", "+46701740695"),
     ("0046701740695", "+46701740695"), ("08-123 456", "+468123456"), ("okänt", "okänt"),
     (None, "")],
)  # fmt: skip
def test_phone_numbers_are_sent_as_international_numbers(written: str | None, sent: str) -> None:
    assert e164(written) == sent


def since(day: date) -> Since:
    return Since(1, day)


def test_r11_a_guardian_in_a_delta_loses_a_child_who_became_protected() -> None:
    d = municipality()
    modified = everything(d)
    # Run 2: Bo becomes protected (pseudonymised); the plan ends his guardianship.
    d.guardianships[("gun", "bo")] = GuardianshipRow("g-bo", "gun", "bo", "Vårdnadshavare", None)
    bulk_before = build_roster(d, modified, RosteringSettings(), TODAY)
    assert next(u for u in bulk_before.users if u.sourced_id == "gun").agents == ("anna", "bo")
    d.users["bo"] = replace(d.users["bo"], protected=True, given_name="Skyddad",
                            family_name="identitet 0B0B", email=None, birth_date=None)  # fmt: skip
    d.guardianships[("gun", "bo")].end_date = date(2025, 10, 14)
    modified.rows["g-bo"] = RUN2
    modified.rows["bo"] = RUN2
    delta = build_roster(d, modified, RosteringSettings(), TODAY, since=since(date(2025, 10, 1)))
    gun = next(u for u in delta.users if u.sourced_id == "gun")
    assert gun.agents == ("anna",)  # her record is sent again, without him
    bo = next(u for u in delta.users if u.sourced_id == "bo")
    assert (bo.given_name, bo.agents) == ("Skyddad", ())


def test_family_links_point_only_at_users_the_set_holds() -> None:
    d = municipality()
    # Gun's guardian link ended (her other child left), her guardianship of Anna did not.
    d.links[("gun", "sch", "guardian")].end_date = date(2025, 6, 30)
    bulk = build_roster(d, everything(d), RosteringSettings(), TODAY)
    held = {u.sourced_id for u in bulk.users}
    assert "gun" not in held
    assert all(set(u.agents) <= held for u in bulk.users)
    assert all({r.student, r.guardian} <= held for r in bulk.relationships)


def test_a_delta_sends_a_class_that_became_visible_with_its_members() -> None:
    d = municipality()
    today = date(2026, 8, 5)  # Ma 8A starts on 17 August: shown from 2 August (R5.4)
    delta = build_roster(
        d, everything(d), RosteringSettings(), today, since=since(date(2026, 7, 30))
    )
    assert [k.sourced_id for k in delta.classes] == ["next"]
    assert [e.sourced_id for e in delta.enrollments if e.klass == "next"] == ["m-next-anna"]
    assert "VT 2027" in {s.title for s in delta.sessions}  # its terms' läsår comes with it


def test_a_delta_sends_an_archived_class_with_its_members_as_to_be_deleted() -> None:
    d = municipality()
    d.groups["ma7a"].end_date = date(2025, 10, 10)  # the date passed; no run wrote it since
    delta = build_roster(
        d, everything(d), RosteringSettings(), TODAY, since=since(date(2025, 10, 1))
    )
    assert [(k.sourced_id, k.change.status) for k in delta.classes] == [("ma7a", "tobedeleted")]
    assert sorted((e.sourced_id, e.change.status) for e in delta.enrollments) == [
        ("m-ma7a-anna", "tobedeleted"),
        ("m-ma7a-lar", "tobedeleted"),
    ]


def test_a_delta_sends_a_user_whose_guardianship_ended_by_date() -> None:
    d = municipality()
    d.guardianships[("gun", "anna")].end_date = date(2025, 10, 5)
    delta = build_roster(
        d, everything(d), RosteringSettings(), TODAY, since=since(date(2025, 10, 1))
    )
    assert {u.sourced_id: u.agents for u in delta.users} == {"anna": (), "gun": ()}


def test_a_merged_away_account_is_to_be_deleted_in_a_delta_and_the_service_only() -> None:
    d = municipality()
    modified = everything(d)
    modified.rows["old"] = RUN2
    delta = build_roster(d, modified, RosteringSettings(), TODAY, since=since(date(2025, 10, 1)))
    assert [(u.sourced_id, u.change.status, u.enabled) for u in delta.users] == [
        ("old", "tobedeleted", False)
    ]
    served = build_roster(d, modified, RosteringSettings(), TODAY, everything=True)
    assert ("old", "tobedeleted") in {(u.sourced_id, u.change.status) for u in served.users}
    assert "old" not in {u.sourced_id for u in build_roster(d, modified, RosteringSettings(),
                                                           TODAY).users}  # fmt: skip


def test_the_service_holds_ended_records_as_to_be_deleted_and_what_is_not_shown_yet_not() -> None:
    d = municipality()
    served = build_roster(d, everything(d), RosteringSettings(), TODAY, everything=True)
    status = {e.sourced_id: e.change.status for e in served.enrollments}
    assert status["m-c7a-bo"] == "tobedeleted" and status["m-c7a-anna"] == "active"
    users = {u.sourced_id: u.change.status for u in served.users}
    assert users["gone"] == "tobedeleted" and users["anna"] == "active"
    assert "next" not in {k.sourced_id for k in served.classes}  # R5.4: not shown yet


def test_an_open_ended_old_group_is_in_this_years_terms() -> None:
    d = municipality()
    d.groups["ma7a"].start_date, d.groups["ma7a"].end_date = date(2012, 8, 20), None
    d.groups["c7a"].start_date, d.groups["c7a"].end_date = None, date(2025, 10, 1)
    served = build_roster(d, everything(d), RosteringSettings(), TODAY, everything=True)
    titles = {s.sourced_id: s.title for s in served.sessions}
    terms = {k.sourced_id: [titles[t] for t in k.terms] for k in served.classes}
    assert terms["ma7a"][-2:] == ["HT 2025", "VT 2026"] and "HT 2012" not in terms["ma7a"]
    assert len(terms["ma7a"]) == 12  # five läsår back and this one
    assert terms["c7a"] == ["HT 2025"]
