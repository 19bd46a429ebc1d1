"""Unreadable is never absent (R3.1, R10): a bundle file that cannot be read, or a kind of data
that went missing, never ends the people the directory has from it.

Every case runs through the CLI (in-process) on SQLite and PostgreSQL: the run stops (exit 1) with
a sentence naming the file, or is held (exit 3, ``lock-missing-data``), and the directory is left
exactly as it was.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.builder import PNR, Bundle, school
from tests.conftest import invoke

TODAY = "2025-10-15"


def sync(db_url: str, *sources: Path, extra: tuple[str, ...] = ()) -> Any:
    """``schoolsync sync``; ``extra`` options go before the command (``--json`` after it)."""
    after = [x for x in extra if x == "--json"]
    before = [x for x in extra if x != "--json"]
    return invoke("--db", db_url, "--today", TODAY, *before, "sync", *after, *map(str, sources))


def export(db_url: str) -> dict[str, Any]:
    result = invoke("--db", db_url, "--today", TODAY, "export", "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def synced_school(db_url: str, tmp_path: Path) -> tuple[Bundle, dict[str, str], dict[str, Any]]:
    """The small school synced once; returns the bundle, its ids and the export after it."""
    b, ids = school()
    first = sync(db_url, b.write(tmp_path / "first"))
    assert first.code == 0, first.err
    return b, ids, export(db_url)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling(path: Path) -> None:
    path.symlink_to(path.parent / "nowhere.json")


def _loop(path: Path) -> None:
    path.symlink_to(path)


def _device(path: Path) -> None:
    path.symlink_to("/dev/zero")


BROKEN: dict[str, tuple[Callable[[Path], None], str]] = {
    "fifo": (_fifo, "named pipe"),
    "folder": (_folder, "folder"),
    "dangling-symlink": (_dangling, "does not exist"),
    "symlink-loop": (_loop, "loops"),
    "device": (_device, "device"),
}


@pytest.mark.parametrize("how", sorted(BROKEN))
@pytest.mark.parametrize("endpoint", ["duties", "persons", "groups"])
def test_r3_1_a_bundle_file_that_is_not_a_regular_file_stops_the_run_naming_it(
    db_url: str, tmp_path: Path, endpoint: str, how: str
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    target = bundle / f"{endpoint}.json"
    target.unlink()
    make, words = BROKEN[how]
    make(target)
    started = time.monotonic()
    result = sync(db_url, bundle)
    assert time.monotonic() - started < 30  # a FIFO or /dev/zero is never read
    assert result.code == 1, result.out
    assert f"{endpoint}.json" in result.err and words in result.err
    assert "Internal error" not in result.err and "Traceback" not in result.err
    assert export(db_url) == before


def test_r10_a_missing_duties_file_holds_the_run_and_every_teacher_keeps_their_links(
    db_url: str, tmp_path: Path
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    (bundle / "duties.json").unlink()
    result = sync(db_url, bundle, extra=())
    assert result.code == 3, result.out + result.err
    assert "lock-missing-data" in result.out and "duties.json" in result.out
    assert export(db_url) == before
    teacher = next(u for u in before["users"] if u["civic_no"] == PNR[5])
    assert teacher["schools"][0]["active"]


@pytest.mark.parametrize("endpoint", ["activities", "syllabuses", "duties"])
def test_r10_an_endpoint_that_now_holds_no_records_holds_the_run(
    db_url: str, tmp_path: Path, endpoint: str
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    setattr(b, endpoint, [])
    bundle = b.write(tmp_path / "second")
    (bundle / f"{endpoint}.json").write_text('{"data": [], "pageToken": null}', encoding="utf-8")
    result = sync(db_url, bundle)
    assert result.code == 3, result.out + result.err
    assert f"{endpoint}.json has no {endpoint}" in result.out.replace("\n", " ")
    assert export(db_url) == before


def test_r10_placements_that_go_missing_hold_the_run(db_url: str, tmp_path: Path) -> None:
    b = Bundle()
    unit = b.unit("Solrosens förskola", "99990301", ("FS",))
    for n in range(3):
        child = b.person("Barn", f"Nummer{n}", f"202001{n + 1:02d}TF0{n}")
        b.placements.append(
            {"id": f"placement-{n}", "placedAt": {"id": unit}, "child": {"id": child},
             "schoolType": "FS", "startDate": "2025-08-18"}
        )  # fmt: skip
    assert sync(db_url, b.write(tmp_path / "first")).code == 0
    before = export(db_url)
    b.placements = []
    result = sync(db_url, b.write(tmp_path / "second"))
    assert result.code == 3, result.out
    assert "placements.json has no placements" in result.out.replace("\n", " ")
    assert export(db_url) == before


def test_r10_an_approved_run_without_duties_is_the_new_normal(db_url: str, tmp_path: Path) -> None:
    """Once a held run is applied on purpose, the next run compares with what it read."""
    b, _, _ = synced_school(db_url, tmp_path)
    b.duties = []
    bundle = b.write(tmp_path / "second")
    (bundle / "duties.json").unlink()
    applied = sync(db_url, bundle, extra=())
    assert applied.code == 3
    forced = invoke("--db", db_url, "--today", TODAY, "sync", "--allow-mass-changes", str(bundle))
    assert forced.code == 0, forced.err
    again = sync(db_url, bundle)
    assert again.code == 0, again.out


def _pages(bundle: Path, b: Bundle, sizes: list[int]) -> Path:
    """Write persons as a folder of pages with the given sizes (tokens on all but the last)."""
    (bundle / "persons.json").unlink()
    folder = bundle / "persons"
    folder.mkdir()
    start = 0
    for n, size in enumerate(sizes, start=1):
        token = None if n == len(sizes) else f"token-{n}"
        page = {"data": b.persons[start : start + size], "pageToken": token}
        (folder / f"page{n}.json").write_text(json.dumps(page), encoding="utf-8")
        start += size
    return folder


def test_r3_1_a_missing_middle_page_stops_the_run(db_url: str, tmp_path: Path) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    (folder / "page2.json").unlink()
    result = sync(db_url, bundle)
    assert result.code == 1, result.out
    assert "persons/page1.json" in result.err and "page 2 is missing" in result.err
    assert export(db_url) == before


def test_r3_1_a_complete_chain_of_pages_is_read(db_url: str, tmp_path: Path) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    _pages(bundle, b, [2, 2, 2])
    result = sync(db_url, bundle, extra=())
    assert result.code == 0, result.err
    assert export(db_url)["users"] == before["users"]


def test_r3_1_a_last_page_before_other_pages_stops_the_run(db_url: str, tmp_path: Path) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    page = json.loads((folder / "page2.json").read_text(encoding="utf-8"))
    (folder / "page2.json").write_text(json.dumps({**page, "pageToken": None}), encoding="utf-8")
    result = sync(db_url, bundle)
    assert result.code == 1 and "persons/page2.json" in result.err
    assert export(db_url) == before


def test_r3_1_a_single_page_that_says_more_follow_is_an_incomplete_read(
    db_url: str, tmp_path: Path
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    page = json.loads((bundle / "persons.json").read_text(encoding="utf-8"))
    page["data"] = page["data"][:3]
    page["pageToken"] = "more-to-come"
    (bundle / "persons.json").write_text(json.dumps(page), encoding="utf-8")
    result = sync(db_url, bundle)
    assert result.code == 1, result.out
    assert "persons.json" in result.err and "pageToken says more pages follow" in result.err
    assert export(db_url) == before


def test_a_file_larger_than_the_limit_stops_the_run_and_the_setting_raises_it(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["padding"] = "x" * (2 * 1024 * 1024)
    bundle = b.write(tmp_path / "big")
    small = tmp_path / "small.toml"
    small.write_text("[sources]\nmax_file_mb = 1\n", encoding="utf-8")
    result = sync(db_url, bundle, extra=("--config", str(small)))
    assert result.code == 1 and "persons.json" in result.err and "max_file_mb" in result.err
    assert sync(db_url, bundle).code == 0


def test_an_integer_of_thousands_of_digits_in_an_ignored_field_is_ignored(
    db_url: str, tmp_path: Path
) -> None:
    b, _ = school()
    bundle = b.write(tmp_path / "a")
    text = (bundle / "persons.json").read_text(encoding="utf-8")
    text = text.replace('"givenName": "Elsa"', '"huge": ' + "9" * 5000 + ', "givenName": "Elsa"', 1)
    (bundle / "persons.json").write_text(text, encoding="utf-8")
    result = sync(db_url, bundle)
    assert result.code == 0, result.err
    assert any(u["given_name"] == "Elsa" for u in export(db_url)["users"])


def test_an_integer_of_thousands_of_digits_in_a_used_field_skips_only_that_record(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["enrolments"][0]["schoolYear"] = 7
    bundle = b.write(tmp_path / "a")
    text = (bundle / "persons.json").read_text(encoding="utf-8")
    text = text.replace('"schoolYear": 7', '"schoolYear": ' + "7" * 5000)
    (bundle / "persons.json").write_text(text, encoding="utf-8")
    result = invoke("--db", db_url, "--today", TODAY, "sync", "--json", str(bundle))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    bad = [i for i in report["issues"] if i["code"] == "invalid-record"]
    assert len(bad) == 1 and "record 1 of persons.json" in bad[0]["message"]
    assert "Elsa" not in {u["given_name"] for u in export(db_url)["users"]}


def test_r4_2_two_units_with_one_name_and_one_code_become_two_schools_with_a_warning(
    db_url: str, tmp_path: Path
) -> None:
    b, _ = school()
    b.unit("Norrskolan", "99990101")  # the same name and code as the school's unit...
    b.organisations[-1]["id"] = twin = "a-second-norrskolan"  # ...under another id
    b.student("Ida", "Tvåa", PNR[2], twin)
    name = "N" * 300
    b.unit(name, "99990102")
    b.unit(name, "99990103")
    result = sync(db_url, b.write(tmp_path / "a"), extra=("--json",))
    assert result.code == 0, result.err
    warning = [i for i in json.loads(result.out)["issues"] if i["code"] == "duplicate-unit-code"]
    assert len(warning) == 1 and "a-second-norrskolan" in warning[0]["message"]
    names = [s["name"] for s in export(db_url)["schools"]]
    assert len(names) == len(set(names)) == 4
    assert all(len(n) <= 300 for n in names)


@pytest.mark.parametrize("how", ["fifo", "device", "folder-symlink-loop"])
def test_a_schedule_source_that_is_not_a_regular_file_stops_the_run_without_reading_it(
    db_url: str, tmp_path: Path, how: str
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    schedule = tmp_path / "schema.txt"
    if how == "fifo":
        os.mkfifo(schedule)
    elif how == "device":
        schedule = Path("/dev/zero")
    else:
        schedule.symlink_to(schedule)
    started = time.monotonic()
    result = sync(db_url, b.write(tmp_path / "second"), schedule)
    assert time.monotonic() - started < 30
    assert result.code == 1 and str(schedule) in result.err, result.err
    assert "Internal error" not in result.err
    assert export(db_url) == before


def test_r6_5_a_generated_group_name_too_long_for_the_directory_is_reported_not_a_crash(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    long_class = b.group("K" * 298, ids["unit"], "Klass", [ids["elsa"]], key="long-class")
    sv = b.syllabus("GRGRSVE01", "SV", name="Svenska")
    b.activity("Svenska", ids["unit"], [long_class], sv, [ids["karin_duty"]])
    result = sync(db_url, b.write(tmp_path / "a"), extra=("--json",))
    assert result.code == 0, result.err
    bad = [i for i in json.loads(result.out)["issues"] if i["code"] == "invalid-record"]
    assert len(bad) == 1 and "more than the 300" in bad[0]["message"]
    assert any(c["name"] == "K" * 298 for c in export(db_url)["classes"])


def test_a_school_name_in_the_settings_too_long_for_the_directory_is_a_settings_error(
    db_url: str, tmp_path: Path
) -> None:
    b, _ = school()
    config = tmp_path / "s.toml"
    config.write_text(f'[[schools]]\nname = "{"S" * 400}"\nunits = ["99990101"]\n', "utf-8")
    result = sync(db_url, b.write(tmp_path / "a"), extra=("--config", str(config)))
    assert result.code == 1 and "schools.0.name" in result.err, result.err
    assert "Internal error" not in result.err and "database" not in result.err


@pytest.mark.parametrize(
    "names",
    [
        ["2025-10-31T2300", "2025-11-01T0100", "2025-11-01T0300"],
        ["persons-0", "persons-100", "persons-200"],
        ["page1of3", "page2of3", "page3of3"],
        ["3f2a91c0", "9c1b22d4", "c0ffee11"],
        ["page-000", "page-001", "page-002"],
    ],
    ids=lambda names: names[0],
)
def test_r3_1_a_complete_chain_of_pages_named_any_way_is_read(
    db_url: str, tmp_path: Path, names: list[str]
) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    for n, name in enumerate(names, start=1):
        (folder / f"page{n}.json").rename(folder / f"{name}.json")
    result = sync(db_url, bundle)
    assert result.code == 0, result.err
    assert export(db_url)["users"] == before["users"]


def test_r3_1_a_missing_first_page_stops_the_run(db_url: str, tmp_path: Path) -> None:
    b, _, before = synced_school(db_url, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    (folder / "page1.json").unlink()
    result = sync(db_url, bundle)
    assert result.code == 1 and "page 1 is missing" in result.err, result.err
    assert export(db_url) == before


def test_r3_1_a_dropped_assignment_role_keeps_the_mentor_and_a_dropped_identifier_keeps_it(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    b.mentor(ids["karin_duty"], ids["7A"])
    b.get(ids["elsa"])["externalIdentifiers"] = [
        {"value": "elsa.lund@skola.example.invalid", "context": "Google", "globallyUnique": True}
    ]
    assert sync(db_url, b.write(tmp_path / "a")).code == 0
    before = export(db_url)
    klass = next(c for c in before["classes"] if c["name"] == "7A")
    assert klass["mentors"] == ["KAHO"]
    b.duties[0]["assignmentRole"][0]["group"] = {"id": 123}  # unreadable: dropped
    b.get(ids["elsa"])["externalIdentifiers"][0]["globallyUnique"] = "maybe"
    result = sync(db_url, b.write(tmp_path / "b"), extra=("--json",))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert len([i for i in report["issues"] if i["code"] == "invalid-element"]) == 2
    assert report["changes"]["memberships"]["ended"] == 0
    assert report["changes"]["users"]["updated"] == 0
    assert export(db_url) == before
