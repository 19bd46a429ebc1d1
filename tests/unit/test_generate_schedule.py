"""Tests of the Novaschem/Skola24 schedule exports written with a generated bundle."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from schoolsync.generate import GenerationSummary, generate_bundle

TODAY = date(2025, 10, 1)
FIRST_YEAR = 2025
WEEKDAYS = {"Måndag", "Tisdag", "Onsdag", "Torsdag", "Fredag"}
COLUMN = re.compile(r"^.+ \(\d+\)$")
TITLE = re.compile(r"^(\w+) \((\d+)\)$")
WEEK_RANGE = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?$")
DATE_RANGE = re.compile(r"^(\d{1,2})/(\d{1,2})-(\d{1,2})/(\d{1,2})$")
FAULT = re.compile(r"^(schedule-[a-z-]+): lesson (\d+) in schedule (\d{8})\.txt ")
CIVIC_LIKE = re.compile(r"\d{8}(?:\d{4}|TF\d{2})")
FIELD_IDS = {
    6600: [6601, 5800, 6602, 6607],
    6400: [6401, 5800, 6402, 6403, 6432, 6433, 6429],
    6000: [6001, 5800, 6002, 6028, 6003, 6006, 6004, 6033, 6034, 6014],
    6200: [6201, 5800, 6210, 6204, 6206, 6205],
    8100: [8104],
    8000: [8001, 5800, 8002, 8006, 8005],
    7100: [7100, 5800, 7101, 7102, 7115, 7106, 7103, 7104, 7105, 7107, 7108, 7109, 7167],
}
SCHEDULE_FAULTS = {
    "schedule-group-case",
    "schedule-group-space",
    "schedule-unknown-signature",
    "schedule-class-mixed-group",
    "schedule-placeholder",
    "schedule-group-encoding",
}
Entity = dict[str, Any]
Row = dict[int, str]


@dataclass
class Export:
    """One schedule file, parsed; every structural rule is asserted while parsing."""

    path: Path
    raw: bytes
    head: dict[str, dict[str, str]]
    tables: dict[int, list[Row]] = field(default_factory=dict)

    @property
    def code(self) -> str:
        return self.path.stem

    @property
    def lessons(self) -> list[Row]:
        return self.tables[7100]


def _field_id(column: str) -> int:
    assert COLUMN.match(column), column
    return int(column.rsplit("(", 1)[1].rstrip(")"))


def parse_export(path: Path) -> Export:
    raw = path.read_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") == raw.count(b"\r")
    assert raw.endswith(b"\r\n\r\n")
    lines = raw.decode("cp1252").split("\r\n")
    assert lines.pop() == ""
    export = Export(path, raw, {})
    section = ""
    while (line := lines.pop(0)) != "[Tables]":
        if line.startswith("["):
            section = line.strip("[]")
            export.head[section] = {}
        elif line:
            key, value = line.split("=", 1)
            export.head[section][key] = value
    assert lines.pop(0) == ""
    while lines:
        title = TITLE.match(lines.pop(0))
        assert title, "table title expected"
        assert lines.pop(0) == "[Rows]"
        header = [_field_id(column) for column in lines.pop(0).split("\t")]
        rows: list[Row] = []
        while (line := lines.pop(0)) != "":
            cells = line.split("\t")
            assert len(cells) == len(header), (title.group(1), line)
            rows.append(dict(zip(header, cells, strict=True)))
        table_id = int(title.group(2))
        assert header == FIELD_IDS.get(table_id, header), title.group(1)
        export.tables[table_id] = rows
    return export


@dataclass
class Generated:
    """A generated bundle with its schedule exports, read back from disk."""

    summary: GenerationSummary
    exports: dict[str, Export]
    organisations: list[Entity]
    groups: list[Entity]
    duties: list[Entity]
    activities: list[Entity]
    syllabuses: list[Entity]
    civic_numbers: list[str]

    def unit(self, code: str) -> Entity:
        return next(o for o in self.organisations if o.get("schoolUnitCode") == code)

    def current_groups(self, code: str) -> list[Entity]:
        start = self.summary.school_year_start.isoformat()
        unit_id = self.unit(code)["id"]
        return [
            g for g in self.groups if g["organisation"]["id"] == unit_id and g["endDate"] >= start
        ]

    def names(self, code: str) -> set[str]:
        types = {"Klass", "Undervisning", "Schema"}
        return {g["displayName"] for g in self.current_groups(code) if g["groupType"] in types}

    def signatures(self, code: str) -> set[str]:
        unit_id = self.unit(code)["id"]
        return {d["signature"] for d in self.duties if d["dutyAt"]["id"] == unit_id}

    def fault_rows(self) -> dict[str, tuple[str, Row]]:
        found: dict[str, tuple[str, Row]] = {}
        for text in self.summary.faults:
            match = FAULT.match(text)
            if match:
                export = self.exports[match.group(3)]
                row = next(r for r in export.lessons if r[7100] == match.group(2))
                found[match.group(1)] = (export.code, row)
        return found


def _data(path: Path) -> list[Entity]:
    data: list[Entity] = json.loads(path.read_text(encoding="utf-8"))["data"]
    return data


def generate(root: Path, size: str, **options: Any) -> Generated:
    options.setdefault("today", TODAY)
    summary = generate_bundle(root, size, **options)
    files = {
        name: _data(root / f"{name}.json")
        for name in ("organisations", "groups", "duties", "activities", "syllabuses")
    }
    persons = [p for page in sorted((root / "persons").glob("*.json")) for p in _data(page)]
    exports = {path.stem: parse_export(path) for path in summary.schedules}
    civic = [p["civicNo"]["value"] for p in persons]
    return Generated(summary, exports, civic_numbers=civic, **files)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("small"), "small", seed=7)


@pytest.fixture(scope="module")
def small_clean(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("clean"), "small", seed=7, faults=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    return generate(tmp_path_factory.mktemp("tiny"), "tiny", seed=3)


@pytest.fixture(params=["small", "small_clean", "tiny"])
def bundle(request: pytest.FixtureRequest) -> Generated:
    generated: Generated = request.getfixturevalue(request.param)
    return generated


def _weeks(text: str) -> list[int]:
    weeks: list[int] = []
    for part in text.split(", "):
        match = WEEK_RANGE.match(part)
        assert match, text
        first, last = int(match.group(1)), int(match.group(2) or match.group(1))
        assert first <= last and (34 <= first <= last <= 52 or 1 <= first <= last <= 26), text
        weeks.extend(range(first, last + 1))
    return weeks


def _calendar_weeks(text: str) -> list[int]:
    """ISO weeks covered by ``d/m-d/m`` ranges; autumn months are in the läsår's first year."""
    weeks: list[int] = []
    for part in text.split(", "):
        match = DATE_RANGE.match(part)
        assert match, text
        d1, m1, d2, m2 = (int(v) for v in match.groups())
        first = date(FIRST_YEAR if m1 > 6 else FIRST_YEAR + 1, m1, d1)
        last = date(FIRST_YEAR if m2 > 6 else FIRST_YEAR + 1, m2, d2)
        assert first.weekday() == 0 and last.weekday() == 4 and first < last, part
        day = first
        while day <= last:
            weeks.append(day.isocalendar().week)
            day += timedelta(days=7)
    return weeks


def test_one_file_per_unit_with_teaching(bundle: Generated) -> None:
    taught = {a["organisation"]["id"] for a in bundle.activities}
    codes = {o["schoolUnitCode"] for o in bundle.organisations if o["id"] in taught}
    folder = bundle.summary.out_dir / "schedule"
    assert {p.stem for p in folder.glob("*.txt")} == codes == set(bundle.exports)
    assert list(bundle.summary.schedules) == sorted(folder.glob("*.txt"))


def test_encoding_and_head(bundle: Generated) -> None:
    for code, export in bundle.exports.items():
        assert "Måndag".encode("cp1252") in export.raw
        with pytest.raises(UnicodeDecodeError):
            export.raw.decode("utf-8")
        source = export.head["Source"]
        assert source["Application"] == "Novaschem" and source["ApplicationVerMajor"] == "4"
        assert source["SchoolID"] == code
        assert source["School"] == bundle.unit(code)["displayName"]
        assert int(source["BaseYear"]) + int(source["OffsetYear"]) == FIRST_YEAR
        assert source["CreationDate"] < bundle.summary.school_year_start.isoformat()
        gymnasium = "GY" in bundle.unit(code)["schoolTypes"]
        target, target_id = ("Textfil GY", "17") if gymnasium else ("Textfil GR", "16")
        assert export.head["Destination"] == {"Application": target, "ApplicationID": target_id}
        assert export.head["DatabaseOptions"] == {"Update": "TRUE", "AddNew": "TRUE"}
        assert set(export.tables) >= {6400, 6000, 6200, 8100, 8000, 7100}


def test_groups_table_lists_classes_and_groups(small: Generated) -> None:
    for code, export in small.exports.items():
        groups = small.current_groups(code)
        classes = {
            g["displayName"]
            for g in groups
            if g["groupType"] == "Klass" and "," not in g["displayName"]
        }
        teaching = {
            g["displayName"] for g in groups if g["groupType"] in ("Undervisning", "Schema")
        }
        rows = export.tables[6200]
        assert {r[6201] for r in rows if r[6210] == "1"} == classes
        assert {r[6201] for r in rows if r[6210] == "0"} == teaching
        assert all(set(r[6206].split(",")) <= classes for r in rows if r[6210] == "0")
        assert all(r[6205] == "" for r in rows)
        assert all(
            re.fullmatch(r"\{[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}\}", r[5800]) for r in rows
        )


def test_teachers_and_subjects_tables(small: Generated) -> None:
    for code, export in small.exports.items():
        teachers = export.tables[6000]
        assert all(r[6028] == "" for r in teachers)
        assert {r[6001] for r in teachers if r[6003] != "Vikarie"} <= small.signatures(code)
        text = export.raw.decode("cp1252")
        assert not any(number in text for number in small.civic_numbers)
        codes = {s.get("subjectDesignation") or s.get("subjectCode") for s in small.syllabuses}
        subjects = {r[6401]: r[6403] for r in export.tables[6400]}
        assert set(subjects) <= codes and subjects.get("MA", "Matematik") == "Matematik"
        assert {r[7103] for r in export.lessons} <= set(subjects)


def test_lessons_name_register_groups_and_signatures(bundle: Generated) -> None:
    faulty = {(code, row[7100]) for code, row in bundle.fault_rows().values()}
    for code, export in bundle.exports.items():
        names, signatures = bundle.names(code), bundle.signatures(code)
        for row in export.lessons:
            if (code, row[7100]) in faulty:
                continue
            assert row[7105] in names, row
            assert set(row[7104].split(",")) <= signatures, row
            assert row[7101] in WEEKDAYS, row
            hours, minutes = (int(v) for v in row[7102].split(":"))
            assert 8 * 60 <= hours * 60 + minutes <= 15 * 60 and len(row[7102]) in (4, 5)
            assert 40 <= int(row[7115]) <= 80
            if row[7108]:
                assert row[7108] in ("Ht", "Vt") and row[7167] == ""
            else:
                weeks = _weeks(row[7167])
                assert 44 not in weeks and 8 not in weeks and len(weeks) == len(set(weeks))


def test_periods_and_co_teaching(bundle: Generated) -> None:
    for export in bundle.exports.values():
        periods = {r[8001]: r for r in export.tables[8000]}
        assert periods["Ht"][8002] == "Hösttermin" and periods["Vt"][8002] == "Vårtermin"
        ht, vt = (_calendar_weeks(periods[p][8005]) for p in ("Ht", "Vt"))
        assert ht[0] == 34 and 44 not in ht and 8 not in vt and vt[-1] == 24
        assert _calendar_weeks(export.tables[8100][0][8104]) == ht + vt
        lessons = export.lessons
        assert 1 <= sum(r[7108] != "" for r in lessons) <= 0.1 * len(lessons)
        assert any(re.fullmatch(r"[A-ZÅÄÖ]{2,4},[A-ZÅÄÖ]{2,4}", r[7104]) for r in lessons)


def test_class_lessons_follow_class_subject_activities(small_clean: Generated) -> None:
    """Lessons on a class name are those of activities that tie the class to a subject."""
    designation = {s["id"]: s.get("subjectDesignation") for s in small_clean.syllabuses}
    classes = {g["id"]: g["displayName"] for g in small_clean.groups if g["groupType"] == "Klass"}
    tied = {
        (classes[a["groups"][0]["id"]], designation[a["syllabus"]["id"]])
        for a in small_clean.activities
        if a["groups"][0]["id"] in classes
    }
    (export,) = small_clean.exports.values()
    on_class = {(r[7105], r[7103]) for r in export.lessons if r[7105] in classes.values()}
    assert on_class == tied and len(tied) > 50


def test_faults_are_present_and_described(small: Generated) -> None:
    rows = small.fault_rows()
    assert set(rows) == SCHEDULE_FAULTS
    assert len({code for code, _ in rows.values()}) == 1
    described = [text for text in small.summary.faults if text.startswith("schedule-")]
    assert len(described) == len(SCHEDULE_FAULTS)
    assert not any(CIVIC_LIKE.search(text) for text in described)
    code = next(iter(rows.values()))[0]
    names, all_signatures = small.names(code), {d["signature"] for d in small.duties}
    case = rows["schedule-group-case"][1][7105]
    assert case not in names and any(n.lower() == case.lower() for n in names)
    space = rows["schedule-group-space"][1][7105]
    assert space.endswith(" ") and space.rstrip() in names
    unknown = rows["schedule-unknown-signature"][1]
    assert unknown[7105] in names and set(unknown[7104].split(",")) - all_signatures
    placeholder = rows["schedule-placeholder"][1]
    assert (placeholder[7101], placeholder[7102], placeholder[7115]) == ("7", "0:00", "2210")
    assert placeholder[7105] in names
    damaged = rows["schedule-group-encoding"][1][7105]
    assert "?" in damaged and damaged not in names
    assert any(n.translate(str.maketrans("åäöÅÄÖ", "??????")) == damaged for n in names)
    _assert_class_with_mixed_group(small, code, rows["schedule-class-mixed-group"][1])


def _assert_class_with_mixed_group(small: Generated, code: str, row: Row) -> None:
    groups = small.current_groups(code)
    classes = {g["displayName"]: g for g in groups if g["groupType"] == "Klass"}
    assert row[7105] in classes
    class_of = {m["person"]["id"]: n for n, g in classes.items() for m in g["groupMemberships"]}
    designation = {s["id"]: s.get("subjectDesignation") for s in small.syllabuses}
    by_id = {g["id"]: g for g in groups}
    drawn: list[set[str]] = []
    for activity in small.activities:
        group = by_id.get(activity["groups"][0]["id"])
        if group is None or designation[activity["syllabus"]["id"]] != row[7103]:
            continue
        members = {class_of.get(m["person"]["id"], "?") for m in group["groupMemberships"]}
        if row[7105] in members:
            drawn.append(members)
    assert drawn and all(len(members) > 1 for members in drawn)


def test_no_faults_without_the_flag(small_clean: Generated) -> None:
    assert small_clean.fault_rows() == {}
    for export in small_clean.exports.values():
        assert all(r[7101] in WEEKDAYS and "?" not in r[7105] for r in export.lessons)
        assert all(r[6003] != "Vikarie" for r in export.tables[6000])


def test_summary_counts_match_disk(bundle: Generated) -> None:
    rows = dated = 0
    for export in bundle.exports.values():
        periods = {r[8001]: _calendar_weeks(r[8005]) for r in export.tables[8000]}
        for row in export.lessons:
            rows += 1
            if row[7101] == "7":
                continue
            dated += len(_weeks(row[7167]) if row[7167] else periods[row[7108]])
        assert [r[7100] for r in export.lessons] == [
            str(n) for n in range(1, 1 + len(export.lessons))
        ]
    assert (bundle.summary.lesson_rows, bundle.summary.dated_lessons) == (rows, dated)
    assert 20 <= dated / rows <= 40


def test_same_arguments_give_identical_schedules(tmp_path: Path) -> None:
    runs = [
        generate_bundle(tmp_path / name, "tiny", seed=seed, today=TODAY)
        for name, seed in (("a", 3), ("b", 3), ("c", 4))
    ]
    first, second, other = ({p.name: p.read_bytes() for p in summary.schedules} for summary in runs)
    assert first == second
    assert first != other


def test_rerun_replaces_old_schedules(tmp_path: Path) -> None:
    generate_bundle(tmp_path, "tiny", seed=3, today=TODAY)
    summary = generate_bundle(tmp_path, "tiny", seed=4, today=TODAY)
    assert sorted((tmp_path / "schedule").iterdir()) == list(summary.schedules)
