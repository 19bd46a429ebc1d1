"""Issues a sync run finds: what is wrong in the input, with the rule it breaks and the fix.

An issue never stops a run by itself; errors skip the record they concern, warnings and infos only
report. Every code is kebab-case and belongs to one rule of ``spec/RULES.md``. Messages are plain
sentences that end with what the administrator should do, and never contain a full personnummer
or anything about a person with protected identity (R11).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class IssueKind:
    """A kind of issue: its code, severity and the rule it belongs to."""

    code: str
    severity: Severity
    rule: str
    title: str


_KINDS = [
    IssueKind("invalid-civic-no", "error", "R1.1", "Invalid personnummer"),
    IssueKind("missing-civic-no", "error", "R1.1", "Person without personnummer"),
    IssueKind("civic-no-changed", "info", "R1.3", "Personnummer changed under a stable id"),
    IssueKind("civic-no-conflict", "error", "R1.3", "New personnummer already taken"),
    IssueKind("tf-number-merged", "info", "R1.5", "Temporary number merged"),
    IssueKind("possible-civic-no-change", "warning", "R1.6", "Possible personnummer change"),
    IssueKind("duplicate-civic-no", "error", "R1.7", "Personnummer twice in one read"),
    IssueKind("duplicate-id", "error", "R1.7", "Register id twice in one read"),
    IssueKind("invalid-record", "error", "R1.1", "Record that cannot be read"),
    IssueKind("invalid-element", "warning", "R1.1", "Part of a record that cannot be read"),
    IssueKind("assumed-value", "info", "R9", "Value read by assumption, not as written"),
    IssueKind("absence-ending-suspended", "warning", "R3.1", "Absence from the read not used"),
    IssueKind("unknown-unit", "warning", "R4.2", "Reference to a unit that is not a school"),
    IssueKind("duplicate-unit-code", "warning", "R4.2", "Two units with one skolenhetskod"),
    IssueKind("unknown-reference", "warning", "R9", "Reference to a missing record"),
    IssueKind("duty-without-person", "info", "R4.1", "Duty without a person"),
    IssueKind("protected-identity-excluded", "info", "R11", "Protected persons left out"),
    IssueKind("security-marking-missing", "warning", "R11", "No securityMarking in an API read"),
    IssueKind("protected-identity-pseudonymised", "info", "R11", "Protected persons pseudonymised"),
    IssueKind("signature-conflict", "warning", "R4.3", "Different signatures on different units"),
    IssueKind("signature-duplicate", "error", "R4.4", "Two people with one signature"),
    IssueKind("class-name-comma", "error", "R5.2", "Comma in a class name"),
    IssueKind("group-renamed", "info", "R5.3", "Renamed under a stable id"),
    IssueKind("possible-rename", "warning", "R5.3", "Possible rename done in the wrong order"),
    IssueKind("rename-pending", "warning", "R5.3", "Rename not yet done in the register"),
    IssueKind("group-name-reused", "warning", "R6.3", "Group name reused for a new term"),
    IssueKind("duplicate-group-name", "error", "R6.1", "Two groups with one name"),
    IssueKind("schedule-bad-row", "warning", "R8", "Schedule row that makes no sense"),
    IssueKind("schedule-unknown-group", "warning", "R8.3", "Lesson for an unknown group"),
    IssueKind("schedule-unknown-signature", "warning", "R8.3", "Lesson with an unknown signature"),
    IssueKind("schedule-teacher-not-in-group", "warning", "R8.1", "Teacher not in the group"),
    IssueKind("schedule-class-no-subject-group", "warning", "R8.2", "No group for class+subject"),
    IssueKind("schedule-class-mixed", "warning", "R8.2", "Group mixes classes"),
    IssueKind("api-endpoint-unavailable", "warning", "R10", "An API endpoint was not read"),
    IssueKind("api-full-reads", "info", "R10", "The API allows full reads only"),
    IssueKind("lock-missing-data", "error", "R10", "A kind of data is missing from the read"),
    IssueKind("lock-mass-change", "error", "R10", "Too many users or memberships would end"),
]

KINDS: dict[str, IssueKind] = {k.code: k for k in _KINDS}


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing a run found.

    Attributes:
        code: The issue code (a key of ``KINDS``).
        message: A sentence: what, where, and what to do.
        subject: What it is about, in the admin's words (a masked personnummer, a group name,
            a file and record); never a full personnummer.
        persons: Register ids of the persons the message names. Never shown; stored so that
            every issue about a person is scrubbed when they become protected (R11).
    """

    code: str
    message: str
    subject: str = ""
    persons: tuple[str, ...] = ()

    @property
    def severity(self) -> Severity:
        """The severity of this issue's code."""
        return KINDS[self.code].severity

    @property
    def rule(self) -> str:
        """The rule id this issue's code belongs to."""
        return KINDS[self.code].rule

    def as_dict(self) -> dict[str, str]:
        """The issue in the run report's JSON shape."""
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "rule": self.rule,
            "subject": self.subject,
        }


def issue(code: str, message: str, subject: str = "", persons: tuple[str, ...] = ()) -> Issue:
    """Make an issue, checking that its code is known.

    Args:
        code: A code from ``KINDS``.
        message: What, where, what to do.
        subject: What it is about (never a full personnummer).
        persons: Register ids of the persons the message names.

    Returns:
        The issue.
    """
    if code not in KINDS:
        raise KeyError(f"unknown issue code {code!r}")
    return Issue(code, message, subject, persons)


def sort_issues(issues: list[Issue]) -> list[Issue]:
    """Issues in report order: errors first, then by code and subject."""
    return sorted(issues, key=lambda i: (SEVERITY_ORDER[i.severity], i.code, i.subject, i.message))
