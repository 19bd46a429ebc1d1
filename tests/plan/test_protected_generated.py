"""R11 on a generated municipality, at the plan level: every situation in which protection must
fail safe happens in one register, then the run reports and the export are searched for every
protected person.

The generated municipality (``generate --size tiny``) already holds persons with protected
identity. On top of that, between runs:

- a student's record becomes unreadable with a padded marking (``"Sekretessmarkering "``);
- a student who had an invalid personnummer (an ``invalid-civic-no`` naming them, before they had
  an account) gets a valid one and becomes protected;
- a student is renamed by the register, then becomes protected;
- a teacher becomes protected while one of their duties cannot be read;
- a protected person appears with another student's personnummer;
- a record without id suspends absence endings.

``tests/integration/test_protected_generated.py`` runs the same register on SQLite and PostgreSQL
with a ``user rekey`` between the runs, and scans every table and every command's output.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.builder import GeneratedRegister
from tests.conftest import TODAY, invoke
from tests.plan.harness import PlanDirectory


def test_r11_no_protected_person_of_a_generated_municipality_leaves_a_trace(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    bundle = tmp_path / "kommun"
    made = invoke("--today", TODAY.isoformat(), "generate", "--size", "tiny", "--out", str(bundle))
    assert made.code == 0, made.err
    schedules = sorted((bundle / "schedule").glob("*.txt"))
    reg = GeneratedRegister(bundle)
    students, teacher = reg.students_and_a_teacher()
    padded, renumbered, renamed, shared = students[:4]
    secrets = reg.protected_secrets()

    # Run 1: one student's number is invalid (the issue names them; they get no account).
    good_number = renumbered["civicNo"]["value"]
    renumbered["civicNo"]["value"] = good_number[:-1] + str((int(good_number[-1]) + 1) % 10)
    reg.write()
    first = directory.sync(bundle, *schedules)
    assert first.status == "applied"
    named = f"{renumbered['givenName']} {renumbered['familyName']}"
    assert any(named in i.message for i in first.issues if i.code == "invalid-civic-no")

    # Run 2: the register renames a student.
    secrets += reg.secrets_of(renamed)
    renamed["familyName"] += "-Berg"
    reg.write()
    assert directory.sync(bundle, *schedules).status == "applied"

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

    # The run that protects them, the one after it, and the export: what the CLI would print.
    runs = [directory.sync(bundle, *schedules) for _ in range(2)]
    assert all(r.status == "applied" for r in runs), [r.status for r in runs]
    codes = {i.code for i in runs[1].issues}
    assert {"duplicate-civic-no", "absence-ending-suspended", "invalid-record"} <= codes, codes
    text = "\n".join(
        json.dumps(doc, ensure_ascii=False, default=str)
        for doc in [*(r.as_report() for r in runs), directory.export()]
    )
    assert len(secrets) > 20
    for secret in secrets:
        assert secret not in text, secret
