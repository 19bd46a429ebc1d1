"""Notices and the doctor (issue 13), through the CLI: a held run sends one e-mail to a local
SMTP server (aiosmtpd) and one signed webhook to a local receiver; a quiet run sends nothing;
``doctor`` finds each misconfiguration in a test of its own."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Inbox
from tests.conftest import invoke

TODAY = "2025-10-15"
SECRET = "a-shared-secret-of-the-test"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """A webhook receiver: what it took, and the statuses it is to answer (200 when empty)."""
    got: list[dict[str, Any]] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append({"headers": dict(self.headers), "body": body})
            self.send_response(statuses.pop(0) if statuses else 200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/schoolsync", got, statuses
    finally:
        server.shutdown()


@pytest.fixture
def municipality(tmp_path: Path) -> Path:
    bundle = tmp_path / "kommun"
    assert invoke("--today", TODAY, "generate", "--size", "tiny", "--out", str(bundle)).code == 0
    return bundle


def settings_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schoolsync.toml"
    path.write_text(text, encoding="utf-8")
    return path


def notify_settings(port: int, hook: str) -> str:
    return (
        '[notify]\nbase_url = "https://schoolsync.kommun.invalid"\n'
        f'[notify.email]\nhost = "127.0.0.1"\nport = {port}\nstarttls = false\n'
        'sender = "schoolsync@kommun.invalid"\nrecipients = ["it@kommun.invalid"]\n'
        f'[notify.webhook]\nurl = "{hook}"\nsecret_env = "SCHOOLSYNC_TEST_HOOK_SECRET"\n'
        "attempts = 2\n"
    )


@dataclass
class Notified:
    config: tuple[str, ...]  # the global options: the directory, the day, the settings
    inbox: Inbox
    got: list[dict[str, Any]]  # what the webhook receiver took
    statuses: list[int]  # what it is to answer next


@pytest.fixture
def notified(
    db_url: str,
    tmp_path: Path,
    smtp: tuple[int, Inbox],
    receiver: tuple[str, list[dict[str, Any]], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> Notified:
    """A directory whose settings send notices to the local SMTP server and receiver."""
    monkeypatch.setenv("SCHOOLSYNC_TEST_HOOK_SECRET", SECRET)
    hook, got, statuses = receiver
    path = settings_file(tmp_path, notify_settings(smtp[0], hook))
    return Notified(("--db", db_url, "--today", TODAY, "--config", str(path)), smtp[1], got,
                    statuses)  # fmt: skip


def test_a_held_run_sends_one_email_and_one_signed_webhook_and_a_quiet_run_nothing(
    notified: Notified, municipality: Path, tmp_path: Path
) -> None:
    config, inbox, got = notified.config, notified.inbox, notified.got
    first = invoke(*config, "sync", "--notify", str(municipality))
    assert first.code == 0, first.err
    assert len(inbox.messages) == len(got) == 1  # the first run's issues are all new
    inbox.messages.clear()
    got.clear()
    quiet = invoke(*config, "sync", "--notify", str(municipality))
    assert quiet.code == 0 and inbox.messages == [] and got == []

    held_bundle = tmp_path / "no-duties"
    shutil.copytree(municipality, held_bundle)
    (held_bundle / "duties.json").unlink()
    held = invoke(*config, "sync", "--notify", str(held_bundle))
    assert held.code == 3
    assert len(inbox.messages) == 1 and len(got) == 1
    to, mail = inbox.messages[0]
    assert to == ["it@kommun.invalid"]
    assert "was held, nothing applied" in mail["Subject"]
    text = mail.get_payload()
    assert "schoolsync runs approve 3" in text
    assert "https://schoolsync.kommun.invalid/runs/3" in text
    headers, body = got[0]["headers"], got[0]["body"]
    stamp = headers["X-Schoolsync-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    assert headers["X-Schoolsync-Signature"] == "sha256=" + expected.hexdigest()
    payload = json.loads(body)
    assert (payload["kind"], payload["run_id"], payload["status"]) == ("held", 3, "held")
    assert payload["link"] == "https://schoolsync.kommun.invalid/runs/3"
    # No personal data: no personnummer, no name of the register's persons.
    persons = json.loads(invoke(*config, "export", "--json").out)["users"]
    sent = text + body.decode()
    for user in persons:
        assert user["civic_no"] not in sent and user["family_name"] not in sent


def test_a_failed_run_is_told_and_a_notifier_that_fails_is_a_warning(
    notified: Notified, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, inbox, got = notified.config, notified.inbox, notified.got
    notified.statuses += [500, 503]  # both attempts fail
    monkeypatch.setattr("schoolsync.notify.time.sleep", lambda _s: None)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "organisations.json").write_text("{not json", "utf-8")
    failed = invoke(*config, "sync", "--notify", str(broken))
    assert failed.code == 1
    assert len(inbox.messages) == 1 and "the run failed" in inbox.messages[0][1]["Subject"]
    assert len(got) == 2  # retried once
    assert "Warning: The webhook http://127.0.0.1:" in failed.err and "2 attempt(s)" in failed.err
    assert "/hooks/schoolsync" not in failed.err  # the address's path may hold a token
    # The notice says what stopped the run, never the error's text (it may quote the file).
    sent = inbox.messages[0][1].get_payload() + got[0]["body"].decode()
    assert "It stopped on InputError" in sent and "not valid JSON" not in sent
    assert got[0]["headers"]["X-Schoolsync-Delivery"] == got[1]["headers"]["X-Schoolsync-Delivery"]


# -- doctor ------------------------------------------------------------------------------------


@pytest.fixture
def synced(db_url: str, municipality: Path) -> tuple[str, Path]:
    assert invoke("--db", db_url, "--today", TODAY, "sync", str(municipality)).code == 0
    return db_url, municipality


def doctor(db_url: str, config: Path | None, *args: str) -> tuple[int, dict[str, Any]]:
    given = ("--config", str(config)) if config else ()
    result = invoke("--db", db_url, "--today", TODAY, *given, "doctor", "--json", *args)
    return result.code, json.loads(result.out)


def failing(report: dict[str, Any]) -> list[str]:
    return [f"{c['area']}: {c['name']}: {c['detail']}" for c in report["checks"] if not c["ok"]]


def jobs(bundle: Path) -> str:
    return (f'[[jobs]]\nname = "register"\nsources = ["{bundle}"]\ncron = "30 2 * * *"\n'
            f'[[jobs]]\nname = "schedules"\nsources = ["{bundle}/schedule/*.txt"]\n'
            'cron = "45 2 * * 1-5"\n')  # fmt: skip


def test_doctor_passes_a_complete_setup_and_sends_test_notices(
    synced: tuple[str, Path],
    tmp_path: Path,
    smtp: tuple[int, Inbox],
    receiver: tuple[str, list[dict[str, Any]], list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db_url, bundle = synced
    monkeypatch.setenv("SCHOOLSYNC_TEST_HOOK_SECRET", SECRET)
    port, inbox = smtp
    hook, got, _ = receiver
    config = settings_file(tmp_path, jobs(bundle) + notify_settings(port, hook))
    code, report = doctor(db_url, config, "--send-test")
    assert code == 0 and report["ok"], failing(report)
    areas = {c["area"] for c in report["checks"]}
    assert areas == {"settings", "database", "source", "schedule", "notify"}
    assert len(inbox.messages) == 1 and "a test notice" in inbox.messages[0][1]["Subject"]
    assert len(got) == 1 and json.loads(got[0]["body"])["kind"] == "test"
    text = invoke("--db", db_url, "--config", str(config), "doctor")
    assert text.code == 0 and '✓ schedule: job "register": 30 2 * * *: next' in text.out
    assert "checks passed." in text.out


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        ("[sync]\nunknown_key = 1\n", "settings: file: The settings file"),
        ('[locks.schools."Ingen sådan skola"]\nmax_ended_users_percent = 30\n',
         "names the school 'Ingen sådan skola', which the directory does not have"),
        ('[sync]\ndeparture_units = ["99999999"]\n',
         "departure unit(s) 99999999 are not in the last read"),
        ('[[schools]]\nname = "Hopslagen"\nunits = ["12121212"]\n',
         "unit(s) 12121212 are not in the last read"),
        ('[[jobs]]\nname = "x"\nsources = ["/no/such/folder"]\ncron = "30 2 * * *"\n',
         "There is no such file or folder"),
        ('[[jobs]]\nname = "x"\nsources = ["/no/such/*.txt"]\ncron = "30 2 * * *"\n',
         "No file matches the pattern"),
        ('[[jobs]]\nname = "x"\nsources = ["{empty}"]\ncron = "30 2 * * *"\n',
         "not a complete SS 12000 bundle"),
        ('[[jobs]]\nname = "x"\nsources = ["{bundle}"]\ncron = "61 2 * * *"\n',
         "The cron line '61 2 * * *' cannot be read"),
        ('[schedule]\ntimezone = "Mars/Olympus"\n', "'Mars/Olympus' is not a time zone"),
        ('[notify.email]\nrecipients = ["it@kommun.invalid"]\n', "needs both host and recipients"),
        ('[notify.webhook]\nurl = "https://hooks.kommun.invalid/x"\n', "no shared secret"),
        ('[ss12000]\ntoken_url = "https://idp.kommun.invalid/token"\nclient_id = "c"\n'
         '[[jobs]]\nname = "api"\nsources = ["https://sis.kommun.invalid/v2.0"]\n'
         'cron = "30 2 * * *"\n', "[ss12000] names neither client_secret_env nor"),
    ],
)  # fmt: skip
def test_doctor_finds_each_misconfiguration(
    synced: tuple[str, Path], tmp_path: Path, settings: str, says: str
) -> None:
    db_url, bundle = synced
    empty = tmp_path / "empty-bundle"
    empty.mkdir()
    text = settings.replace("{bundle}", str(bundle)).replace("{empty}", str(empty))
    code, report = doctor(db_url, settings_file(tmp_path, text))
    assert code == 1 and not report["ok"]
    assert any(says in line for line in failing(report)), failing(report)
    assert all(c["fix"] for c in report["checks"] if not c["ok"]), "each failure says what to do"


def test_doctor_reports_a_directory_to_upgrade_without_upgrading_it(
    synced: tuple[str, Path],
) -> None:
    db_url, _ = synced
    import sqlalchemy as sa

    from schoolsync.store.db import Store

    store = Store(db_url, migrate=False)
    with store.engine.begin() as conn:  # a directory of the schoolsync before 0011, for real
        conn.execute(sa.text("DROP TABLE oneroster_clients"))
        conn.execute(sa.text("DROP TABLE scheduled_jobs"))
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0010'"))
    code, report = doctor(db_url, None)
    assert code == 1 and any("schema revision 0010" in f for f in failing(report))
    assert store.revision() == "0010"  # left as it was
    store.dispose()


def test_doctor_reports_no_directory_and_little_free_space(
    synced: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, report = doctor(f"sqlite:///{tmp_path / 'nothing-here.db'}", None)
    assert code == 1 and any("There is no directory at" in f for f in failing(report))
    assert not (tmp_path / "nothing-here.db").exists()
    db_url, _ = synced
    if not db_url.startswith("sqlite"):
        return
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("schoolsync.doctor.shutil.disk_usage",
                        lambda _p: usage._replace(free=10 * 1024 * 1024))  # fmt: skip
    code, report = doctor(db_url, None)
    assert code == 1 and any("database: space" in f for f in failing(report))


def test_doctor_reports_a_read_only_database(synced: tuple[str, Path]) -> None:
    db_url, _ = synced
    if not db_url.startswith("sqlite:///"):
        pytest.skip("a read-only SQLite URL")
    path = db_url.removeprefix("sqlite:///")
    code, report = doctor(f"sqlite:///file:{path}?mode=ro&uri=true", None)
    assert code == 1 and any("cannot be written" in f for f in failing(report)), failing(report)


def test_webhook_retries_follow_retry_after_and_a_refusal_is_not_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import httpx

    from schoolsync.domain.settings import WebhookSettings
    from schoolsync.notify import Notice, NotifyError, send_webhook

    monkeypatch.setenv("SCHOOLSYNC_TEST_HOOK_SECRET", SECRET)
    hook = WebhookSettings(url="https://hooks.kommun.invalid/x",
                           secret_env="SCHOOLSYNC_TEST_HOOK_SECRET", attempts=4)  # fmt: skip
    notice = Notice("test", "s", ("a line",))
    answers = [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(503),
               httpx.Response(200)]  # fmt: skip
    slept: list[float] = []
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    tries = send_webhook(hook, notice, transport=httpx.MockTransport(answer), sleep=slept.append)
    assert (tries, slept) == (3, [7.0, 2.0])
    assert len({r.headers["X-Schoolsync-Delivery"] for r in seen}) == 1
    refused = [httpx.Response(401)]
    with pytest.raises(NotifyError, match="refused the notice"):
        send_webhook(hook, notice, transport=httpx.MockTransport(lambda r: refused.pop(0)),
                     sleep=slept.append)  # fmt: skip
    assert refused == []  # asked once


def test_an_smtp_password_is_never_sent_unencrypted(monkeypatch: pytest.MonkeyPatch) -> None:
    from schoolsync.domain.settings import EmailSettings
    from schoolsync.errors import ConfigError
    from schoolsync.notify import Notice, send_email

    monkeypatch.setenv("SCHOOLSYNC_TEST_SMTP_PASSWORD", "hemligt")
    email = EmailSettings(host="127.0.0.1", port=2525, starttls=False, username="schoolsync",
                          password_env="SCHOOLSYNC_TEST_SMTP_PASSWORD",
                          recipients=["it@kommun.invalid"])  # fmt: skip
    with pytest.raises(ConfigError, match="unencrypted"):
        send_email(email, Notice("test", "s", ("a line",)))
    no_password = email.model_copy(update={"password_env": None})
    with pytest.raises(ConfigError, match="neither password_env nor password_file"):
        send_email(no_password, Notice("test", "s", ("a line",)))
