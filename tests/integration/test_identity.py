"""Identity: protected persons (R11) and personnummer changes (R1.4–R1.6), on both databases.

What needs only a sync is tested at the plan level (``tests/plan/test_identity.py``); these look
into every table and output, or use the rekey and merge commands.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schoolsync.domain.settings import Settings
from schoolsync.store.db import Store
from tests.builder import PNR, Bundle, school
from tests.conftest import TODAY, Directory, invoke
from tests.schedule_builder import Lesson, Schedule

PSEUDONYMISE = Settings.model_validate({"sync": {"protected_identity": "pseudonymise"}})
SECRET = ["Wilma", "Öberg", "Annika", "Skarp", PNR[3], PNR[13], "20120102-2397", "120102-2397"]


def protected_school() -> tuple[Bundle, dict[str, str]]:
    """The small school plus a protected student (with a protected guardian) in 7A and Ma 7A,
    and a protected teacher who teaches Ma 7A."""
    b, ids = school()
    wilma = b.student("Wilma", "Öberg", PNR[3], ids["unit"])
    b.get(wilma)["securityMarking"] = "Skyddad folkbokföring"
    b.get(wilma)["addresses"] = [
        {"type": "Folkbokföring", "streetAddress": "Hemlig väg 1", "locality": "Ort",
         "postalCode": "999 11", "country": "SE"}
    ]  # fmt: skip
    annika = b.person("Annika", "Öberg", PNR[13], securityMarking="Skyddad folkbokföring")
    b.responsible(wilma, annika)
    b.responsible(ids["elsa"], annika)  # also named by an unprotected student
    teacher = b.person("Greta", "Skarp", PNR[8], securityMarking="Sekretessmarkering")
    duty = b.duty(teacher, ids["unit"], "Lärare", "GRSK")
    for gid in (ids["7A"], ids["ma7a"]):
        b.find_group(gid)["groupMemberships"].append({"person": {"id": wilma}})
    b.activities[0]["teachers"].append({"duty": {"id": duty}})
    ids.update(wilma=wilma, annika=annika, teacher=teacher)
    return b, ids


def everything_written(directory: Directory, tmp_path: Path, outputs: list[str]) -> str:
    """Every output plus every row of every table, as one text to search."""
    text = "\n".join(outputs)
    store = Store(directory.url)
    try:
        with store.connect() as conn:
            for name in sa.inspect(conn).get_table_names():
                for row in conn.execute(sa.text(f'SELECT * FROM "{name}"')):
                    text += "\n" + " ".join(str(v) for v in row)
    finally:
        store.dispose()
    if directory.url.startswith("sqlite:///"):
        raw = Path(directory.url.removeprefix("sqlite:///"))
        for path in (raw, Path(f"{raw}-wal")):
            if path.exists():
                text += path.read_bytes().decode("utf-8", errors="replace")
    return text


def cli_outputs(directory: Directory, *args: str) -> list[str]:
    db = ["--db", directory.url, "--today", TODAY.isoformat()]
    outs = []
    for command in (
        ["sync", *args],
        ["sync", "--json", *args],
        ["runs"],
        ["runs", "show", "1", "--json", "--log"],
        ["runs", "show", "1"],
        ["export", "--json"],
        ["export"],
        ["troubleshoot", "group", "Ma 7A"],
        ["troubleshoot", "group", "7A", "--json"],
        ["troubleshoot", "signature", "GRSK"],
    ):
        result = invoke(*db, *command)
        assert result.code == 0, result.err
        outs += [result.out, result.err]
    return outs


def test_r11_protected_persons_leave_no_trace_anywhere(
    directory: Directory, tmp_path: Path
) -> None:
    b, _ = protected_school()
    bundle = b.write(tmp_path / "bundle")
    schedule = Schedule(lessons=[Lesson("Ma 7A", teachers="KAHO,GRSK")]).write(tmp_path / "s.txt")
    text = everything_written(
        directory, tmp_path, cli_outputs(directory, str(bundle), str(schedule))
    )
    for secret in [*SECRET, "Hemlig väg"]:
        assert secret not in text, secret
    export = directory.export()
    assert len(export["users"]) == 5  # the small school's own five people
    elsa = directory.user(PNR[0])
    assert elsa["guardians"] == [{"civic_no": PNR[10], "relation": "Vårdnadshavare",
                                  "active": True}]  # fmt: skip


def test_r11_pseudonymise_links_a_pseudonym_without_names_number_contact_or_guardians(
    directory: Directory, tmp_path: Path
) -> None:
    b, _ = protected_school()
    result = directory.sync(b.write(tmp_path / "a"), settings=PSEUDONYMISE)
    assert "protected-identity-pseudonymised" in {i.code for i in result.issues}
    export = directory.export()
    pseudonyms = [u for u in export["users"] if u["given_name"] == "Skyddad"]
    assert len(pseudonyms) == 2  # Wilma and the teacher; Annika is only a guardian: no account
    for user in pseudonyms:
        assert re.fullmatch(r"18\d{6}TF\d{2}", user["civic_no"])
        assert user["email"] is None and user["mobile"] is None and user["guardians"] == []
    klass = next(c for c in export["classes"] if c["name"] == "7A")
    assert {s["civic_no"] for s in klass["students"]} & {u["civic_no"] for u in pseudonyms}
    ma = next(g for g in export["groups"] if g["name"] == "Ma 7A")
    assert "GRSK" in ma["teachers"]  # the pseudonymised teacher still teaches
    text = everything_written(directory, tmp_path, [])
    for secret in SECRET:
        assert secret not in text, secret
    again = directory.sync(b.write(tmp_path / "a"), settings=PSEUDONYMISE)
    assert not any(again.changes["users"].values())  # the pseudonym is stable


def test_r11_a_person_who_becomes_protected_is_pseudonymised_on_the_same_account(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["omar"])["emails"] = [{"value": "omar@example.invalid", "type": "Privat"}]
    directory.sync(b.write(tmp_path / "a"))
    b.get(ids["omar"])["familyName"] = "Nilsson-Ek"
    directory.sync(b.write(tmp_path / "b"))  # an update whose change log names him
    before = directory.user(PNR[1])
    b.get(ids["omar"])["securityMarking"] = "Skyddad folkbokföring"
    directory.sync(b.write(tmp_path / "c"), settings=PSEUDONYMISE)
    after = next(u for u in directory.export()["users"] if u["id"] == before["id"])
    assert after["given_name"] == "Skyddad" and after["email"] is None
    assert after["status"] == "active" and re.fullmatch(r"18\d{6}TF\d{2}", after["civic_no"])
    text = everything_written(directory, tmp_path, [])
    assert "Omar" not in text and "Nilsson" not in text and PNR[1] not in text


def test_r11_under_exclude_a_person_who_becomes_protected_is_ended_and_masked(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    user_id = directory.user(PNR[1])["id"]
    b.get(ids["omar"])["securityMarking"] = "Sekretessmarkering"
    directory.sync(b.write(tmp_path / "b"))
    after = next(u for u in directory.export()["users"] if u["id"] == user_id)
    assert after["status"] == "ended" and after["given_name"] == "Skyddad"
    assert "Omar" not in everything_written(directory, tmp_path, [])


def test_r1_4_platform_first_rekey_keeps_the_account(directory: Directory, tmp_path: Path) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    first = directory.user(PNR[1])
    rekey = invoke("--db", directory.url, "user", "rekey", PNR[1], PNR[2])
    assert rekey.code == 0, rekey.err
    assert "20120101-**** → 20120102-****" in rekey.out and PNR[2] not in rekey.out
    omar = b.get(ids["omar"])
    omar["civicNo"]["value"], omar["id"] = PNR[2], "new-register-id"  # no stable id to help
    result = directory.sync(b.write(tmp_path / "b"))
    assert result.changes["users"] == {"created": 0, "updated": 1, "ended": 0, "reactivated": 0}
    assert directory.user(PNR[2])["id"] == first["id"]


def test_r1_4_rekey_onto_a_number_in_use_is_refused_with_the_merge_command(
    directory: Directory, tmp_path: Path
) -> None:
    b, _ = school()
    directory.sync(b.write(tmp_path / "a"))
    result = invoke("--db", directory.url, "user", "rekey", PNR[1], PNR[0])
    assert result.code == 1 and "already has the personnummer 20120101-****" in result.err
    assert "schoolsync user merge" in result.err and PNR[0] not in result.err


def test_r1_6_a_number_changed_in_the_wrong_order_is_detected_and_merged(
    directory: Directory, tmp_path: Path
) -> None:
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    old = directory.user(PNR[1])
    omar = b.get(ids["omar"])
    # The register changed Omar's number AND his register id; the birth date stays.
    omar["id"], omar["civicNo"]["value"], omar["birthDate"] = "x", "201201022389", "2012-01-01"
    b2 = b
    result = directory.sync(b2.write(tmp_path / "b"))
    warning = next(i for i in result.issues if i.code == "possible-civic-no-change")
    new = directory.user("201201022389")
    assert f"schoolsync user merge {new['id']} {old['id']}" in warning.message
    assert PNR[1] not in warning.message and "201201022389" not in warning.message
    merge = invoke("--db", directory.url, "--today", TODAY.isoformat(), "user", "merge",
                    new["id"], old["id"])  # fmt: skip
    assert merge.code == 0, merge.err
    kept = directory.user("201201022389")
    assert kept["id"] == old["id"] and kept["status"] == "active"
    retired = next(u for u in directory.export()["users"] if u["id"] == new["id"])
    assert retired["status"] == "ended" and retired["merged_into"] == old["id"]
    again = directory.sync(b2.write(tmp_path / "b"))
    assert again.changes["users"]["created"] == 0 and again.changes["users"]["ended"] == 0


def test_r1_6_two_accounts_made_in_one_run_can_both_be_merged(
    directory: Directory, tmp_path: Path
) -> None:
    # Ids made in one run share their leading (time) digits: the number a merged-away account
    # keeps must not come from them, or the second merge would collide with the first.
    b, ids = school()
    directory.sync(b.write(tmp_path / "a"))
    olds = {PNR[2]: directory.user(PNR[1]), PNR[3]: directory.user(PNR[0])}
    for key, number in (("omar", PNR[2]), ("elsa", PNR[3])):
        person = b.get(ids[key])
        person["id"], person["civicNo"]["value"], person["birthDate"] = key, number, "2012-01-01"
    directory.sync(b.write(tmp_path / "b"))
    retired = set()
    for number, old in olds.items():
        new = directory.user(number)
        merge = invoke("--db", directory.url, "--today", TODAY.isoformat(), "user", "merge",
                       new["id"], old["id"])  # fmt: skip
        assert merge.code == 0, merge.err
        assert directory.user(number)["id"] == old["id"]
        retired |= {u["civic_no"] for u in directory.export()["users"] if u["id"] == new["id"]}
    assert len(retired) == 2


def test_messages_never_show_a_full_personnummer(directory: Directory, tmp_path: Path) -> None:
    b, ids = school()
    b.student("Vera", "Fel", "201201012381", ids["unit"])
    copy = b.person("Elsa", "Kopia", PNR[0], key="copy")
    b.enrol(copy, ids["unit"])
    result = directory.sync(b.write(tmp_path / "a"))
    text = " ".join(i.message + i.subject for i in result.issues)
    assert not re.search(r"\d{12}|\d{8}-\d{4}|\d{6}-\d{4}", text)
    shown: list[Any] = json.loads(invoke("--db", directory.url, "runs", "show", "1", "--json").out)[
        "issues"
    ]
    assert not re.search(r"\d{8}-\d{4}", json.dumps(shown))
