"""Protected identity fails safe (R11), at the plan level: whatever goes wrong with a record, a
person who is, or may be, protected never shows under their real name or number in the run
report or the export.

``tests/integration/test_protected_failsafe.py`` keeps, on SQLite and PostgreSQL, what the
database holds: that earlier runs' issues are scrubbed (``runs show``), troubleshooting, the hand
commands (rekey, merge, edit), and one register where every situation happens at once with every
output and table scanned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import RunResult
from tests.builder import PNR, Bundle, school
from tests.plan.harness import PlanDirectory

PSEUDONYMISE = Settings.model_validate({"sync": {"protected_identity": "pseudonymise"}})
MODES = {"exclude": Settings(), "pseudonymise": PSEUDONYMISE}


def shown(*results: RunResult) -> str:
    """The run reports as ``sync --json`` prints them."""
    return "\n".join(json.dumps(r.as_report(), ensure_ascii=False, default=str) for r in results)


def omar_synced(directory: PlanDirectory, tmp_path: Path) -> tuple[Bundle, dict[str, str], str]:
    """The small school synced with Omar (PNR[1]) reachable by e-mail; returns his user id."""
    b, ids = school()
    b.get(ids["omar"])["emails"] = [{"value": "omar.nilsson@example.invalid", "type": "Privat"}]
    assert directory.sync(b.write(tmp_path / "first")).status == "applied"
    return b, ids, directory.user(PNR[1])["id"]


def assert_masked(
    directory: PlanDirectory,
    user_id: str,
    *,
    ended: bool | None = None,
    runs: tuple[RunResult, ...] = (),
) -> None:
    """Omar's account is masked in the export, and neither it nor ``runs`` name him."""
    export: dict[str, Any] = directory.export()
    user = next(u for u in export["users"] if u["id"] == user_id)
    assert user["given_name"] == "Skyddad" and user["civic_no"] != PNR[1], user
    assert user["email"] is None
    if ended is not None:
        assert (user["status"] == "ended") is ended
    seen = json.dumps(export, ensure_ascii=False, default=str) + shown(*runs)
    for secret in ("Omar", "Nilsson", PNR[1], "omar.nilsson"):
        assert secret not in seen, secret


MARKINGS = ["Skyddad", "skyddad folkbokföring", "Sekretessmarkering ", 7, ["Ingen"], "SKYDDAD"]


@pytest.mark.parametrize("marking", MARKINGS, ids=repr)
def test_r11_an_unreadable_record_whose_marking_is_not_exactly_ingen_is_protected(
    directory: PlanDirectory, tmp_path: Path, marking: object
) -> None:
    b, ids, user_id = omar_synced(directory, tmp_path)
    omar = b.get(ids["omar"])
    omar["sex"] = "Pojke"  # not an SS 12000 value: the record cannot be read
    omar["securityMarking"] = marking
    result = directory.sync(b.write(tmp_path / "second"))
    assert result.status == "applied", shown(result)
    assert_masked(directory, user_id, runs=(result,))
    # The run's own note about the record names nobody, so it stays for the administrator.
    assert "securityMarking is not Ingen" in shown(result)


@pytest.mark.parametrize("marking", ["INGEN", " Ingen", "ingen", "Skyddad", "Sekretess"])
def test_r11_a_readable_record_whose_marking_is_not_exactly_ingen_is_protected(
    directory: PlanDirectory, tmp_path: Path, marking: str
) -> None:
    b, ids, user_id = omar_synced(directory, tmp_path)
    b.get(ids["omar"])["securityMarking"] = marking
    result = directory.sync(b.write(tmp_path / "second"))
    assert result.status == "applied", shown(result)
    assert_masked(directory, user_id, ended=True, runs=(result,))


@pytest.mark.parametrize("marking", ["Ingen", None, "left out"])
def test_r11_an_unreadable_record_marked_exactly_ingen_or_without_marking_is_left_as_it_is(
    directory: PlanDirectory, tmp_path: Path, marking: str | None
) -> None:
    """A marking left out (or null) means none, as in a readable record (R3.1: not gone)."""
    b, ids, user_id = omar_synced(directory, tmp_path)
    b.get(ids["omar"])["birthDate"] = "2012-02-30"
    if marking == "left out":
        del b.get(ids["omar"])["securityMarking"]
    else:
        b.get(ids["omar"])["securityMarking"] = marking
    assert directory.sync(b.write(tmp_path / "second")).status == "applied"
    omar = next(u for u in directory.export()["users"] if u["id"] == user_id)
    assert omar["given_name"] == "Omar" and omar["status"] == "active"  # R3.1: not gone


@pytest.mark.parametrize("mode", sorted(MODES))
def test_r11_a_protected_person_with_an_unreadable_duty_is_masked_all_the_same(
    directory: PlanDirectory, tmp_path: Path, mode: str
) -> None:
    b, ids = school()
    settings = MODES[mode]
    assert directory.sync(b.write(tmp_path / "first"), settings=settings).status == "applied"
    karin = directory.user(PNR[5])
    b.get(ids["karin"])["securityMarking"] = "Sekretessmarkering"
    b.duties[0]["dutyRole"] = "Lärarinna"  # the duty cannot be read: Karin is left alone...
    result = directory.sync(b.write(tmp_path / "second"), settings=settings)
    assert result.status == "applied", shown(result)
    export = directory.export()
    after = next(u for u in export["users"] if u["id"] == karin["id"])
    assert after["given_name"] == "Skyddad" and after["civic_no"] != PNR[5]  # ...but masked
    seen = json.dumps(export, ensure_ascii=False) + shown(result)
    assert "Karin" not in seen and PNR[5] not in seen


def test_r11_a_person_who_becomes_protected_is_ended_even_when_absence_endings_are_suspended(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids, user_id = omar_synced(directory, tmp_path)
    b.get(ids["omar"])["securityMarking"] = "Skyddad folkbokföring"
    b.persons.append({"givenName": "Utan", "familyName": "Id"})  # no id: absence not used
    result = directory.sync(b.write(tmp_path / "second"))
    assert result.status == "applied", shown(result)
    assert "absence-ending-suspended" in {i.code for i in result.issues}
    assert_masked(directory, user_id, ended=True, runs=(result,))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_r11_r1_7_a_protected_and_an_unprotected_person_with_one_number_are_both_skipped(
    directory: PlanDirectory, tmp_path: Path, mode: str
) -> None:
    b, ids = school()
    twin = b.person("Hemlig", "Tvilling", PNR[1], key="twin")
    b.enrol(twin, ids["unit"])
    b.get(twin)["securityMarking"] = "Skyddad folkbokföring"
    result = directory.sync(b.write(tmp_path / "a"), settings=MODES[mode])
    assert result.status == "applied", shown(result)
    duplicate = [i for i in result.issues if i.code == "duplicate-civic-no"]
    assert len(duplicate) == 1 and "Omar Nilsson" in duplicate[0].message
    assert "Hemlig" not in shown(result) and "Tvilling" not in shown(result)
    users = directory.export()["users"]
    assert PNR[1] not in {u["civic_no"] for u in users}
    assert not any(u["given_name"] == "Skyddad" for u in users)


def test_r11_the_export_never_lists_the_guardians_of_a_protected_student(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    assert directory.sync(b.write(tmp_path / "a"), settings=PSEUDONYMISE).status == "applied"
    b.get(ids["elsa"])["securityMarking"] = "Skyddad folkbokföring"
    assert directory.sync(b.write(tmp_path / "b"), settings=PSEUDONYMISE).status == "applied"
    users = directory.export()["users"]
    elsa = next(u for u in users if u["given_name"] == "Skyddad")
    assert elsa["guardians"] == []
    assert PNR[0] not in json.dumps(users)


def test_r11_a_protected_teacher_is_ended_even_when_some_duty_names_no_readable_person(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    assert directory.sync(b.write(tmp_path / "a")).status == "applied"
    karin = directory.user(PNR[5])
    b.get(ids["karin"])["securityMarking"] = "Skyddad  folkbokföring"  # two spaces
    b.get(ids["karin"])["sex"] = "?"
    b.duties[1]["person"] = {"id": 42}  # staff links are kept while this duty is unreadable
    assert directory.sync(b.write(tmp_path / "b")).status == "applied"
    after = next(u for u in directory.export()["users"] if u["id"] == karin["id"])
    assert after["given_name"] == "Skyddad" and after["status"] == "ended"
    assert not any(link["active"] for link in after["schools"])
