"""R11 on a generated municipality: every situation in which protection must fail safe happens in
one register, then every output and the database are scanned for every protected person.

The generated municipality (``generate --size tiny``) already holds persons with protected
identity. On top of that, between runs:

- a student's record becomes unreadable with a padded marking (``"Sekretessmarkering "``);
- a student who had an invalid personnummer (an ``invalid-civic-no`` naming them, before they had
  an account) gets a valid one and becomes protected;
- a student is re-keyed (``user rekey``) and renamed, then becomes protected;
- a teacher becomes protected while one of their duties cannot be read;
- a protected person appears with another student's personnummer;
- a record without id suspends absence endings.

What the run report and the export show is also tested at the plan level, without the rekey
(``tests/plan/test_protected_generated.py``); this one scans the database and every command.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from schoolsync.domain.personnummer import parse_civic_no
from tests.builder import GeneratedRegister
from tests.conftest import Directory, invoke
from tests.integration.test_identity import everything_written

TODAY = "2025-10-15"


def cli(db_url: str, *args: str) -> Any:
    return invoke("--db", db_url, "--today", TODAY, *args)


def test_r11_no_protected_person_of_a_generated_municipality_leaves_a_trace(
    directory: Directory, tmp_path: Path
) -> None:
    db_url = directory.url
    bundle = tmp_path / "kommun"
    assert cli(db_url, "generate", "--size", "tiny", "--out", str(bundle)).code == 0
    schedules = [str(p) for p in sorted((bundle / "schedule").glob("*.txt"))]
    reg = GeneratedRegister(bundle)
    students, teacher = reg.students_and_a_teacher()
    padded, renumbered, renamed, shared = students[:4]
    secrets = reg.protected_secrets()

    # Run 1: one student's number is invalid (the issue names them; they get no account).
    good_number = renumbered["civicNo"]["value"]
    renumbered["civicNo"]["value"] = good_number[:-1] + str((int(good_number[-1]) + 1) % 10)
    reg.write()
    assert cli(db_url, "sync", str(bundle), *schedules).code == 0
    assert (
        f"{renumbered['givenName']} {renumbered['familyName']}"
        in cli(db_url, "runs", "show", "1", "--json", "--all").out
    )

    # Run 2: a platform-first rekey, then the register renames that student.
    old = parse_civic_no(renamed["civicNo"]["value"], today=date.fromisoformat(TODAY)).value
    new = f"{old[:8]}TF01"
    assert cli(db_url, "user", "rekey", old, new).code == 0
    secrets += [*reg.secrets_of(renamed), new]
    renamed["civicNo"]["value"] = new
    renamed["familyName"] += "-Berg"
    reg.write()
    assert cli(db_url, "sync", str(bundle), *schedules).code == 0

    # Run 3: every situation at once.
    for person in (padded, renumbered, renamed, teacher):
        secrets += reg.secrets_of(person)
    renumbered["civicNo"]["value"] = good_number
    secrets += reg.secrets_of(renumbered)
    padded["securityMarking"] = "Sekretessmarkering "
    padded["sex"] = "?"
    renumbered["securityMarking"] = "Skyddad folkbokföring"
    renamed["securityMarking"] = "Sekretessmarkering"
    teacher["securityMarking"] = "Skyddad folkbokföring"
    next(d for d in reg.duties if d["person"]["id"] == teacher["id"])["dutyRole"] = "?"
    twin = {
        **json.loads(json.dumps(shared)),
        "id": "a-protected-twin",
        "givenName": "Hemlig",
        "familyName": "Tvillingsson",
        "securityMarking": "Skyddad folkbokföring",
    }
    reg.persons.append(twin)
    secrets += ["Hemlig Tvillingsson"]
    reg.persons.append({"givenName": "Utan", "familyName": "Id"})
    reg.write()

    seen: list[str] = []
    runs = ("1", "2", "3", "4")
    signatures = sorted({d["signature"] for d in reg.duties if d.get("signature")})
    groups = sorted(
        {g["displayName"] for g in json.loads((bundle / "groups.json").read_text("utf-8"))["data"]}
    )
    for command in (
        ["sync", str(bundle), *schedules],
        ["sync", "--json", str(bundle), *schedules],
        ["runs"],
        ["runs", "--json"],
        *(
            ["runs", "show", n, *flags]
            for n in runs
            for flags in ([], ["--json", "--log", "--all"])
        ),
        ["export", "--json"],
        ["export"],
        *(["troubleshoot", "group", name, "--json"] for name in groups[:12]),
        *(["troubleshoot", "signature", sig] for sig in signatures),
    ):
        result = cli(db_url, *command)
        assert "Internal error" not in result.err, (command, result.err)
        seen += [result.out, result.err]
    for n, args in enumerate((["oneroster"], ["oneroster", "--since", "1"], ["sds"])):
        out = tmp_path / f"set-{n}"
        result = cli(db_url, "export", "--format", *args, "--out", str(out))
        assert result.code == 0, result.err
        seen += [result.out, *(p.read_text("utf-8") for p in sorted(out.glob("*.csv")))]
    codes = {i["code"] for i in json.loads(seen[2])["issues"]}
    assert {"duplicate-civic-no", "absence-ending-suspended", "invalid-record"} <= codes, codes
    text = everything_written(directory, tmp_path, seen)
    assert len(secrets) > 20
    for secret in secrets:
        assert secret not in text, secret
