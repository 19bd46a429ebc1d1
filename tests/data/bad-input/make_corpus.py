"""Write the bad-input corpus: one folder per broken input, each built from the example bundle.

Run from anywhere: ``python tests/data/bad-input/make_corpus.py``. The script is deterministic and
idempotent: it removes every case folder it finds (a folder holding ``case.json``) and writes all
cases again, so its output can be committed and checked for drift.

Each case folder holds ``case.json``::

    {"description": "...", "expect": "issue" | "error" | "held" | "ok",
     "mention": "<text the stderr (error) or an issue's code or message (issue, held) names>",
     "sources": ["bundle", "schedule.txt"], "leaves": ["<civic_no>", ...]}

and the sources it names, relative to the folder: ``bundle/`` (a whole SS 12000 bundle, the
example bundle with one thing changed) and/or Novaschem text exports (``*.txt``). ``expect``:

- ``issue``: exit 0, and the run report lists an issue whose code or message holds ``mention``;
- ``ok``: exit 0 (the input is odd but fine);
- ``error``: exit 1 with a sentence on stderr that holds ``mention`` (the file), nothing applied;
- ``held``: exit 3, a safety lock holds the run, nothing applied.

``leaves`` (optional) lists the civic numbers of users who really left in the case's input: they
must end, and nobody else may.

A git checkout does not keep empty folders, so a bundle folder that must be empty holds a
``.gitkeep`` file; the test leaves that file out when it copies the case.
"""

from __future__ import annotations

import copy
import json
import random
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
EXAMPLE = ROOT / "tests" / "data" / "example-bundle"

SCHOOL_CODE = "99990001"  # Exempelskolan 7-9
MISSING_ID = "00000000-0000-4000-8000-00000000dead"
HUGE = 5 * 1024 * 1024  # about the size in bytes of the cases with one huge line

# Persons of the example bundle, by the file and index they are at.
ELSA = ("persons/page1.json", 5)  # student with two enrolments and two guardians
LIAM = ("persons/page2.json", 0)  # student with one enrolment
NOAH = ("persons/page2.json", 2)  # student with a TF number and two guardians


def _replace_once(data: str, old: str, new: str) -> str:
    """``data`` with ``old`` replaced by ``new``; ``old`` must occur exactly once."""
    if data.count(old) != 1:
        raise ValueError(f"{old!r} occurs {data.count(old)} times, not once")
    return data.replace(old, new)


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class BundleFiles:
    """The example bundle's files in memory; JSON files are parsed on first change."""

    def __init__(self) -> None:
        self.raw: dict[str, bytes] = {
            p.relative_to(EXAMPLE).as_posix(): p.read_bytes()
            for p in sorted(EXAMPLE.rglob("*"))
            if p.is_file()
        }
        self.parsed: dict[str, Any] = {}

    def json(self, rel: str) -> Any:
        """The parsed content of a file, to change in place (written back as indented JSON)."""
        if rel not in self.parsed:
            self.parsed[rel] = json.loads(self.raw[rel].decode("utf-8"))
        return self.parsed[rel]

    def records(self, rel: str) -> list[Any]:
        """The ``data`` array of a file."""
        data: list[Any] = self.json(rel)["data"]
        return data

    def record(self, where: tuple[str, int]) -> Any:
        """One record, by (file, index)."""
        return self.records(where[0])[where[1]]

    def text(self, rel: str) -> str:
        """A file's text as it will be written (its changes included)."""
        return self.bytes_of(rel).decode("utf-8")

    def bytes_of(self, rel: str) -> bytes:
        if rel in self.parsed:
            return _dump(self.parsed[rel])
        return self.raw[rel]

    def set_bytes(self, rel: str, data: bytes) -> None:
        """Replace a file's bytes (dropping any parsed change)."""
        self.parsed.pop(rel, None)
        self.raw[rel] = data

    def remove(self, rel: str) -> None:
        self.parsed.pop(rel, None)
        self.raw.pop(rel, None)

    def write(self, dest: Path) -> None:
        dest.mkdir(parents=True)
        for rel in sorted(self.raw):
            path = dest / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.bytes_of(rel))
        if not self.raw:
            (dest / ".gitkeep").write_bytes(b"")


@dataclass
class Case:
    """One broken input and what it must lead to."""

    name: str
    description: str
    expect: str
    mention: str
    bundle: Callable[[BundleFiles], None] | None = None
    schedules: dict[str, Callable[[], bytes]] = field(default_factory=dict)
    leaves: list[str] = field(default_factory=list)

    def write(self, root: Path) -> None:
        folder = root / self.name
        folder.mkdir()
        sources = []
        if self.bundle is not None:
            files = BundleFiles()
            self.bundle(files)
            files.write(folder / "bundle")
            sources.append("bundle")
        for name, make in self.schedules.items():
            (folder / name).write_bytes(make())
            sources.append(name)
        meta = {
            "description": self.description,
            "expect": self.expect,
            "mention": self.mention,
            "sources": sources,
            **({"leaves": self.leaves} if self.leaves else {}),
        }
        (folder / "case.json").write_bytes(_dump(meta))


# --- helpers for the cases -------------------------------------------------------------------


def _cut_inside(text: str, marker: str) -> bytes:
    """The text up to the middle of the first record at or after ``marker`` (a cut-off export)."""
    start = text.index(marker)
    end = text.index("\n    }", start)
    return text[: (start + end) // 2].encode("utf-8")


def _schedule(*lessons: Any, **head: Any) -> bytes:
    builder = _schedule_builder()
    schedule = builder.Schedule(lessons=list(lessons), school_id=SCHOOL_CODE, **head)
    return schedule.text().encode("cp1252")


def _lesson(group: str = "Matematik 7A", **kwargs: Any) -> Any:
    return _schedule_builder().Lesson(group, teachers=kwargs.pop("teachers", "KAHO"), **kwargs)


def _schedule_builder() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests import schedule_builder

    return schedule_builder


def _valid_schedule() -> bytes:
    return _schedule(
        _lesson(), _lesson("Svenska åk 7", subject="SV", teachers="JOBE", day="Tisdag")
    )


# --- the cases -------------------------------------------------------------------------------


def truncated_persons_page(b: BundleFiles) -> None:
    text = b.text("persons/page2.json")
    b.set_bytes("persons/page2.json", _cut_inside(text, '"givenName": "Noah"'))


def truncated_groups(b: BundleFiles) -> None:
    b.set_bytes("groups.json", _cut_inside(b.text("groups.json"), '"displayName": "Svenska åk 7"'))


def persons_page_in_cp1252(b: BundleFiles) -> None:
    b.set_bytes("persons/page2.json", b.text("persons/page2.json").encode("cp1252"))


def organisations_in_utf16(b: BundleFiles) -> None:
    b.set_bytes("organisations.json", b.text("organisations.json").encode("utf-16"))


def persons_page_with_bom(b: BundleFiles) -> None:
    b.set_bytes("persons/page1.json", b"\xef\xbb\xbf" + b.raw["persons/page1.json"])


def enroled_at_null(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"][0]["enroledAt"] = None


def person_record_null(b: BundleFiles) -> None:
    b.records("persons/page2.json").insert(1, None)


def person_replaced_by_null(b: BundleFiles) -> None:
    b.records(LIAM[0])[LIAM[1]] = None


def data_null(b: BundleFiles) -> None:
    b.json("persons/page2.json")["data"] = None


def enrolment_start_impossible(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"][0]["startDate"] = "2025-02-30"


def organisation_start_impossible(b: BundleFiles) -> None:
    b.records("organisations.json")[2]["startDate"] = "2025-02-30"


def birth_date_impossible(b: BundleFiles) -> None:
    b.record(ELSA)["birthDate"] = "2012-13-01"


def duty_start_number(b: BundleFiles) -> None:
    b.records("duties.json")[1]["startDate"] = 20250801


def group_start_number(b: BundleFiles) -> None:
    b.records("groups.json")[0]["startDate"] = 20250818


def enrolment_school_type_unknown(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"][0]["schoolType"] = "XYZ"


def organisation_type_unknown(b: BundleFiles) -> None:
    b.records("organisations.json")[2]["organisationType"] = "Skolhus"


def group_type_unknown(b: BundleFiles) -> None:
    b.records("groups.json")[2]["groupType"] = "Klubb"


def duty_role_unknown(b: BundleFiles) -> None:
    b.records("duties.json")[0]["dutyRole"] = "Vaktmästare"


def duplicate_person_id(b: BundleFiles) -> None:
    """The same record on both pages, as a paging API that shifted between requests gives it."""
    b.records("persons/page1.json").append(copy.deepcopy(b.record(LIAM)))


def duplicate_civic_no(b: BundleFiles) -> None:
    twin = copy.deepcopy(b.record(LIAM))
    twin["id"] = "4c8b80cf-0000-4000-8000-000000000002"
    twin["civicNo"] = copy.deepcopy(b.record(NOAH)["civicNo"])
    twin["givenName"] = "Tvilling"
    b.records("persons/page2.json").append(twin)


def duplicate_organisation_id(b: BundleFiles) -> None:
    orgs = b.records("organisations.json")
    twin = copy.deepcopy(orgs[2])
    twin["displayName"] = "Exempelskolan 7-9 (kopia)"
    orgs.append(twin)


def extra_enrolment_unknown_unit(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"].append(
        {"enroledAt": {"id": MISSING_ID}, "schoolType": "GR", "startDate": "2025-08-18"}
    )


def only_enrolment_unknown_unit(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"][0]["enroledAt"]["id"] = MISSING_ID


def responsible_unknown(b: BundleFiles) -> None:
    b.record(NOAH)["responsibles"].append(
        {"person": {"id": MISSING_ID}, "relationType": "Vårdnadshavare"}
    )


def activity_unknown_group(b: BundleFiles) -> None:
    b.records("activities.json")[0]["groups"][0]["id"] = MISSING_ID


def event_unknown_activity(b: BundleFiles) -> None:
    b.records("calendarEvents.json")[0]["activity"]["id"] = MISSING_ID


def empty_folder(b: BundleFiles) -> None:
    for rel in list(b.raw):
        b.remove(rel)


def zero_byte_duties(b: BundleFiles) -> None:
    b.set_bytes("duties.json", b"")


def whitespace_groups(b: BundleFiles) -> None:
    b.set_bytes("groups.json", b"  \r\n\t\n   \n")


def huge_middle_name(b: BundleFiles) -> None:
    page = b.json("persons/page2.json")
    page["data"][LIAM[1]]["middleName"] = "Lång" * (HUGE // 5)
    b.set_bytes("persons/page2.json", json.dumps(page, ensure_ascii=False).encode("utf-8"))


def huge_whitespace_line(b: BundleFiles) -> None:
    page = json.dumps(b.json("persons/page2.json"), ensure_ascii=False, separators=(",", ":"))
    gaps = page.count("},{")
    padded = page.replace("},{", "}," + " " * (HUGE // gaps) + "{")
    b.set_bytes("persons/page2.json", padded.encode("utf-8"))


def object_without_data(b: BundleFiles) -> None:
    b.set_bytes("groups.json", b'{"items": []}\n')


def file_is_number(b: BundleFiles) -> None:
    b.set_bytes("duties.json", b"42\n")


def file_is_string(b: BundleFiles) -> None:
    b.set_bytes("activities.json", b'"activities"\n')


def page_chain_cut(b: BundleFiles) -> None:
    b.remove("persons/page2.json")


def given_name_number(b: BundleFiles) -> None:
    b.record(LIAM)["givenName"] = 42


def enrolments_string(b: BundleFiles) -> None:
    b.record(LIAM)["enrolments"] = "none"


def cancelled_maybe(b: BundleFiles) -> None:
    b.records("calendarEvents.json")[0]["cancelled"] = "maybe"


def no_persons(b: BundleFiles) -> None:
    b.remove("persons/page1.json")
    b.remove("persons/page2.json")


def no_groups(b: BundleFiles) -> None:
    b.json("groups.json")["data"] = []


def family_left(b: BundleFiles) -> None:
    """A student and both guardians are gone from the read, and from the student's groups."""
    gone = {b.record(NOAH)["id"], *(x["person"]["id"] for x in b.record(NOAH)["responsibles"])}
    page = b.json("persons/page2.json")
    page["data"] = [p for p in page["data"] if p["id"] not in gone]
    for group in b.records("groups.json"):
        members = group.get("groupMemberships", [])
        group["groupMemberships"] = [m for m in members if m["person"]["id"] not in gone]


def civic_no_invalid(b: BundleFiles) -> None:
    b.record(LIAM)["civicNo"]["value"] = "201201022380"  # wrong check digit


def civic_no_null(b: BundleFiles) -> None:
    b.record(LIAM)["civicNo"] = None


def deeply_nested(b: BundleFiles) -> None:
    b.set_bytes("groups.json", b"[" * 100_000 + b"]" * 100_000)


def nan_seats(b: BundleFiles) -> None:
    text = _replace_once(b.text("rooms.json"), '"seats": 120', '"seats": NaN')
    b.set_bytes("rooms.json", text.encode("utf-8"))


def lone_surrogate_name(b: BundleFiles) -> None:
    text = _replace_once(b.text("persons/page2.json"), '"Liam"', '"Li\\ud800am"')
    b.set_bytes("persons/page2.json", text.encode("utf-8"))


def nul_in_name(b: BundleFiles) -> None:
    b.record(LIAM)["familyName"] = "Sjö\u0000berg"


def family_name_changed(b: BundleFiles) -> None:
    b.record(LIAM)["familyName"] = "Sjöbergsson"


def schedule_cut_mid_row() -> bytes:
    text = _schedule(_lesson(), _lesson(day="Onsdag"), _lesson(day="Fredag")).decode("cp1252")
    text = text.rstrip("\r\n")
    last = text.rfind("\r\n")
    return text[: last + (len(text) - last) // 2].encode("cp1252")


def schedule_without_tables() -> bytes:
    text = _schedule(_lesson()).decode("cp1252")
    return _replace_once(text, "[Tables]\r\n", "").encode("cp1252")


def schedule_placeholder_row() -> bytes:
    return _schedule(_lesson(), _lesson(day="7", start="0:00", length="2210"))


def schedule_saturday() -> bytes:
    return _schedule(_lesson(), _lesson(day="Lördag"))


def schedule_bad_weeks() -> bytes:
    return _schedule(_lesson(), _lesson(day="Tisdag", weeks="x-y"))


def schedule_garbage() -> bytes:
    return random.Random(12000).randbytes(4096)


def schedule_not_novaschem() -> bytes:
    return "Förnamn;Efternamn;Klass\r\nElsa;Lund;7A\r\nOmar;Nilsson;7A\r\n".encode("cp1252")


def schedule_bad_start_time() -> bytes:
    return _schedule(_lesson(), _lesson(day="Tisdag", start="25:99"))


def schedule_without_offset_year() -> bytes:
    text = _schedule(_lesson()).decode("cp1252")
    return _replace_once(text, "OffsetYear=31\r\n", "").encode("cp1252")


def schedule_utf8_bom() -> bytes:
    return b"\xef\xbb\xbf" + _schedule(_lesson()).decode("cp1252").encode("utf-8")


def schedule_utf16() -> bytes:
    return _schedule(_lesson()).decode("cp1252").encode("utf-16")


def schedule_header_only() -> bytes:
    return _schedule()


def schedule_without_final_blank_line() -> bytes:
    return _schedule(_lesson(), _lesson(day="Onsdag")).rstrip(b"\r\n") + b"\r\n"


def schedule_stray_cp1252_byte() -> bytes:
    text = _schedule(*(_lesson(start=f"{8 + n}:10") for n in range(4))).decode("cp1252")
    stray = _replace_once(text, "Måndag\t9:10", "M\x00ndag\t9:10").encode("utf-8")
    return stray.replace(b"\x00", b"\xe5")  # one cp1252 å in an otherwise UTF-8 file


def schedule_base_year_9968() -> bytes:
    text = _schedule(_lesson()).decode("cp1252")
    return _replace_once(text, "BaseYear=1994", "BaseYear=9968").encode("cp1252")


CASES = [
    Case("truncated-persons-page", "persons/page2.json cut off in the middle of a record.",
         "error", "persons/page2.json, line", truncated_persons_page),
    Case("truncated-groups", "groups.json cut off in the middle of a record.",
         "error", "groups.json, line", truncated_groups),
    Case("persons-page-cp1252", "persons/page2.json saved as cp1252 (å/ä/ö are not UTF-8).",
         "error", "persons/page2.json, line", persons_page_in_cp1252),
    Case("organisations-utf16", "organisations.json saved as UTF-16 with a byte-order mark.",
         "error", "organisations.json, line 1, column 1", organisations_in_utf16),
    Case("persons-page-utf8-bom", "persons/page1.json in UTF-8 with a byte-order mark: fine.",
         "ok", "", persons_page_with_bom),
    Case("enroled-at-null", "A student's enrolments[0].enroledAt is null.",
         "issue", "invalid-record", enroled_at_null),
    Case("person-record-null", "A null among the person records (every person still there).",
         "issue", "invalid-record", person_record_null),
    Case("person-replaced-by-null", "A student's person record replaced by null: the record "
         "cannot be read, so nobody may be ended.",
         "issue", "invalid-record", person_replaced_by_null),
    Case("persons-data-null", 'persons/page2.json has "data": null.',
         "error", "persons/page2.json", data_null),
    Case("enrolment-start-date-impossible", 'A student\'s enrolment has "startDate": '
         '"2025-02-30".', "issue", "invalid-record", enrolment_start_impossible),
    Case("organisation-start-date-impossible", 'A school unit has "startDate": "2025-02-30".',
         "error", "organisations.json: organisation record 3", organisation_start_impossible),
    Case("birth-date-impossible", 'A student has "birthDate": "2012-13-01".',
         "issue", "invalid-record", birth_date_impossible),
    Case("duty-start-date-number", 'A duty has "startDate": 20250801 (a number).',
         "issue", "invalid-record", duty_start_number),
    Case("group-start-date-number", 'A class has "startDate": 20250818 (a number).',
         "issue", "invalid-record", group_start_number),
    Case("enrolment-school-type-unknown", 'A student\'s enrolment has "schoolType": "XYZ".',
         "issue", "invalid-record", enrolment_school_type_unknown),
    Case("organisation-type-unknown", 'A school unit has "organisationType": "Skolhus".',
         "error", "organisations.json: organisation record 3", organisation_type_unknown),
    Case("group-type-unknown", 'A teaching group has "groupType": "Klubb".',
         "issue", "invalid-record", group_type_unknown),
    Case("duty-role-unknown", 'A teacher\'s duty has "dutyRole": "Vaktmästare".',
         "issue", "invalid-record", duty_role_unknown),
    Case("duplicate-person-id", "One person record on both pages (two records with one id).",
         "issue", "duplicate-id", duplicate_person_id),
    Case("duplicate-civic-no", "A new person record with another student's civic number.",
         "issue", "duplicate-civic-no", duplicate_civic_no),
    Case("duplicate-organisation-id", "Two organisation records with one id.",
         "error", "organisations.json, record 3", duplicate_organisation_id),
    Case("enrolment-unknown-unit-extra", "A student gets a second enrolment at an organisation "
         "id that does not exist.", "issue", MISSING_ID, extra_enrolment_unknown_unit),
    Case("enrolment-unknown-unit-only", "A student's only enrolment points at an organisation "
         "id that does not exist (a broken reference, not a departure).",
         "issue", MISSING_ID, only_enrolment_unknown_unit),
    Case("responsible-unknown-person", "A student's responsible (guardian) is a person id that "
         "does not exist.", "issue", "unknown-reference", responsible_unknown),
    Case("activity-unknown-group", "An activity names a group that does not exist.",
         "issue", MISSING_ID, activity_unknown_group),
    Case("calendar-event-unknown-activity", "A calendar event names an activity that does not "
         "exist.", "issue", "unknown-reference", event_unknown_activity),
    Case("empty-bundle-folder", "The bundle folder holds no files at all.",
         "error", "bundle", empty_folder),
    Case("duties-zero-bytes", "duties.json is a file of 0 bytes.",
         "error", "duties.json", zero_byte_duties),
    Case("groups-whitespace-only", "groups.json holds only whitespace.",
         "error", "groups.json", whitespace_groups),
    Case("huge-middle-name", "persons/page2.json is one line of about 5 MB: a student has a "
         "5 MB middleName. Valid JSON; the run must end sanely.", "ok", "", huge_middle_name),
    Case("huge-whitespace-line", "persons/page2.json is one line of about 5 MB, most of it "
         "spaces between the records. Valid JSON: fine.", "ok", "", huge_whitespace_line),
    Case("object-without-data", 'groups.json is {"items": []} (an object without data).',
         "error", "groups.json", object_without_data),
    Case("file-is-a-number", "duties.json is the number 42.",
         "error", "duties.json", file_is_number),
    Case("file-is-a-string", "activities.json is a JSON string.",
         "error", "activities.json", file_is_string),
    Case("page-chain-cut", "persons/page2.json is missing while page1.json has a pageToken.",
         "error", "persons/page1.json", page_chain_cut),
    Case("given-name-number", 'A student has "givenName": 42.',
         "issue", "invalid-record", given_name_number),
    Case("enrolments-string", 'A student has "enrolments": "none".',
         "issue", "invalid-record", enrolments_string),
    Case("cancelled-maybe", 'A calendar event has "cancelled": "maybe".',
         "issue", "invalid-record", cancelled_maybe),
    Case("no-persons", "The bundle has no persons at all while the directory holds users.",
         "held", "lock-missing-data", no_persons),
    Case("no-groups", "groups.json has an empty data array while the directory holds classes "
         "and groups.", "held", "lock-missing-data", no_groups),
    Case("family-left", "Persons really left: a student and both guardians are gone from the "
         "read and from the groups.", "ok", "", family_left,
         leaves=["20120315TF01", "198101052382", "198101062399"]),
    Case("civic-no-invalid", "A student's civic number has a wrong check digit.",
         "issue", "invalid-civic-no", civic_no_invalid),
    Case("civic-no-null", 'A student has "civicNo": null.',
         "issue", "missing-civic-no", civic_no_null),
    Case("deeply-nested", "groups.json is 100 000 nested arrays.",
         "error", "groups.json", deeply_nested),
    Case("nan-in-room", 'rooms.json has "seats": NaN (not JSON, but Python reads it).',
         "ok", "", nan_seats),
    Case("lone-surrogate-in-name", "A student's givenName holds the escape \\ud800 (a lone "
         "surrogate, not a character).", "issue", "invalid-record", lone_surrogate_name),
    Case("nul-in-name", "A student's familyName holds the escape \\u0000.",
         "issue", "invalid-record", nul_in_name),
    Case("schedule-cut-mid-row", "A schedule cut off in its last Lesson row, with no final "
         "newline.", "error", "schedule.txt, line",
         schedules={"schedule.txt": schedule_cut_mid_row}),
    Case("schedule-without-tables", "A schedule without its [Tables] line.",
         "error", "schedule.txt", schedules={"schedule.txt": schedule_without_tables}),
    Case("schedule-placeholder-row", "A Lesson row with DayOfWeek 7, start 0:00 and Length "
         "2210 (a placeholder).", "issue", "schedule-bad-row",
         schedules={"schedule.txt": schedule_placeholder_row}),
    Case("schedule-saturday", "A Lesson row on Lördag.", "issue", "schedule-bad-row",
         schedules={"schedule.txt": schedule_saturday}),
    Case("schedule-bad-actual-weeks", "A Lesson row with ActualWeeks x-y.",
         "issue", "schedule-bad-row", schedules={"schedule.txt": schedule_bad_weeks}),
    Case("schedule-garbage-bytes", "schedule.txt holds 4 KB of random bytes.",
         "error", "schedule.txt", schedules={"schedule.txt": schedule_garbage}),
    Case("schedule-not-novaschem", "schedule.txt is a semicolon-separated list, not Novaschem.",
         "error", "schedule.txt", schedules={"schedule.txt": schedule_not_novaschem}),
    Case("schedule-bad-start-time", "A Lesson row starting at 25:99.",
         "issue", "schedule-bad-row", schedules={"schedule.txt": schedule_bad_start_time}),
    Case("schedule-without-offset-year", "A schedule head without OffsetYear.",
         "error", "schedule.txt", schedules={"schedule.txt": schedule_without_offset_year}),
    Case("schedule-utf8-bom", "A schedule re-saved as UTF-8 with a byte-order mark: fine.",
         "ok", "", schedules={"schedule.txt": schedule_utf8_bom}),
    Case("schedule-utf16", "A schedule re-saved as UTF-16.",
         "error", "schedule.txt", schedules={"schedule.txt": schedule_utf16}),
    Case("schedule-without-lessons", "A schedule whose Lesson table has a header but no rows.",
         "ok", "", schedules={"schedule.txt": schedule_header_only}),
    Case("schedule-without-final-blank-line", "A schedule that ends with its last Lesson row "
         "and one line break, as real exports do: complete.", "ok", "",
         schedules={"schedule.txt": schedule_without_final_blank_line}),
    Case("schedule-stray-cp1252-byte", "A UTF-8 schedule with one cp1252 byte in one Lesson "
         "row: read as UTF-8, that row skipped.", "issue", "not valid UTF-8",
         schedules={"schedule.txt": schedule_stray_cp1252_byte}),
    Case("schedule-base-year-9968", "A schedule head with BaseYear=9968 (the school year 9999).",
         "error", "schedule.txt, line", schedules={"schedule.txt": schedule_base_year_9968}),
    Case("changed-bundle-with-cut-schedule", "A valid bundle with one family name changed, "
         "given with a cut-off schedule: the run fails, so the name must not change.",
         "error", "schedule.txt, line", family_name_changed,
         schedules={"schedule.txt": schedule_cut_mid_row}),
    Case("truncated-groups-with-valid-schedule", "A valid schedule given with a cut-off "
         "groups.json: the run fails, so no lesson is created.",
         "error", "groups.json, line", truncated_groups,
         schedules={"schedule.txt": _valid_schedule}),
]  # fmt: skip


def main() -> None:
    names = [c.name for c in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("two cases share a name")
    for old in sorted(HERE.iterdir()):
        if old.is_dir() and (old / "case.json").is_file():
            shutil.rmtree(old)
    for case in CASES:
        case.write(HERE)
    print(f"wrote {len(CASES)} cases to {HERE}")


if __name__ == "__main__":
    main()
