"""The roster as CSV files: a OneRoster 1.2 CSV set (bulk or delta) or a Microsoft SDS v2.1 set.

Headers are exactly the specifications' (OneRoster 1.2 CSV binding; the SDS v2.1 CSV file format),
UTF-8 without a byte order mark, CRLF line ends, RFC 4180 quoting. A set is written into a fresh
folder beside OUT and then moved into OUT file by file, so OUT never holds half a set; the files
of the format that this set does not have (demographics switched off since) are removed.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

from schoolsync.rostering.model import Change, Roster

ONEROSTER_HEADERS: dict[str, tuple[str, ...]] = {
    "academicSessions": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate",
                         "endDate", "parentSourcedId", "schoolYear"),
    "classes": ("sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId",
                "classCode", "classType", "location", "schoolSourcedId", "termSourcedIds",
                "subjects", "subjectCodes", "periods"),
    "courses": ("sourcedId", "status", "dateLastModified", "schoolYearSourcedId", "title",
                "courseCode", "grades", "orgSourcedId", "subjects", "subjectCodes"),
    "demographics": ("sourcedId", "status", "dateLastModified", "birthDate", "sex",
                     "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
                     "nativeHawaiianOrOtherPacificIslander", "white",
                     "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
                     "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
                     "publicSchoolResidenceStatus"),
    "enrollments": ("sourcedId", "status", "dateLastModified", "classSourcedId",
                    "schoolSourcedId", "userSourcedId", "role", "primary", "beginDate",
                    "endDate"),
    "orgs": ("sourcedId", "status", "dateLastModified", "name", "type", "identifier",
             "parentSourcedId"),
    "roles": ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role",
              "beginDate", "endDate", "orgSourcedId", "userProfileSourcedId"),
    "users": ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "userIds",
              "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
              "agentSourcedIds", "grades", "password", "userMasterIdentifier",
              "resourceSourcedIds", "preferredGivenName", "preferredMiddleName",
              "preferredFamilyName", "primaryOrgSourcedId", "pronouns"),
}  # fmt: skip

# Every data file the OneRoster 1.2 manifest names, in its order; those not written are "absent".
ONEROSTER_FILES = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics", "enrollments", "lineItemLearningObjectiveIds", "lineItems",
    "lineItemScoreScales", "orgs", "resources", "resultLearningObjectiveIds", "results",
    "resultScoreScales", "roles", "scoreScales", "userProfiles", "userResources", "users",
)  # fmt: skip

SDS_HEADERS: dict[str, tuple[str, ...]] = {
    "orgs": ("sourcedId", "name", "type", "parentSourcedId"),
    "users": ("sourcedId", "username", "givenName", "familyName", "password",
              "activeDirectoryMatchId", "email", "phone", "sms"),
    "roles": ("userSourcedId", "orgSourcedId", "role", "sessionSourcedId", "grade", "isPrimary",
              "roleStartDate", "roleEndDate"),
    "classes": ("sourcedId", "orgSourcedId", "title", "sessionSourcedIds", "courseSourcedId"),
    "courses": ("sourcedId", "orgSourcedId", "title", "code", "schoolYearSourcedId", "subject",
                "grade"),
    "enrollments": ("classSourcedId", "userSourcedId", "role"),
    "academicSessions": ("sourcedId", "title", "type", "schoolYear", "startDate", "endDate"),
    "relationships": ("userSourcedId", "relationshipUserSourcedId", "relationshipRole"),
    "demographics": ("userSourcedId", "sex", "birthDate", "birthCity", "birthState",
                     "birthCountry", "ethnicityCodes", "raceCodes"),
}  # fmt: skip

# The directory's roles as SDS v2.1 roles; SDS has a role for staff who do not teach.
_SDS_ROLE = {"student": "student", "teacher": "teacher", "aide": "staff"}
# The register's relation types as SDS relationship roles (a guardian by law, or another adult).
_SDS_RELATION = {"Vårdnadshavare": "guardian", "God man": "guardian"}

Row = Sequence[str]


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _stamp(value: datetime | None) -> str:
    """OneRoster's dateLastModified: UTC, milliseconds, ``Z``."""
    if value is None:
        return ""
    utc = value.astimezone(UTC) if value.tzinfo is not None else value
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _list(values: Iterable[str]) -> str:
    return ",".join(values)


class _Set:
    """A set of CSV files written into a fresh folder, then moved into place together."""

    def __init__(self, out: Path, known: Iterable[str]) -> None:
        self.out, self.known = out, [f"{name}.csv" for name in known]
        out.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=".schoolsync-", dir=out))
        self.written: list[str] = []

    def write(self, name: str, header: Sequence[str], rows: Iterable[Row]) -> int:
        count = 0
        with (self.work / f"{name}.csv").open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow(header)
            for row in rows:
                writer.writerow(row)
                count += 1
        self.written.append(f"{name}.csv")
        return count

    def commit(self) -> None:
        """Move the set into place, the manifest last (a reader that starts from the manifest
        after it changed finds the files it lists), and remove what the set does not have."""
        for name in sorted(self.written, key=lambda n: n == "manifest.csv"):
            os.replace(self.work / name, self.out / name)
        for name in self.known:
            if name not in self.written:
                (self.out / name).unlink(missing_ok=True)
        self.work.rmdir()

    def abandon(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def write_oneroster(
    roster: Roster, out: Path, *, delta: bool, demographics: bool, version: str
) -> dict[str, int]:
    """Write a OneRoster 1.2 CSV set into ``out``; returns the rows per file.

    In a bulk set ``status`` and ``dateLastModified`` are empty (the set is the whole truth); in
    a delta they say whether each record is active or to be deleted, and since when.
    """
    mode = "delta" if delta else "bulk"

    def head(change: Change) -> list[str]:
        return [change.status, _stamp(change.modified)] if delta else ["", ""]

    files: dict[str, list[Row]] = {
        "orgs": [
            [o.sourced_id, *head(o.change), o.name, o.type, o.identifier, o.parent or ""]
            for o in roster.orgs
        ],
        "academicSessions": [
            [s.sourced_id, *head(s.change), s.title, s.type, _day(s.start), _day(s.end),
             s.parent or "", s.school_year]
            for s in roster.sessions
        ],
        "courses": [
            [c.sourced_id, *head(c.change), "", c.title, c.code, "", c.org, _list(c.subjects), ""]
            for c in roster.courses
        ],
        "classes": [
            [k.sourced_id, *head(k.change), k.title, "", k.course, k.title, k.class_type, "",
             k.school, _list(k.terms), _list(k.subjects), "", ""]
            for k in roster.classes
        ],
        "users": [
            [u.sourced_id, *head(u.change), _flag(u.enabled), u.username,
             _list(f"{{{kind}:{value}}}" for kind, value in u.user_ids), u.given_name,
             u.family_name, u.middle_name, "", u.email, u.sms, "", _list(u.agents), "", "", "",
             "", "", "", "", u.primary_org or "", ""]
            for u in roster.users
        ],
        "roles": [
            [r.sourced_id, *head(r.change), r.user, r.role_type, r.role, _day(r.begin),
             _day(r.end), r.org, ""]
            for r in roster.roles
        ],
        "enrollments": [
            [e.sourced_id, *head(e.change), e.klass, e.school, e.user, e.role, _flag(e.primary),
             _day(e.begin), _day(e.end)]
            for e in roster.enrollments
        ],
    }  # fmt: skip
    if demographics:
        files["demographics"] = [
            [u.sourced_id, *head(u.change), _day(u.birth_date), u.sex or "", *[""] * 11]
            for u in roster.users
            if u.birth_date is not None or u.sex is not None
        ]
    target = _Set(out, [*ONEROSTER_FILES, "manifest"])
    try:
        counts = {
            name: target.write(name, ONEROSTER_HEADERS[name], rows) for name, rows in files.items()
        }
        manifest = [["manifest.version", "1.0"], ["oneroster.version", "1.2"]]
        manifest += [[f"file.{n}", mode if n in files else "absent"] for n in ONEROSTER_FILES]
        manifest += [["source.systemName", "schoolsync"], ["source.systemCode", version]]
        target.write("manifest", ("propertyName", "value"), manifest)
        target.commit()
    except BaseException:
        target.abandon()
        raise
    return counts


def sds_users(roster: Roster) -> tuple[set[str], list[str]]:
    """The users an SDS set can hold, and the ids of those it cannot.

    SDS refuses a user without a ``username``, and a contact (a guardian in relationships.csv)
    without an e-mail; such users are left out, with their roles, enrollments and family.
    """
    ok = {u.sourced_id for u in roster.users if u.username}
    guardians = {r.guardian for r in roster.relationships}
    ok -= {u.sourced_id for u in roster.users if u.sourced_id in guardians and not u.email}
    return ok, [u.sourced_id for u in roster.users if u.sourced_id not in ok]


def write_sds(roster: Roster, out: Path, *, demographics: bool) -> tuple[dict[str, int], int]:
    """Write a Microsoft SDS v2.1 CSV set into ``out`` (SDS reads whole sets only: no delta);
    returns the rows per file and how many users it could not hold (:func:`sds_users`)."""
    ok, left_out = sds_users(roster)
    files: dict[str, list[Row]] = {
        "orgs": [[o.sourced_id, o.name, o.type, o.parent or ""] for o in roster.orgs],
        "academicSessions": [
            [s.sourced_id, s.title, s.type, s.school_year, _day(s.start), _day(s.end)]
            for s in roster.sessions
            if s.type in ("schoolYear", "term")
        ],
        "courses": [[c.sourced_id, c.org, c.title, c.code, "", _list(c.subjects), ""]
                    for c in roster.courses],
        "classes": [[k.sourced_id, k.school, k.title, _list(k.terms), k.course]
                    for k in roster.classes],
        "users": [[u.sourced_id, u.username, u.given_name, u.family_name, "", "", u.email, "",
                   u.sms] for u in roster.users if u.sourced_id in ok],
        "roles": [
            [r.user, r.org, _SDS_ROLE.get(r.role, r.role), "", "",
             "TRUE" if r.role_type == "primary" else "FALSE", _day(r.begin), _day(r.end)]
            for r in roster.roles
            if r.role in _SDS_ROLE and r.user in ok  # guardians are contacts: relationships
        ],
        "enrollments": [[e.klass, e.user, e.role] for e in roster.enrollments if e.user in ok],
        "relationships": [
            [r.student, r.guardian, _SDS_RELATION.get(r.relation, "relative")]
            for r in roster.relationships
            if r.student in ok and r.guardian in ok
        ],
    }  # fmt: skip
    if demographics:
        files["demographics"] = [
            [u.sourced_id, u.sex or "", _day(u.birth_date), "", "", "", "", ""]
            for u in roster.users
            if (u.birth_date is not None or u.sex is not None) and u.sourced_id in ok
        ]
    target = _Set(out, SDS_HEADERS)
    try:
        counts = {name: target.write(name, SDS_HEADERS[name], rows) for name, rows in files.items()}
        target.commit()
    except BaseException:
        target.abandon()
        raise
    return counts, len(left_out)
