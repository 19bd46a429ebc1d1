"""A small builder of SS 12000 bundles for tests: a register state written the way exports are.

Only Skatteverket's test personnummer (and TF numbers) are used; names are invented.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NS = uuid.UUID("6a0e6a43-6c2b-4f53-8f5a-5d3c6d7e8f90")

# Skatteverket test personnummer (from src/schoolsync/data/testpersonnummer/allPins.json).
PNR = [
    "201201012380", "201201012398", "201201022389", "201201022397", "201201032396",
    "198101012386", "198101012394", "198101022385", "198101022393", "198101032392",
    "198101032384", "198101042383", "198101042391", "198101052390", "198101052382",
    "198101062399",
]  # fmt: skip


def uid(*parts: object) -> str:
    """A deterministic uuid from parts."""
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


@dataclass
class Bundle:
    """A register state that can be changed step by step and written to a folder."""

    organisations: list[dict[str, Any]] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    duties: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    syllabuses: list[dict[str, Any]] = field(default_factory=list)
    placements: list[dict[str, Any]] = field(default_factory=list)

    def copy(self) -> Bundle:
        """A deep copy, to change for the next read."""
        return copy.deepcopy(self)

    def unit(self, name: str, code: str, types: tuple[str, ...] = ("GR",), **extra: Any) -> str:
        """Add a Skolenhet and return its id."""
        oid = uid("org", code)
        self.organisations.append(
            {
                "id": oid,
                "meta": _meta(),
                "displayName": name,
                "organisationType": "Skolenhet",
                "schoolUnitCode": code,
                "schoolTypes": list(types),
                **extra,
            }
        )
        return oid

    def person(
        self, given: str, family: str, civic: str | None, *, key: str | None = None, **extra: Any
    ) -> str:
        """Add a person (no enrolment, duty or guardianship yet) and return its id."""
        pid = uid("person", key or civic or given)
        record: dict[str, Any] = {
            "id": pid,
            "meta": _meta(),
            "givenName": given,
            "familyName": family,
            "securityMarking": "Ingen",
            "personStatus": "Aktiv",
            **extra,
        }
        if civic is not None:
            record["civicNo"] = {"value": civic, "nationality": "SE"}
        self.persons.append(record)
        return pid

    def get(self, pid: str) -> dict[str, Any]:
        """The person record with this id."""
        return next(p for p in self.persons if p["id"] == pid)

    def enrol(
        self,
        pid: str,
        unit: str,
        start: str = "2025-08-18",
        end: str | None = None,
        school_type: str = "GR",
        **extra: Any,
    ) -> None:
        """Enrol a person at a unit."""
        enrolment: dict[str, Any] = {
            "enroledAt": {"id": unit},
            "schoolType": school_type,
            "startDate": start,
            **extra,
        }
        if end:
            enrolment["endDate"] = end
        self.get(pid).setdefault("enrolments", []).append(enrolment)

    def student(self, given: str, family: str, civic: str, unit: str, **kw: Any) -> str:
        """Add an enrolled student."""
        pid = self.person(given, family, civic)
        self.enrol(pid, unit, **kw)
        return pid

    def responsible(self, student: str, guardian: str, relation: str = "Vårdnadshavare") -> None:
        """Name a guardian of a student."""
        self.get(student).setdefault("responsibles", []).append(
            {"person": {"id": guardian}, "relationType": relation}
        )

    def duty(
        self,
        pid: str,
        unit: str,
        role: str = "Lärare",
        signature: str | None = None,
        start: str = "2025-08-01",
        end: str | None = None,
        key: str | None = None,
    ) -> str:
        """Add a duty and return its id."""
        did = uid("duty", key or f"{pid}/{unit}/{role}")
        duty: dict[str, Any] = {
            "id": did,
            "meta": _meta(),
            "person": {"id": pid},
            "dutyAt": {"id": unit},
            "dutyRole": role,
            "startDate": start,
        }
        if signature:
            duty["signature"] = signature
        if end:
            duty["endDate"] = end
        self.duties.append(duty)
        return did

    def group(
        self,
        name: str,
        unit: str,
        group_type: str = "Klass",
        members: list[str] | list[tuple[str, str | None, str | None]] = (),  # type: ignore[assignment]
        start: str = "2025-08-18",
        end: str | None = "2026-06-12",
        key: str | None = None,
    ) -> str:
        """Add a group; members are person ids or (person id, start, end)."""
        gid = uid("group", key or f"{unit}/{name}")
        memberships = []
        for member in members:
            pid, m_start, m_end = member if isinstance(member, tuple) else (member, None, None)
            entry: dict[str, Any] = {"person": {"id": pid}}
            if m_start:
                entry["startDate"] = m_start
            if m_end:
                entry["endDate"] = m_end
            memberships.append(entry)
        group: dict[str, Any] = {
            "id": gid,
            "meta": _meta(),
            "displayName": name,
            "groupType": group_type,
            "organisation": {"id": unit},
            "startDate": start,
            "groupMemberships": memberships,
        }
        if end:
            group["endDate"] = end
        self.groups.append(group)
        return gid

    def find_group(self, gid: str) -> dict[str, Any]:
        """The group record with this id."""
        return next(g for g in self.groups if g["id"] == gid)

    def syllabus(
        self,
        subject_code: str,
        designation: str | None = None,
        course: str | None = None,
        name: str = "Ämne",
    ) -> str:
        """Add a syllabus (subject, or course when ``course`` is given)."""
        sid = uid("syllabus", subject_code, designation, course)
        record: dict[str, Any] = {
            "id": sid,
            "meta": _meta(),
            "schoolType": "GR",
            "subjectCode": subject_code,
            "subjectName": name,
            "official": True,
        }
        if designation:
            record["subjectDesignation"] = designation
        if course:
            record["courseCode"] = course
        self.syllabuses.append(record)
        return sid

    def activity(
        self,
        name: str,
        unit: str,
        groups: list[str],
        syllabus: str | None = None,
        teachers: list[str] = (),  # type: ignore[assignment]
        key: str | None = None,
    ) -> str:
        """Add an activity tying groups to a syllabus and teachers (duty ids)."""
        aid = uid("activity", key or name)
        record: dict[str, Any] = {
            "id": aid,
            "meta": _meta(),
            "displayName": name,
            "calendarEventsRequired": True,
            "startDate": "2025-08-18",
            "endDate": "2026-06-12",
            "activityType": "Undervisning",
            "groups": [{"id": g} for g in groups],
            "teachers": [{"duty": {"id": d}} for d in teachers],
            "organisation": {"id": unit},
        }
        if syllabus:
            record["syllabus"] = {"id": syllabus}
        self.activities.append(record)
        return aid

    def mentor(self, duty_id: str, group_id: str) -> None:
        """Make a duty's person the mentor of a group (assignment role Mentor)."""
        duty = next(d for d in self.duties if d["id"] == duty_id)
        duty.setdefault("assignmentRole", []).append(
            {"group": {"id": group_id}, "assignmentRoleType": "Mentor"}
        )

    def write(self, folder: Path) -> Path:
        """Write the bundle (page shape) into ``folder``; returns the folder."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in (
            "organisations", "persons", "duties", "groups", "activities", "syllabuses",
            "placements",
        ):  # fmt: skip
            data = getattr(self, name)
            if data or name in ("organisations", "persons", "duties", "groups"):
                (folder / f"{name}.json").write_text(
                    json.dumps({"data": data, "pageToken": None}, ensure_ascii=False, indent=1),
                    encoding="utf-8",
                )
        return folder


def _meta() -> dict[str, str]:
    return {"created": "2025-06-20T10:00:00+02:00", "modified": "2025-06-20T10:00:00+02:00"}


def school(with_guardian: bool = True) -> tuple[Bundle, dict[str, str]]:
    """A small school: one unit, two students, a teacher, a rektor and a guardian; class 7A
    with both students, the math group Ma 7A taught by the teacher (signature KAHO)."""
    b = Bundle()
    ids: dict[str, str] = {}
    ids["unit"] = b.unit("Norrskolan", "99990101")
    ids["elsa"] = b.student("Elsa", "Lund", PNR[0], ids["unit"])
    ids["omar"] = b.student("Omar", "Nilsson", PNR[1], ids["unit"])
    ids["karin"] = b.person("Karin", "Holm", PNR[5])
    b.duty(ids["karin"], ids["unit"], "Lärare", "KAHO")
    ids["sofia"] = b.person("Sofia", "Ek", PNR[7])
    b.duty(ids["sofia"], ids["unit"], "Rektor", "SOEK")
    ids["karin_duty"] = uid("duty", f"{ids['karin']}/{ids['unit']}/Lärare")
    ids["7A"] = b.group("7A", ids["unit"], "Klass", [ids["elsa"], ids["omar"]])
    ids["ma7a"] = b.group("Ma 7A", ids["unit"], "Undervisning", [ids["elsa"], ids["omar"]])
    ids["ma"] = b.syllabus("GRGRMAT01", "MA", name="Matematik")
    b.activity("Matematik 7A", ids["unit"], [ids["ma7a"]], ids["ma"], [ids["karin_duty"]])
    if with_guardian:
        ids["lena"] = b.person("Lena", "Lund", PNR[10])
        b.responsible(ids["elsa"], ids["lena"])
    return b, ids


def big_school(students: int = 40) -> tuple[Bundle, str, list[str]]:
    """One unit, a class with many students (TF numbers: no realistic number is invented)."""
    b = Bundle()
    unit = b.unit("Storskolan", "99990500")
    ids = [b.student("Elev", f"Nummer{n}", f"20120{(n % 9) + 1}01TF{n:02d}", unit)
           for n in range(students)]  # fmt: skip
    b.group("7A", unit, "Klass", ids)
    return b, unit, ids


def with_contact(b: Bundle, pid: str, email: str, mobile: str) -> None:
    """Give a person a private e-mail address and a mobile number in the register."""
    b.get(pid)["emails"] = [{"value": email, "type": "Privat"}]
    b.get(pid)["phoneNumbers"] = [{"value": mobile, "type": "Hem", "mobile": True}]


class GeneratedRegister:
    """The persons and duties of a bundle ``schoolsync generate`` wrote, changed in place and
    written back (the R11 tests of a generated municipality, at both levels)."""

    def __init__(self, bundle: Path) -> None:
        self.bundle = bundle
        self.pages = sorted((bundle / "persons").glob("*.json"))
        self.persons: list[dict[str, Any]] = []
        for page in self.pages:
            self.persons += json.loads(page.read_text(encoding="utf-8"))["data"]
        self.duties: list[dict[str, Any]] = json.loads(
            (bundle / "duties.json").read_text(encoding="utf-8")
        )["data"]

    def write(self) -> None:
        for page in self.pages:
            page.unlink()
        (self.bundle / "persons" / "page-0001.json").write_text(
            json.dumps({"data": self.persons, "pageToken": None}, ensure_ascii=False), "utf-8"
        )
        (self.bundle / "duties.json").write_text(
            json.dumps({"data": self.duties, "pageToken": None}, ensure_ascii=False), "utf-8"
        )

    def secrets_of(self, person: dict[str, Any]) -> list[str]:
        """What must never show once the person is protected."""
        out = [f"{person['givenName']} {person['familyName']}"]
        if person.get("civicNo"):
            value = person["civicNo"]["value"]
            out += [value, f"{value[:8]}-{value[8:]}"]
        out += [e["value"] for e in person.get("emails", [])]
        out += person.get("eduPersonPrincipalNames", [])
        return out  # not the address: the family that lives there shares it

    def protected_secrets(self) -> list[str]:
        """The secrets of everyone protected from the start."""
        return [
            secret
            for person in self.persons
            if person.get("securityMarking") != "Ingen"
            for secret in self.secrets_of(person)
        ]

    def usable(self) -> list[dict[str, Any]]:
        """Persons to protect on purpose: not protected yet, with a personnummer and a full
        name nobody else has (so that a search of the outputs for it means them)."""
        full_names = Counter(f"{p['givenName']} {p['familyName']}" for p in self.persons)
        return [
            p
            for p in self.persons
            if p.get("securityMarking") == "Ingen"
            and full_names[f"{p['givenName']} {p['familyName']}"] == 1
            and bool(p.get("civicNo"))
        ]

    def students_and_a_teacher(self) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The usable students, and a usable person with a signed duty."""
        usable = self.usable()
        teacher_ids = {d["person"]["id"] for d in self.duties if d.get("signature")}
        students = [p for p in usable if p.get("enrolments")]
        return students, next(p for p in usable if p["id"] in teacher_ids)
