"""The log (issue 13): a line per stage and per run, JSON with ``--log-format json``, and nothing
in it that it must not hold: no personnummer, no protected person, no secret, no query string."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schoolsync import logs
from schoolsync.domain.settings import Settings
from schoolsync.store.db import Store
from schoolsync.web.app import create_app
from tests.builder import GeneratedRegister
from tests.conftest import TODAY, invoke

SECRET = "a-webhook-secret-nobody-may-see"


def test_a_json_log_has_a_line_per_stage_and_the_run_and_no_personnummer_or_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "kommun"
    assert (
        invoke(
            "--today", TODAY.isoformat(), "generate", "--size", "tiny", "--out", str(bundle)
        ).code
        == 0
    )
    monkeypatch.setenv("SCHOOLSYNC_TEST_HOOK_SECRET", SECRET)
    settings = tmp_path / "s.toml"
    settings.write_text(
        '[notify.webhook]\nurl = "http://127.0.0.1:9/hook"\n'
        'secret_env = "SCHOOLSYNC_TEST_HOOK_SECRET"\nattempts = 1\n',
        "utf-8",
    )
    db = (
        "--db",
        f"sqlite:///{tmp_path / 'd.db'}",
        "--today",
        TODAY.isoformat(),
        "--config",
        str(settings),
        "--log-format",
        "json",
        "--log-level",
        "debug",
    )
    result = invoke(*db, "sync", "--notify", str(bundle))
    assert result.code == 0, result.err
    lines = [json.loads(x) for x in result.err.splitlines() if x.startswith("{")]
    stages = [x["stage"] for x in lines if "stage" in x]
    assert stages[:3] == ["Reading sources", "Loading the directory", "Planning"]
    assert all(isinstance(x["seconds"], float) for x in lines if "stage" in x)
    run = next(x for x in lines if x.get("msg") == "run 1 applied")
    assert run["changes"] > 100 and run["issues"]["error"] >= 1
    text = result.err
    reg = GeneratedRegister(bundle)
    numbers = [p["civicNo"]["value"] for p in reg.persons if p.get("civicNo")]
    assert len(numbers) > 100
    for number in numbers:
        assert number not in text and number.replace("-", "") not in text
    for secret in reg.protected_secrets():
        assert secret not in text
    assert SECRET not in text and "/hook" not in text


def test_text_lines_mask_anything_shaped_like_a_personnummer() -> None:
    line = logs.scrub("user 201203042380 and 20120304-2380, 120304+2380, 19121212TF42, id 7f3a")
    assert "2380" not in line and "TF42" not in line
    assert line.count("-****") == 4 and "id 7f3a" in line
    assert logs.scrub("run 12 at 2025-10-15, uuid 01a24263-b0a9-7297-98f1-7e3298201207") == (
        "run 12 at 2025-10-15, uuid 01a24263-b0a9-7297-98f1-7e3298201207"
    )


def test_serve_logs_each_request_without_its_query_string(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    store.migrate()
    try:
        logs.configure("info", "json")
        client = TestClient(create_app(store, Settings(), lambda: TODAY))
        client.get("/persons?q=Anna+Berg+201203042380")
        client.get("/api/v1/users?school=x")
    finally:
        logs.configure("warning", "text")
        store.dispose()
    err = capsys.readouterr().err
    requests = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    # /persons sends a browser that is not signed in to /login (with where it was going).
    paths = [(r["method"], r["path"]) for r in requests]
    assert paths == [("GET", "/persons"), ("GET", "/login"), ("GET", "/api/v1/users")]
    assert all(isinstance(r["status"], int) and r["ms"] >= 0 for r in requests)
    assert "Anna" not in err and "2380" not in err and "school=x" not in err
