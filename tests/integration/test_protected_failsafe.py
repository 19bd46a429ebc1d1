"""Protected identity fails safe (R11), end to end: a person who is, or may be, protected
never shows under their real name or number in what the database holds, and every earlier trace
is scrubbed.

What the run report and the export show is tested at the plan level, every marking and mode
included (``tests/plan/test_protected_failsafe.py``). These run through the CLI (in-process) on
SQLite and PostgreSQL: earlier runs' issues (``runs show``), troubleshooting, the hand commands,
and one register where every situation happens at once, every output and table scanned.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.builder import PNR, Bundle, school
from tests.conftest import Directory, invoke
from tests.integration.test_identity import everything_written

TODAY = "2025-10-15"
PSEUDONYMISE = '[sync]\nprotected_identity = "pseudonymise"\n'


def cli(db_url: str, *args: str, config: Path | None = None) -> Any:
    extra = ("--config", str(config)) if config else ()
    return invoke("--db", db_url, "--today", TODAY, *extra, *args)


def export(db_url: str) -> dict[str, Any]:
    result = cli(db_url, "export", "--json")
    assert result.code == 0, result.err
    data: dict[str, Any] = json.loads(result.out)
    return data


def outputs(db_url: str, *commands: list[str]) -> str:
    """Everything a person would see from these commands, stdout and stderr."""
    text = ""
    for command in commands:
        result = cli(db_url, *command)
        text += result.out + result.err
    return text


def omar_synced(db_url: str, tmp_path: Path) -> tuple[Bundle, dict[str, str], str]:
    """The small school synced with Omar (PNR[1]) reachable by e-mail; returns his user id."""
    b, ids = school()
    b.get(ids["omar"])["emails"] = [{"value": "omar.nilsson@example.invalid", "type": "Privat"}]
    assert cli(db_url, "sync", str(b.write(tmp_path / "first"))).code == 0
    omar = next(u for u in export(db_url)["users"] if u["civic_no"] == PNR[1])
    return b, ids, omar["id"]


def assert_scrubbed(db_url: str) -> None:
    """Neither troubleshooting nor the run history (before and after) names Omar."""
    seen = outputs(
        db_url,
        ["troubleshoot", "group", "7A"],
        ["troubleshoot", "group", "Ma 7A", "--json"],
        ["runs", "show", "1", "--json", "--log"],
        ["runs", "show", "2"],
    )
    for secret in ("Omar", "Nilsson", PNR[1], "omar.nilsson"):
        assert secret not in seen, secret


def test_r11_an_unreadable_record_whose_marking_is_not_exactly_ingen_is_protected(
    db_url: str, tmp_path: Path
) -> None:
    """Every marking is tested at the plan level; here one, in the history."""
    b, ids, _ = omar_synced(db_url, tmp_path)
    omar = b.get(ids["omar"])
    omar["sex"] = "Pojke"  # not an SS 12000 value: the record cannot be read
    omar["securityMarking"] = "Sekretessmarkering "
    result = cli(db_url, "sync", str(b.write(tmp_path / "second")))
    assert result.code == 0, result.err
    assert "Omar" not in result.out + result.err
    assert_scrubbed(db_url)
    # The run's own note about the record names nobody, so it stays for the administrator.
    shown = cli(db_url, "runs", "show", "2", "--json", "--all").out
    assert "securityMarking is not Ingen" in shown


def test_r11_a_readable_record_whose_marking_is_not_exactly_ingen_is_protected(
    db_url: str, tmp_path: Path
) -> None:
    """Every marking is tested at the plan level; here one, in the history."""
    b, ids, _ = omar_synced(db_url, tmp_path)
    b.get(ids["omar"])["securityMarking"] = " Ingen"
    result = cli(db_url, "sync", str(b.write(tmp_path / "second")))
    assert result.code == 0, result.err
    assert "Omar" not in result.out + result.err
    assert_scrubbed(db_url)


@pytest.mark.parametrize("mode", ["exclude", "pseudonymise"])
def test_r11_a_protected_person_with_an_unreadable_duty_is_masked_all_the_same(
    db_url: str, tmp_path: Path, mode: str
) -> None:
    b, ids = school()
    config = tmp_path / "s.toml"
    config.write_text(PSEUDONYMISE if mode == "pseudonymise" else "", encoding="utf-8")
    assert cli(db_url, "sync", str(b.write(tmp_path / "first")), config=config).code == 0
    b.get(ids["karin"])["securityMarking"] = "Sekretessmarkering"
    b.duties[0]["dutyRole"] = "Lärarinna"  # the duty cannot be read: Karin is left alone...
    result = cli(db_url, "sync", str(b.write(tmp_path / "second")), config=config)
    assert result.code == 0, result.err
    seen = outputs(db_url, ["troubleshoot", "signature", "KAHO"])
    assert "Karin" not in seen and PNR[5] not in seen  # ...but masked


def test_r11_a_person_who_becomes_protected_is_ended_even_when_absence_endings_are_suspended(
    db_url: str, tmp_path: Path
) -> None:
    b, ids, _ = omar_synced(db_url, tmp_path)
    b.get(ids["omar"])["securityMarking"] = "Skyddad folkbokföring"
    b.persons.append({"givenName": "Utan", "familyName": "Id"})  # no id: absence not used
    result = cli(db_url, "sync", "--json", str(b.write(tmp_path / "second")))
    assert result.code == 0, result.err
    assert "absence-ending-suspended" in {i["code"] for i in json.loads(result.out)["issues"]}
    assert_scrubbed(db_url)


def test_r11_issues_of_earlier_runs_are_scrubbed_even_from_before_the_person_had_an_account(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    vera = b.student("Vera", "Fel", "201201012381", ids["unit"])  # a wrong check digit
    assert cli(db_url, "sync", str(b.write(tmp_path / "first"))).code == 0
    shown = cli(db_url, "runs", "show", "1", "--json").out
    assert "Vera Fel" in shown  # the administrator was told who it is
    b.get(vera)["civicNo"]["value"] = PNR[4]
    b.get(vera)["securityMarking"] = "Skyddad folkbokföring"
    assert cli(db_url, "sync", str(b.write(tmp_path / "second"))).code == 0
    seen = outputs(db_url, ["runs", "show", "1", "--json"], ["runs", "show", "1"])
    assert "Vera" not in seen and "Fel (" not in seen


def test_r11_issues_that_named_a_person_by_an_earlier_name_are_scrubbed(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    b.responsible(ids["omar"], "a-guardian-missing-from-the-export")
    assert cli(db_url, "sync", str(b.write(tmp_path / "first"))).code == 0
    assert "Omar Nilsson" in cli(db_url, "runs", "show", "1", "--json").out
    b.get(ids["omar"])["familyName"] = "Berg"  # renamed; the issue still names him "Nilsson"
    assert cli(db_url, "sync", str(b.write(tmp_path / "second"))).code == 0
    b.get(ids["omar"])["securityMarking"] = "Sekretessmarkering"
    assert cli(db_url, "sync", str(b.write(tmp_path / "third"))).code == 0
    seen = outputs(db_url, *(["runs", "show", str(n), "--json", "--log"] for n in (1, 2, 3)))
    for secret in ("Omar", "Nilsson", "Berg"):
        assert secret not in seen, secret


def test_r11_runs_show_masks_numbers_after_a_rekey_and_a_civic_no_change(
    db_url: str, tmp_path: Path
) -> None:
    b, ids = school()
    assert cli(db_url, "sync", str(b.write(tmp_path / "a"))).code == 0
    assert cli(db_url, "user", "rekey", PNR[1], PNR[2]).code == 0
    b.get(ids["elsa"])["civicNo"]["value"] = PNR[3]  # same register id: civic-no-changed
    b.get(ids["omar"])["civicNo"]["value"] = PNR[2]
    assert cli(db_url, "sync", str(b.write(tmp_path / "b"))).code == 0
    for run in ("2", "3"):
        for args in (["--json", "--log"], ["--log"]):
            shown = cli(db_url, "runs", "show", run, *args)
            assert shown.code == 0, shown.err
            # Twelve digits, not inside an id (a UUID's last part is twelve hex digits, at times
            # all of them decimal ones).
            assert not re.search(r"(?<![0-9a-f-])\d{12}(?![0-9a-f])", shown.out), shown.out


@pytest.mark.parametrize(
    "command",
    [
        ["user", "edit", "201201012381", "--email", "x@example.invalid"],
        ["user", "edit", PNR[4], "--email", "x@example.invalid"],
        ["user", "rekey", "201201012381", PNR[4]],
        ["user", "rekey", PNR[4], PNR[3]],
        ["user", "merge", PNR[4], PNR[3]],
        ["user", "merge", "201201012381", PNR[0]],
    ],
    ids=" ".join,
)
def test_r11_hand_commands_never_echo_the_full_number_typed(
    db_url: str, tmp_path: Path, command: list[str]
) -> None:
    b, _ = school()
    assert cli(db_url, "sync", str(b.write(tmp_path / "a"))).code == 0
    result = cli(db_url, *command)
    assert result.code == 1, result.out
    assert not re.search(r"\d{12}|\d{8}-\d{4}|\d{6}-\d{4}", result.out + result.err), result.err
    assert "-****" in result.err


def test_r11_no_protected_person_leaves_a_trace_in_any_output_or_the_database(
    directory: Directory, tmp_path: Path
) -> None:
    """Every situation above in one register, then every output and the database file scanned."""
    db_url = directory.url
    b, ids = school()
    secrets: list[str] = []

    def protect(pid: str) -> None:
        person = b.get(pid)
        secrets.extend([person["givenName"], person["familyName"]])
        if "civicNo" in person:
            secrets.append(person["civicNo"]["value"])

    vera = b.student("Vera", "Felnummer", "201201012381", ids["unit"])
    greta = b.person("Greta", "Sekretessdottir", PNR[8])
    b.duty(greta, ids["unit"], "Lärare", "GRSE")
    b.responsible(ids["omar"], "a-guardian-missing-from-the-export")
    first = cli(db_url, "sync", str(b.write(tmp_path / "first")))
    assert first.code == 0, first.err
    assert cli(db_url, "user", "rekey", PNR[1], PNR[2]).code == 0
    b.get(ids["omar"])["civicNo"]["value"] = PNR[2]
    b.get(ids["omar"])["familyName"] = "Nilsson-Berg"
    assert cli(db_url, "sync", str(b.write(tmp_path / "second"))).code == 0
    # Now: Omar (renamed, re-keyed, named by an issue) becomes protected with a padded marking
    # in an unreadable record; Vera (an invalid number before) becomes protected; Greta's
    # marking is set while her duty cannot be read; a protected twin shares Elsa's number;
    # and a record without id suspends absence endings.
    protect(ids["omar"])
    secrets.extend(["Omar", "Nilsson", PNR[1]])
    b.get(ids["omar"])["securityMarking"] = "Sekretessmarkering "
    b.get(ids["omar"])["sex"] = "?"
    protect(vera)
    b.get(vera)["civicNo"]["value"] = PNR[4]
    b.get(vera)["securityMarking"] = "Skyddad folkbokföring"
    secrets.append(PNR[4])
    protect(greta)
    b.get(greta)["securityMarking"] = "Sekretessmarkering"
    b.duties[-1]["dutyRole"] = "?"
    twin = b.person("Tvilling", "Hemligsson", PNR[0], key="twin")
    b.enrol(twin, ids["unit"])
    b.get(twin)["securityMarking"] = "Skyddad folkbokföring"
    secrets.extend(["Tvilling", "Hemligsson"])
    b.persons.append({"givenName": "Utan", "familyName": "Id"})
    third = b.write(tmp_path / "third")
    seen = []  # what was shown before they were protected cannot be unshown; what follows can
    for command in (
        ["sync", str(third)],
        ["sync", "--json", str(third)],
        ["runs"],
        *(["runs", "show", str(n), *flags] for n in (1, 2, 3, 4, 5)
          for flags in ([], ["--json", "--log"], ["--log"])),
        ["export", "--json"],
        ["export"],
        ["troubleshoot", "group", "7A"],
        ["troubleshoot", "group", "Ma 7A", "--json"],
        ["troubleshoot", "signature", "GRSE"],
        ["troubleshoot", "signature", "KAHO", "--json"],
    ):  # fmt: skip
        result = cli(db_url, *command)
        seen += [result.out, result.err]
    text = everything_written(directory, tmp_path, seen)
    assert secrets
    for secret in secrets:
        assert secret not in text, secret


def test_r11_an_account_merged_into_a_person_who_becomes_protected_is_masked_too(
    db_url: str, tmp_path: Path
) -> None:
    b, ids, old_id = omar_synced(db_url, tmp_path)
    omar = b.get(ids["omar"])
    omar["id"], omar["civicNo"]["value"], omar["birthDate"] = "new-id", PNR[2], "2012-01-01"
    assert cli(db_url, "sync", str(b.write(tmp_path / "second"))).code == 0
    new = next(u for u in export(db_url)["users"] if u["civic_no"] == PNR[2])
    assert cli(db_url, "user", "merge", new["id"], old_id).code == 0
    omar["securityMarking"] = "Skyddad folkbokföring"
    assert cli(db_url, "sync", str(b.write(tmp_path / "third"))).code == 0
    seen = outputs(db_url, ["export", "--json"])
    for secret in ("Omar", "Nilsson", PNR[1], PNR[2], "omar.nilsson"):
        assert secret not in seen, secret
