"""Unreadable is never absent (R3.1, R10), at the plan level: a bundle file that cannot be read,
or a kind of data that went missing, never ends the people the directory has from it.

The run stops with a sentence naming the file (what the CLI prints, exit 1:
:meth:`~tests.plan.harness.PlanDirectory.stopped`), or is held (``lock-missing-data``, exit 3),
and the directory is left exactly as it was. ``tests/integration/test_unreadable_files.py`` keeps,
on SQLite and PostgreSQL, one file that is no regular file through the CLI, a held run applied
on purpose (the next run compares with the counts the run history keeps) and a generated name
too long for the tables.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from schoolsync.errors import ConfigError
from schoolsync.settings import load_settings
from tests.builder import PNR, Bundle, school
from tests.plan.harness import PlanDirectory
from tests.rules import messages


def synced_school(
    directory: PlanDirectory, tmp_path: Path
) -> tuple[Bundle, dict[str, str], dict[str, Any]]:
    """The small school synced once; returns the bundle, its ids and the export after it."""
    b, ids = school()
    assert directory.sync(b.write(tmp_path / "first")).status == "applied"
    return b, ids, directory.export()


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
    directory: PlanDirectory, tmp_path: Path, endpoint: str, how: str
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    target = bundle / f"{endpoint}.json"
    target.unlink()
    make, words = BROKEN[how]
    make(target)
    started = time.monotonic()
    err = directory.stopped(bundle)
    assert time.monotonic() - started < 30  # a FIFO or /dev/zero is never read
    assert f"{endpoint}.json" in err and words in err
    assert directory.export() == before


def test_r10_a_missing_duties_file_holds_the_run_and_every_teacher_keeps_their_links(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    (bundle / "duties.json").unlink()
    result = directory.sync(bundle)
    assert result.status == "held", result.as_report()
    (lock,) = messages(result.as_report(), "lock-missing-data")
    assert "duties.json" in lock
    assert directory.export() == before
    teacher = next(u for u in before["users"] if u["civic_no"] == PNR[5])
    assert teacher["schools"][0]["active"]


@pytest.mark.parametrize("endpoint", ["activities", "syllabuses", "duties"])
def test_r10_an_endpoint_that_now_holds_no_records_holds_the_run(
    directory: PlanDirectory, tmp_path: Path, endpoint: str
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    setattr(b, endpoint, [])
    bundle = b.write(tmp_path / "second")
    (bundle / f"{endpoint}.json").write_text('{"data": [], "pageToken": null}', encoding="utf-8")
    result = directory.sync(bundle)
    assert result.status == "held", result.as_report()
    (lock,) = messages(result.as_report(), "lock-missing-data")
    assert f"{endpoint}.json has no {endpoint}" in lock
    assert directory.export() == before


def test_r10_placements_that_go_missing_hold_the_run(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b = Bundle()
    unit = b.unit("Solrosens förskola", "99990301", ("FS",))
    for n in range(3):
        child = b.person("Barn", f"Nummer{n}", f"202001{n + 1:02d}TF0{n}")
        b.placements.append(
            {"id": f"placement-{n}", "placedAt": {"id": unit}, "child": {"id": child},
             "schoolType": "FS", "startDate": "2025-08-18"}
        )  # fmt: skip
    assert directory.sync(b.write(tmp_path / "first")).status == "applied"
    before = directory.export()
    b.placements = []
    result = directory.sync(b.write(tmp_path / "second"))
    assert result.status == "held", result.as_report()
    (lock,) = messages(result.as_report(), "lock-missing-data")
    assert "placements.json has no placements" in lock
    assert directory.export() == before


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


def test_r3_1_a_missing_middle_page_stops_the_run(directory: PlanDirectory, tmp_path: Path) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    (folder / "page2.json").unlink()
    err = directory.stopped(bundle)
    assert "persons/page1.json" in err and "page 2 is missing" in err
    assert directory.export() == before


def test_r3_1_a_complete_chain_of_pages_is_read(directory: PlanDirectory, tmp_path: Path) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    _pages(bundle, b, [2, 2, 2])
    assert directory.sync(bundle).status == "applied"
    assert directory.export()["users"] == before["users"]


def test_r3_1_a_last_page_before_other_pages_stops_the_run(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    page = json.loads((folder / "page2.json").read_text(encoding="utf-8"))
    (folder / "page2.json").write_text(json.dumps({**page, "pageToken": None}), encoding="utf-8")
    err = directory.stopped(bundle)
    assert "persons/page2.json" in err
    assert directory.export() == before


def test_r3_1_a_single_page_that_says_more_follow_is_an_incomplete_read(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    page = json.loads((bundle / "persons.json").read_text(encoding="utf-8"))
    page["data"] = page["data"][:3]
    page["pageToken"] = "more-to-come"
    (bundle / "persons.json").write_text(json.dumps(page), encoding="utf-8")
    err = directory.stopped(bundle)
    assert "persons.json" in err and "pageToken says more pages follow" in err
    assert directory.export() == before


def test_a_file_larger_than_the_limit_stops_the_run_and_the_setting_raises_it(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["padding"] = "x" * (2 * 1024 * 1024)
    bundle = b.write(tmp_path / "big")
    small = tmp_path / "small.toml"
    small.write_text("[sources]\nmax_file_mb = 1\n", encoding="utf-8")
    err = directory.stopped(bundle, settings=load_settings(small))
    assert "persons.json" in err and "max_file_mb" in err
    assert directory.sync(bundle).status == "applied"


def test_an_integer_of_thousands_of_digits_in_an_ignored_field_is_ignored(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    bundle = b.write(tmp_path / "a")
    text = (bundle / "persons.json").read_text(encoding="utf-8")
    text = text.replace('"givenName": "Elsa"', '"huge": ' + "9" * 5000 + ', "givenName": "Elsa"', 1)
    (bundle / "persons.json").write_text(text, encoding="utf-8")
    assert directory.sync(bundle).status == "applied"
    assert any(u["given_name"] == "Elsa" for u in directory.export()["users"])


def test_an_integer_of_thousands_of_digits_in_a_used_field_skips_only_that_record(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["elsa"])["enrolments"][0]["schoolYear"] = 7
    bundle = b.write(tmp_path / "a")
    text = (bundle / "persons.json").read_text(encoding="utf-8")
    text = text.replace('"schoolYear": 7', '"schoolYear": ' + "7" * 5000)
    (bundle / "persons.json").write_text(text, encoding="utf-8")
    report = directory.sync(bundle).as_report()
    assert report["status"] == "applied", report
    bad = messages(report, "invalid-record")
    assert len(bad) == 1 and "record 1 of persons.json" in bad[0]
    assert "Elsa" not in {u["given_name"] for u in directory.export()["users"]}


def test_r4_2_two_units_with_one_name_and_one_code_become_two_schools_with_a_warning(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, _ = school()
    b.unit("Norrskolan", "99990101")  # the same name and code as the school's unit...
    b.organisations[-1]["id"] = twin = "a-second-norrskolan"  # ...under another id
    b.student("Ida", "Tvåa", PNR[2], twin)
    name = "N" * 300
    b.unit(name, "99990102")
    b.unit(name, "99990103")
    report = directory.sync(b.write(tmp_path / "a")).as_report()
    assert report["status"] == "applied", report
    warning = messages(report, "duplicate-unit-code")
    assert len(warning) == 1 and "a-second-norrskolan" in warning[0]
    names = [s["name"] for s in directory.export()["schools"]]
    assert len(names) == len(set(names)) == 4
    assert all(len(n) <= 300 for n in names)


@pytest.mark.parametrize("how", ["fifo", "device", "folder-symlink-loop"])
def test_a_schedule_source_that_is_not_a_regular_file_stops_the_run_without_reading_it(
    directory: PlanDirectory, tmp_path: Path, how: str
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    schedule = tmp_path / "schema.txt"
    if how == "fifo":
        os.mkfifo(schedule)
    elif how == "device":
        schedule = Path("/dev/zero")
    else:
        schedule.symlink_to(schedule)
    started = time.monotonic()
    err = directory.stopped(b.write(tmp_path / "second"), schedule)
    assert time.monotonic() - started < 30
    assert str(schedule) in err, err
    assert directory.export() == before


def test_a_school_name_in_the_settings_too_long_for_the_directory_is_a_settings_error(
    tmp_path: Path,
) -> None:
    config = tmp_path / "s.toml"
    config.write_text(f'[[schools]]\nname = "{"S" * 400}"\nunits = ["99990101"]\n', "utf-8")
    with pytest.raises(ConfigError) as caught:  # what `--config s.toml` stops with (exit 1)
        load_settings(config)
    err = str(caught.value)
    assert "schools.0.name" in err, err
    assert "database" not in err


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
    directory: PlanDirectory, tmp_path: Path, names: list[str]
) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    for n, name in enumerate(names, start=1):
        (folder / f"page{n}.json").rename(folder / f"{name}.json")
    assert directory.sync(bundle).status == "applied"
    assert directory.export()["users"] == before["users"]


def test_r3_1_a_missing_first_page_stops_the_run(directory: PlanDirectory, tmp_path: Path) -> None:
    b, _, before = synced_school(directory, tmp_path)
    bundle = b.write(tmp_path / "second")
    folder = _pages(bundle, b, [2, 2, 2])
    (folder / "page1.json").unlink()
    err = directory.stopped(bundle)
    assert "page 1 is missing" in err, err
    assert directory.export() == before


def test_r3_1_a_dropped_assignment_role_keeps_the_mentor_and_a_dropped_identifier_keeps_it(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.mentor(ids["karin_duty"], ids["7A"])
    b.get(ids["elsa"])["externalIdentifiers"] = [
        {"value": "elsa.lund@skola.example.invalid", "context": "Google", "globallyUnique": True}
    ]
    assert directory.sync(b.write(tmp_path / "a")).status == "applied"
    before = directory.export()
    klass = next(c for c in before["classes"] if c["name"] == "7A")
    assert klass["mentors"] == ["KAHO"]
    b.duties[0]["assignmentRole"][0]["group"] = {"id": 123}  # unreadable: dropped
    b.get(ids["elsa"])["externalIdentifiers"][0]["globallyUnique"] = "maybe"
    report = directory.sync(b.write(tmp_path / "b")).as_report()
    assert report["status"] == "applied", report
    assert len(messages(report, "invalid-element")) == 2
    assert report["changes"]["memberships"]["ended"] == 0
    assert report["changes"]["users"]["updated"] == 0
    assert directory.export() == before
