"""Serialises the generated records as an SS 12000 bundle directory.

Every file has the API's page shape ``{"data": [...], "pageToken": ...}`` with one entity per
line. Persons are split into ``persons/page-0001.json`` … of ``page_size`` entities; every page
but the last carries an opaque ``pageToken``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .context import AD_CONTEXT, MUNICIPALITY_CODE, Context
from .ids import ref, timestamp
from .model import Activity, Duty, Enrolment, Group, Organisation, Person, Syllabus
from .names import Address

Json = dict[str, Any]


def _dump(entity: Json) -> str:
    return json.dumps(entity, ensure_ascii=False)


def _write_page(path: Path, entities: Iterable[Json], token: str | None) -> int:
    lines = [_dump(entity) for entity in entities]
    tail = "null" if token is None else json.dumps(token)
    body = ",\n".join(lines)
    path.write_text(f'{{"data": [\n{body}\n], "pageToken": {tail}}}\n', encoding="utf-8")
    return len(lines)


def page_token(page: int) -> str:
    """Return the opaque token that asks for persons page ``page``."""
    return base64.urlsafe_b64encode(f"persons:page={page}".encode()).decode().rstrip("=")


def _meta(ctx: Context, created: Any = None) -> Json:
    first = timestamp(created or ctx.base_day)
    return {"created": first, "modified": max(first, timestamp(ctx.base_day))}


def _address(address: Address, kind: str) -> Json:
    return {
        "type": kind,
        "streetAddress": address.street,
        "locality": address.locality,
        "postalCode": address.postal_code,
        "municipalityCode": MUNICIPALITY_CODE,
        "country": "Sverige",
    }


def organisation_json(ctx: Context, org: Organisation) -> Json:
    """Return the SS 12000 form of an organisation."""
    out: Json = {"id": org.id, "meta": _meta(ctx), "displayName": org.display_name}
    out["organisationType"] = org.organisation_type
    if org.code:
        out["organisationCode"] = org.code
    if org.organisation_type == "Huvudman":
        out["organisationNumber"] = "0000000000"
    if org.parent:
        out["parentOrganisation"] = ref(org.parent)
    if org.school_unit_code:
        out["schoolUnitCode"] = org.school_unit_code
    if org.school_types:
        out["schoolTypes"] = list(org.school_types)
    out["municipalityCode"] = MUNICIPALITY_CODE
    if org.email:
        out["email"] = org.email
    if org.address:
        out["address"] = _address(org.address, "Besöksadress")
    if org.start:
        out["startDate"] = org.start.isoformat()
    if org.end:
        out["endDate"] = org.end.isoformat()
    return out


def _enrolment_json(enrolment: Enrolment) -> Json:
    out: Json = {"enroledAt": ref(enrolment.unit), "schoolType": enrolment.school_type}
    if enrolment.school_year is not None:
        out["schoolYear"] = enrolment.school_year
    out["startDate"] = enrolment.start.isoformat()
    if enrolment.end:
        out["endDate"] = enrolment.end.isoformat()
    if enrolment.cancelled:
        out["cancelled"] = True
    return out


def person_json(ctx: Context, person: Person, names: dict[str, str]) -> Json:
    """Return the SS 12000 form of a person; ``names`` gives responsibles' display names."""
    out: Json = {"id": person.id, "meta": _meta(ctx, person.created), "givenName": person.given}
    if person.middle:
        out["middleName"] = person.middle
    out["familyName"] = person.family
    out["sex"] = person.sex
    out["birthDate"] = person.birth_date.isoformat()
    out["civicNo"] = {"value": person.civic_no, "nationality": "SE"}
    if person.eppn:
        out["eduPersonPrincipalNames"] = [person.eppn]
    if person.account:
        ad = {"value": person.account, "context": AD_CONTEXT, "globallyUnique": False}
        out["externalIdentifiers"] = [ad]
    if person.email:
        out["emails"] = [{"value": person.email, "type": person.email_type}]
    if person.phone:
        out["phoneNumbers"] = [{"value": person.phone, "type": person.phone_type, "mobile": True}]
    if person.address:
        out["addresses"] = [_address(person.address, "Folkbokföring")]
    out["securityMarking"] = person.security_marking
    out["personStatus"] = person.status
    if person.enrolments:
        out["enrolments"] = [_enrolment_json(e) for e in person.enrolments]
    if person.responsibles:
        out["responsibles"] = [
            {"person": {"id": pid, "displayName": names[pid]}, "relationType": relation}
            for pid, relation in person.responsibles
        ]
    return out


def duty_json(ctx: Context, duty: Duty) -> Json:
    """Return the SS 12000 form of a duty."""
    out: Json = {"id": duty.id, "meta": _meta(ctx), "person": ref(duty.person)}
    out.update(dutyAt=ref(duty.unit), dutyRole=duty.role, signature=duty.signature)
    out.update(dutyPercent=duty.percent, startDate=duty.start.isoformat())
    if duty.end:
        out["endDate"] = duty.end.isoformat()
    if duty.assignments:
        out["assignmentRole"] = [
            {"group": ref(a.group), "assignmentRoleType": a.role_type, "startDate": str(a.start)}
            for a in duty.assignments
        ]
    return out


def group_json(ctx: Context, group: Group) -> Json:
    """Return the SS 12000 form of a group with its memberships."""
    out: Json = {"id": group.id, "meta": _meta(ctx), "displayName": group.display_name}
    out["groupType"] = group.group_type
    if group.school_type:
        out["schoolType"] = group.school_type
    out["organisation"] = ref(group.organisation)
    out["startDate"] = group.start.isoformat()
    out["endDate"] = group.end.isoformat()
    members = []
    for member in group.members:
        entry: Json = {"person": ref(member.person), "startDate": member.start.isoformat()}
        if member.end:
            entry["endDate"] = member.end.isoformat()
        members.append(entry)
    out["groupMemberships"] = members
    return out


def activity_json(ctx: Context, activity: Activity) -> Json:
    """Return the SS 12000 form of an activity."""
    out: Json = {"id": activity.id, "meta": _meta(ctx), "displayName": activity.display_name}
    out.update(calendarEventsRequired=True, activityType="Undervisning")
    out.update(startDate=activity.start.isoformat(), endDate=activity.end.isoformat())
    out["groups"] = [ref(g) for g in activity.groups]
    out["teachers"] = [{"duty": ref(t.duty), "grader": t.grader} for t in activity.teachers]
    out["organisation"] = ref(activity.organisation)
    out["syllabus"] = ref(activity.syllabus)
    return out


def syllabus_json(ctx: Context, syllabus: Syllabus) -> Json:
    """Return the SS 12000 form of a syllabus."""
    out: Json = {"id": syllabus.id, "meta": _meta(ctx), "schoolType": syllabus.school_type}
    optional = {
        "subjectCode": syllabus.subject_code,
        "subjectName": syllabus.subject_name,
        "subjectDesignation": syllabus.designation,
        "courseCode": syllabus.course_code,
        "courseName": syllabus.course_name,
        "points": syllabus.points,
        "startSchoolYear": syllabus.start_year,
        "endSchoolYear": syllabus.end_year,
        "curriculum": syllabus.curriculum,
        "languageCode": syllabus.language_code,
    }
    out.update((key, value) for key, value in optional.items() if value is not None)
    out["official"] = True
    return out


def _pages(persons: list[Person], size: int) -> Iterator[tuple[int, list[Person]]]:
    for start in range(0, max(len(persons), 1), size):
        yield start // size + 1, persons[start : start + size]


def write_bundle(ctx: Context, out_dir: Path, page_size: int) -> int:
    """Write the bundle files into ``out_dir``, replacing earlier person pages.

    Returns:
        The number of persons pages written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    persons_dir = out_dir / "persons"
    persons_dir.mkdir(exist_ok=True)
    for old in sorted(persons_dir.glob("page-*.json")):
        old.unlink()
    organisations = (organisation_json(ctx, o) for o in ctx.organisations)
    _write_page(out_dir / "organisations.json", organisations, None)
    names = {p.id: p.full_name for p in ctx.persons}
    pages = -(-len(ctx.persons) // page_size) or 1
    for number, chunk in _pages(ctx.persons, page_size):
        token = page_token(number + 1) if number < pages else None
        path = persons_dir / f"page-{number:04d}.json"
        _write_page(path, (person_json(ctx, p, names) for p in chunk), token)
    _write_page(out_dir / "duties.json", (duty_json(ctx, d) for d in ctx.duties), None)
    _write_page(out_dir / "groups.json", (group_json(ctx, g) for g in ctx.groups), None)
    activities = (activity_json(ctx, a) for a in ctx.activities)
    _write_page(out_dir / "activities.json", activities, None)
    syllabuses = (syllabus_json(ctx, s) for s in ctx.syllabuses.values())
    _write_page(out_dir / "syllabuses.json", syllabuses, None)
    return pages
