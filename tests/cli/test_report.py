"""``schoolsync report --school S`` (issue 13): what one school's people must fix, grouped by who
fixes it, with the change to make and since when it has been open; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.builder import GeneratedRegister
from tests.cli.conftest import Inbox
from tests.conftest import invoke

TODAY = "2025-10-15"


def test_a_schools_report_groups_what_to_fix_by_who_fixes_it_and_since_when(
    db_url: str,
    tmp_path: Path,
    smtp: tuple[int, Inbox],
) -> None:
    bundle = tmp_path / "kommun"
    assert invoke("--today", TODAY, "generate", "--size", "tiny", "--out", str(bundle)).code == 0
    schedules = sorted(str(p) for p in (bundle / "schedule").glob("*.txt"))
    db = ("--db", db_url, "--today", TODAY)
    assert invoke(*db, "sync", str(bundle), *schedules).code == 0  # run 1
    assert invoke(*db, "sync", str(bundle), *schedules).code == 0  # run 2: the same issues
    reg = GeneratedRegister(bundle)
    student = reg.students_and_a_teacher()[0][0]
    student["civicNo"]["value"] = student["civicNo"]["value"][:-1] + (
        "0" if student["civicNo"]["value"][-1] != "0" else "1"
    )  # a wrong check digit: new in run 3
    reg.write()
    assert invoke(*db, "sync", str(bundle), *schedules).code == 0  # run 3
    school = json.loads(invoke(*db, "export", "--json").out)["schools"][0]["name"]

    md = invoke(*db, "report", "--school", school)
    assert md.code == 0, md.err
    text = md.out
    assert text.startswith(f"# What {school} must fix")
    schedule_part = text.index("## The schedule (Skola24/Novaschem)")
    register_part = text.index("## The register")
    assert schedule_part < register_part
    assert "schedule-unknown-group" in text[schedule_part:register_part]
    assert "class-name-comma" in text[register_part:]
    rows = list(csv.DictReader(io.StringIO(invoke(*db, "report", "--school", school, "--format",
                                                  "csv").out)))  # fmt: skip
    since = {(r["code"], r["open_since_run"]) for r in rows}
    assert ("class-name-comma", "1") in since  # open since the first run
    fresh = [r for r in rows if r["code"] == "invalid-civic-no" and r["open_since_run"] == "3"]
    assert fresh, rows  # the new one, since run 3
    assert {r["who_fixes"] for r in rows} >= {"schedule", "register"}
    assert all(r["message"].endswith(".") for r in rows)
    page = invoke(*db, "report", "--school", school, "--format", "html").out
    assert page.startswith("<!doctype html>") and "<table>" in page and "&#x27;" in page

    missing = invoke(*db, "report", "--school", "Ingen skola")
    assert missing.code == 1 and "no school named 'Ingen skola'" in missing.err

    port, inbox = smtp
    settings = tmp_path / "s.toml"
    settings.write_text(
        f'[notify.email]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        f'recipients = ["it@kommun.invalid"]\n[reports.recipients]\n"{school}" = '
        '["rektor@kommun.invalid", "schemalaggare@kommun.invalid"]\n',
        "utf-8",
    )
    sent = invoke(*db, "--config", str(settings), "report", "--school", school, "--send")
    assert sent.code == 0, sent.err
    assert "went to 2 recipient(s)" in sent.out
    to, mail = inbox.messages[0]
    assert to == ["rektor@kommun.invalid", "schemalaggare@kommun.invalid"]
    assert f"what {school} must fix" in mail["Subject"]
    nobody = invoke(*db, "report", "--school", school, "--send")
    assert nobody.code == 1 and "has nobody to go to" in nobody.err
