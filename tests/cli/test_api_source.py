"""Reading the register from a live SS 12000 API (issue 10): ``sync URL`` and ``fetch URL --to``.

The API is the fake provider of ``tests/fake_ss12000.py`` serving the example bundle, reached
through ``httpx.MockTransport`` (the read's default transport is replaced, and so is its sleep:
no test waits for a back-off).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from schoolsync.sources.ss12000 import api
from tests.conftest import EXAMPLE_BUNDLE, CliResult, invoke, without_ids
from tests.fake_ss12000 import BASE_URL, CLIENT_ID, CLIENT_SECRET, TOKEN_URL, FakeProvider

TODAY = "2025-10-15"
SECRET_ENV = "SCHOOLSYNC_TEST_SS12000_SECRET"


@dataclass
class Api:
    """A fake register API, the settings that read it, and a directory to sync it into."""

    provider: FakeProvider
    config: Path
    db: str
    sleeps: list[float] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    def run(self, *args: str, db: str | None = None) -> CliResult:
        """``schoolsync --db … --config … --today … ARGS`` in this process; every output kept."""
        head = ["--db", db or self.db, "--config", str(self.config), "--today", TODAY]
        result = invoke(*head, *args)
        self.outputs += [result.out, result.err]
        return result

    def sync(self, *args: str, db: str | None = None) -> CliResult:
        return self.run("sync", *args, BASE_URL, db=db)

    def export(self, db: str | None = None) -> dict[str, Any]:
        result = self.run("export", "--json", db=db)
        assert result.code == 0, result.err
        return without_ids(json.loads(result.out))


def write_config(path: Path, **extra: Any) -> Path:
    lines = [
        "[ss12000]",
        f'token_url = "{TOKEN_URL}"',
        f'client_id = "{CLIENT_ID}"',
        f'client_secret_env = "{SECRET_ENV}"',
        "page_size = 4",  # the example's 17 persons come in 5 pages
        "calendar_days_back = 60",  # the example's lessons are in September
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def make_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    made: list[Api] = []

    def make(db: str | None = None, **knobs: Any) -> Api:
        provider = FakeProvider(EXAMPLE_BUNDLE, **knobs)
        config = write_config(tmp_path / f"settings-{len(made)}.toml")
        created = Api(provider, config, db or f"sqlite:///{tmp_path / f'api-{len(made)}.db'}")
        monkeypatch.setattr(api, "default_transport", lambda: provider.transport())
        monkeypatch.setattr(api, "default_sleep", created.sleeps.append)
        made.append(created)
        return created

    yield make


def issue_codes(report: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((i["code"], i["message"].split(":")[0]) for i in report["issues"])


def test_an_api_sync_equals_the_bundle_sync_of_the_same_data(
    make_api: Any, db_url: str, tmp_path: Path
) -> None:
    reader = make_api(db=db_url)
    result = reader.sync("--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["status"] == "applied"
    source = report["sources"][0]
    assert source["path"] == BASE_URL
    assert source["api"]["records"]["persons"] == 17
    assert source["api"]["pages"]["persons"] == 5  # page_size 4, every page followed
    assert source["api"]["requests"] >= 10 and source["api"]["retries"] == 0

    bundle_db = f"sqlite:///{tmp_path / 'bundle.db'}"
    by_bundle = reader.run("sync", "--json", str(EXAMPLE_BUNDLE), db=bundle_db)
    assert by_bundle.code == 0, by_bundle.err
    assert json.loads(by_bundle.out)["changes"] == report["changes"]
    assert reader.export() == reader.export(db=bundle_db)
    lessons = reader.export()["lessons"]
    assert lessons, "the calendar events were read in windows and became lessons"


def test_fetch_writes_a_bundle_that_syncs_to_the_same_directory(
    make_api: Any, tmp_path: Path
) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    target = tmp_path / "fetched"
    fetched = reader.run("fetch", BASE_URL, "--to", str(target))
    assert fetched.code == 0, fetched.err
    assert "17 persons" in fetched.out and "API read:" in fetched.out
    assert sorted(p.name for p in (target / "persons").iterdir())[:2] == [
        "page-0001.json",
        "page-0002.json",
    ]
    note = json.loads((target / "fetch.json").read_text(encoding="utf-8"))
    assert note["source"] == BASE_URL and note["stats"]["records"]["groups"] > 0

    replay_db = f"sqlite:///{tmp_path / 'replay.db'}"
    replay = reader.run("sync", str(target), db=replay_db)
    assert replay.code == 0, replay.err
    assert reader.export(db=replay_db) == reader.export()

    again = reader.run("fetch", BASE_URL, "--to", str(target))
    assert again.code == 1 and "is not an empty folder" in again.err


def test_a_hostile_provider_gives_the_same_directory(make_api: Any) -> None:
    plain = make_api()
    assert plain.sync().code == 0
    expected = plain.export()

    hostile = make_api(
        gone_tokens={("persons", 2), ("groups", 1)},  # expired page tokens: 410, read again
        faults={
            ("persons", 2): 503,
            ("persons", 3): 429,
            ("groups", 1): "timeout",
            ("duties", 1): "drop",
            ("token", 1): 502,
        },
        retry_after="7",
        token_requests_per_token=5,  # the token "expires" every five requests, mid-read
        upper_case_ids=True,  # IST promises neither lower case nor version-4 uuids
    )
    result = hostile.sync("--json")
    assert result.code == 0, result.err
    stats = json.loads(result.out)["sources"][0]["api"]
    assert stats["retries"] == 5 and stats["restarts"] == 2
    assert 7.0 in hostile.sleeps  # Retry-After was honoured
    assert hostile.provider.tokens_issued > 3  # renewed when the provider said it expired
    assert hostile.export() == expected


def test_a_read_that_fails_half_way_changes_nothing(make_api: Any, db_url: str) -> None:
    reader = make_api(db=db_url)
    assert reader.sync().code == 0
    before = reader.export()
    reader.provider.always_fail = {"groups": 503}
    failed = reader.sync()
    assert failed.code == 1
    assert "/groups failed 6 time(s)" in failed.err and "503" in failed.err
    assert "Nothing was changed" in failed.err
    assert "Traceback" not in failed.err
    assert reader.export() == before
    runs = json.loads(reader.run("runs", "--json").out)
    assert runs[0]["status"] == "failed"


def test_the_token_service_refusing_the_client_is_a_sentence(make_api: Any) -> None:
    reader = make_api(token_auth="form")  # the settings send HTTP Basic (the default)
    refused = reader.sync()
    assert refused.code == 1
    assert f"refused the client {CLIENT_ID!r} (401: invalid_client)" in refused.err
    assert "Traceback" not in refused.err

    write_config(reader.config, token_auth="form")
    assert reader.sync().code == 0


def test_without_a_secret_the_run_stops_before_any_request(
    make_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = make_api()
    monkeypatch.delenv(SECRET_ENV)
    result = reader.sync()
    assert result.code == 1
    assert f"{SECRET_ENV} ([ss12000] client_secret_env) is not set" in result.err
    assert reader.provider.requests == []


def test_http_is_refused_except_on_loopback(make_api: Any) -> None:
    reader = make_api()
    result = reader.run("sync", "http://sis.example.invalid/v2.0")
    assert result.code == 1 and "allowed only on this machine" in result.err
    assert reader.provider.requests == []


def test_calendar_events_are_read_a_window_at_a_time(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    windows = [
        (r.url.params.get("startTime.onOrAfter"), r.url.params.get("startTime.onOrBefore"))
        for r in reader.provider.requests
        if r.url.path.endswith("/calendarEvents") and "pageToken" not in r.url.params
    ]
    # 60 days back and 60 ahead, a week at a time: 18 windows, each first page with its filters
    assert len(windows) == 18
    assert windows[0][0] == "2025-08-16T00:00:00+02:00"
    assert windows[-1][1] == "2025-12-14T23:59:59+01:00"
    paged = [r for r in reader.provider.requests if "pageToken" in r.url.params]
    assert paged and all(set(r.url.params) == {"limit", "pageToken"} for r in paged)


def test_a_forbidden_endpoint_is_said_and_holds_the_run_when_the_directory_has_its_data(
    make_api: Any,
) -> None:
    first = make_api(forbidden={"placements"})
    result = first.sync("--json")
    assert result.code == 0, result.err
    codes = [i["code"] for i in json.loads(result.out)["issues"]]
    assert "api-endpoint-unavailable" in codes

    reader = make_api()
    assert reader.sync().code == 0
    reader.provider.forbidden = {"duties"}
    held = reader.sync("--json")
    assert held.code == 3, held.err
    report = json.loads(held.out)
    assert {"api-endpoint-unavailable", "lock-missing-data"} <= {
        i["code"] for i in report["issues"]
    }
    message = next(
        i["message"] for i in report["issues"] if i["code"] == "api-endpoint-unavailable"
    )
    assert "/duties (403 Forbidden)" in message

    # approving re-reads the API: an answer that changed since is another export, refused
    person = reader.provider.records["persons"][0]
    reader.provider.put("persons", {**person, "givenName": person["givenName"] + "x"})
    refused = reader.run("runs", "approve", report["run_id"])
    assert refused.code == 1 and "changed or is gone since the run was held" in refused.err

    # the same answer again is the same export: approving applies it
    held_again = json.loads(reader.sync("--json").out)
    assert held_again["status"] == "held"
    approved = reader.run("runs", "approve", held_again["run_id"])
    assert approved.code == 0, approved.err
    assert approved.out.startswith(f"Run {int(held_again['run_id']) + 1} applied")


def test_a_withheld_security_marking_treats_everyone_as_protected_and_leaks_no_one(
    make_api: Any,
) -> None:
    reader = make_api(withhold={"persons": {"securityMarking"}})
    result = reader.sync("--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert "security-marking-missing" in {i["code"] for i in report["issues"]}
    assert report["changes"]["users"]["created"] == 0
    export = reader.export()
    assert export["users"] == []
    names = [p["givenName"] for p in reader.provider.records["persons"]]
    assert not [n for n in names for text in reader.outputs if n in text]

    synced = make_api()
    assert synced.sync().code == 0
    synced.provider.withhold = {"persons": {"securityMarking"}}
    quiet = synced.sync("--json")  # nothing changed: the incremental read receives no one
    assert quiet.code == 0 and json.loads(quiet.out)["changes"]["users"]["ended"] == 0
    synced.provider.put("persons", synced.provider.records["persons"][0])
    held = synced.sync("--json")  # one person received, without the marking
    assert held.code == 3, "ending everyone for a scope switched off is held by the safety lock"


def test_a_withheld_civic_number_ends_no_one(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    before = reader.export()
    reader.provider.withhold = {"persons": {"civicNo"}}
    result = reader.sync("--json")
    assert result.code in (0, 3), result.err
    assert json.loads(result.out)["changes"]["users"]["ended"] == 0
    assert [u["status"] for u in reader.export()["users"]] == [u["status"] for u in before["users"]]


def test_the_secret_appears_in_no_output(make_api: Any, tmp_path: Path) -> None:
    reader = make_api(faults={("persons", 1): 503})
    reader.sync()
    reader.sync("--json")
    reader.run("fetch", BASE_URL, "--to", str(tmp_path / "f"))
    reader.provider.always_fail = {"groups": 500}
    reader.sync()
    reader.provider.always_fail = {}
    reader.provider.token_auth = "form"
    reader.sync()  # refused by the token service
    for args in (("runs",), ("runs", "--json"), ("runs", "show", "1", "--json", "--log")):
        reader.run(*args)
    reader.run("export", "--json")
    texts = [*reader.outputs]
    texts += [p.read_text(encoding="utf-8") for p in (tmp_path / "f").rglob("*.json")]
    engine = sa.create_engine(reader.db)
    with engine.connect() as conn:
        for table in sa.inspect(conn).get_table_names():
            rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
            texts.append(repr(rows))
    engine.dispose()
    assert len(texts) > 20
    assert not [t for t in texts if CLIENT_SECRET in t]


# -- incremental reads -------------------------------------------------------------------------


def change_the_register(provider: FakeProvider) -> None:
    """A night's changes: a new student in 7B, Elsa moved from 7A to 7B, Matematik 7A renamed,
    and Gunilla (a guardian... or staff) deleted from the register."""
    provider.tick(3600)
    persons = {p["givenName"]: p for p in provider.records["persons"]}
    groups = {g["displayName"]: g for g in provider.records["groups"]}
    elsa = persons["Elsa"]
    new = copy.deepcopy(persons["Liam"])
    new.update(id="0c6f0d7e-5a52-4f7c-9d3e-2f1b8f1a9c01", givenName="Nils", familyName="Berg")
    new["civicNo"] = {"value": "201201042387", "nationality": "SE"}  # a test number
    new.pop("eduPersonPrincipalNames", None)
    new.pop("emails", None)
    provider.put("persons", new)
    seven_a, seven_b = copy.deepcopy(groups["7A"]), copy.deepcopy(groups["7B"])
    seven_a["groupMemberships"] = [
        m for m in seven_a["groupMemberships"] if m["person"]["id"] != elsa["id"]
    ]
    seven_b["groupMemberships"] += [
        {"person": {"id": elsa["id"]}, "startDate": "2025-10-15"},
        {"person": {"id": new["id"]}, "startDate": "2025-10-15"},
    ]
    provider.put("groups", seven_a)
    provider.put("groups", seven_b)
    maths = copy.deepcopy(groups["Matematik 7A"])
    maths["displayName"] = "Matematik 7A grupp 1"
    provider.put("groups", maths)
    provider.delete("persons", persons["Erik"]["id"])


def test_an_incremental_run_equals_a_full_read_of_the_changed_register(
    make_api: Any, db_url: str, tmp_path: Path
) -> None:
    reader = make_api(db=db_url)
    assert reader.sync().code == 0
    full_db = f"sqlite:///{tmp_path / 'full.db'}"
    assert reader.sync(db=full_db).code == 0
    change_the_register(reader.provider)
    reader.provider.tick(900)  # the changes are older than a read's overlap
    asked = len(reader.provider.requests)

    result = reader.sync("--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["sources"][0]["api"]["mode"] == "incremental"
    assert report["changes"]["users"]["created"] == 1
    requests = reader.provider.requests[asked:]
    persons = [r for r in requests if r.url.path.endswith("/persons")]
    assert persons and "meta.modified.after" in persons[0].url.params
    assert any(r.url.path.endswith("/deletedEntities") for r in requests)
    assert report["sources"][0]["api"]["records"]["persons"] == 1  # only the new student

    by_full = reader.sync("--json", "--full", db=full_db)
    assert json.loads(by_full.out)["sources"][0]["api"]["mode"] == "full"
    assert reader.export() == reader.export(db=full_db)
    names = {g["name"] for g in reader.export()["groups"]}
    assert "Matematik 7A grupp 1" in names and "Matematik 7A" not in names
    seven_b = next(c for c in reader.export()["classes"] if c["name"] == "7B")
    assert {"201201012380", "201201042387"} <= {s["civic_no"] for s in seven_b["students"]}

    again = json.loads(reader.sync("--json").out)  # nothing changed since: nothing to do
    assert again["sources"][0]["api"]["records"]["persons"] == 0
    assert all(not any(v.values()) for v in again["changes"].values())


def test_a_failed_or_held_run_keeps_the_cursors(make_api: Any, tmp_path: Path) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    full_db = f"sqlite:///{tmp_path / 'full.db'}"
    assert reader.sync(db=full_db).code == 0  # the same history, read whole below
    change_the_register(reader.provider)
    reader.provider.always_fail = {"groups": 503}
    assert reader.sync().code == 1
    reader.provider.always_fail = {}
    reader.provider.forbidden = {"duties"}
    assert reader.sync().code == 3  # held: duties are gone from the read
    reader.provider.forbidden = set()
    reader.provider.tick(3600)

    result = reader.sync("--json")
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["sources"][0]["api"]["mode"] == "incremental"
    assert report["changes"]["users"]["created"] == 1  # the changes the failed runs read

    assert reader.sync("--full", db=full_db).code == 0
    assert reader.export() == reader.export(db=full_db)


def test_without_deleted_entities_every_read_is_full_and_it_is_said_once(make_api: Any) -> None:
    reader = make_api(deleted_status=404)
    assert reader.sync().code == 0
    second = json.loads(reader.sync("--json").out)
    assert second["sources"][0]["api"]["mode"] == "full"
    assert "api-full-reads" in {i["code"] for i in second["issues"]}
    asked = len(reader.provider.requests)
    third = json.loads(reader.sync("--json").out)
    assert third["sources"][0]["api"]["mode"] == "full"
    assert "api-full-reads" not in {i["code"] for i in third["issues"]}
    later = reader.provider.requests[asked:]
    assert not [r for r in later if r.url.path.endswith("/deletedEntities")]


@pytest.mark.parametrize("spelling", ["activitites", "activities"])
def test_deleted_activities_are_read_in_either_spelling(make_api: Any, spelling: str) -> None:
    reader = make_api(deleted_spelling=spelling)
    assert reader.sync().code == 0
    before = {g["name"]: g["teachers"] for g in reader.export()["groups"]}
    activity = reader.provider.records["activities"][0]
    reader.provider.delete("activities", activity["id"])
    result = reader.sync("--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["sources"][0]["api"]["mode"] == "incremental"
    after = {g["name"]: g["teachers"] for g in reader.export()["groups"]}
    assert after != before  # the activity's teachers left its groups


def test_a_full_read_is_due_after_full_read_every_days(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    soon = reader.run("--today", "2025-10-21", "sync", "--json", BASE_URL)
    assert json.loads(soon.out)["sources"][0]["api"]["mode"] == "incremental"
    due = reader.run("--today", "2025-10-22", "sync", "--json", BASE_URL)
    assert json.loads(due.out)["sources"][0]["api"]["mode"] == "full"


def test_the_picture_keeps_no_protected_persons_name_or_number(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    protected = [p for p in reader.provider.records["persons"] if p["securityMarking"] != "Ingen"]
    assert protected
    engine = sa.create_engine(reader.db)
    with engine.connect() as conn:
        bodies = [b for (b,) in conn.execute(sa.text("SELECT body FROM register_records"))]
    engine.dispose()
    assert len(bodies) > 50
    text = "\n".join(bodies)
    for person in protected:
        assert person["id"] in text  # kept, as a record without what identifies them
        assert person["familyName"] not in text and person["civicNo"]["value"] not in text


def test_organisations_reads_only_the_school_units_named(make_api: Any) -> None:
    everything = make_api()
    assert everything.sync().code == 0
    all_classes = {c["name"] for c in everything.export()["classes"]}
    assert "Avdelning Solen" in all_classes  # the fritidshem's unit

    reader = make_api()
    write_config(reader.config, organisations=["99990001"])  # Exempelskolan's skolenhetskod
    result = reader.sync("--json")
    assert result.code == 0, result.err
    unit = "a29248c9-1d8c-57e0-a666-dc316a612080"
    firsts = [r for r in reader.provider.requests if "pageToken" not in r.url.params]
    persons = [r.url.params for r in firsts if r.url.path.endswith("/persons")]
    assert {p["relationship.entity.type"] for p in persons} == {
        "enrolment", "duty", "responsibleFor.enrolment", "placement.child", "placement.owner",
    }  # fmt: skip
    assert all(p["relationship.organisation"] == unit for p in persons)
    groups = [r.url.params for r in firsts if r.url.path.endswith("/groups")]
    assert groups and all(g["organisation"] == unit for g in groups)
    classes = {c["name"] for c in reader.export()["classes"]}
    assert "7A" in classes and "Avdelning Solen" not in classes

    # a student who leaves the units no longer matches their filters: every read is a full one
    reader.provider.tick(3600)
    again = json.loads(reader.sync("--json").out)
    assert again["sources"][0]["api"]["mode"] == "full"

    write_config(reader.config, organisations=["99999999"])
    unknown = reader.sync()
    assert unknown.code == 1 and "'99999999', which is neither the id nor" in unknown.err


# -- what the review of the incremental reads found ------------------------------------------


def test_an_incremental_run_looks_up_the_protected_persons_it_holds(
    make_api: Any, tmp_path: Path
) -> None:
    """R11 needs a protected person's number (a second, unprotected record with it must not
    become an account), which the picture never stores: the run asks for them by id."""
    reader = make_api()
    assert reader.sync().code == 0
    full_db = f"sqlite:///{tmp_path / 'full.db'}"
    assert reader.sync(db=full_db).code == 0
    reader.provider.tick(3600)
    wilma = next(p for p in reader.provider.records["persons"] if p["givenName"] == "Wilma")
    twin = copy.deepcopy(wilma)
    twin.update(id="0c6f0d7e-5a52-4f7c-9d3e-2f1b8f1a9c77", securityMarking="Ingen")
    reader.provider.put("persons", twin)
    reader.provider.tick(900)

    result = json.loads(reader.sync("--json").out)
    assert result["sources"][0]["api"]["mode"] == "incremental"
    looked_up = {rid for endpoint, ids in reader.provider.lookups for rid in ids}
    assert wilma["id"] in looked_up
    number = wilma["civicNo"]["value"]
    assert not [u for u in reader.export()["users"] if u["civic_no"] == number]
    assert reader.sync("--full", db=full_db).code == 0
    assert reader.export() == reader.export(db=full_db)


def test_without_lookup_an_incremental_run_becomes_a_full_one(make_api: Any) -> None:
    reader = make_api(lookup_status=404)
    assert reader.sync().code == 0
    reader.provider.tick(3600)
    result = json.loads(reader.sync("--json").out)
    assert result["status"] == "applied"
    assert result["sources"][0]["api"]["mode"] == "full"


def test_a_record_no_page_of_a_full_read_brought_is_looked_up_and_kept(make_api: Any) -> None:
    """Paging by offset: a record deleted while the read is between pages shifts the rest, and
    one that is still there is never served. The full read asks for it by id."""
    reader = make_api()
    assert reader.sync().code == 0
    reader.provider.tick(3600)
    persons = reader.provider.records["persons"]
    leaving, skipped = persons[0], persons[4]  # page_size 4: the first of page 2 shifts away
    inner = reader.provider.handler
    deleted: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = inner(request)
        first = request.url.path.endswith("/persons") and "pageToken" not in request.url.params
        if first and not deleted:
            deleted.append(leaving["id"])
            reader.provider.delete("persons", leaving["id"])
        return answer

    api.default_transport = lambda: httpx.MockTransport(handler)  # type: ignore[assignment]
    report = json.loads(reader.sync("--json", "--full").out)
    assert report["sources"][0]["api"]["confirmed"] == 1
    users = {u["given_name"]: u["status"] for u in reader.export()["users"]}
    assert users[skipped["givenName"]] == "active"


def test_a_full_read_without_an_endpoint_leaves_no_cursor_of_it(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    reader.provider.forbidden = {"syllabuses"}
    assert reader.sync("--full").code == 3  # held: the subjects are gone from the read
    assert reader.sync("--full", "--allow-mass-changes").code == 0
    reader.provider.forbidden = set()
    reader.provider.tick(3600)
    after = json.loads(reader.sync("--json").out)
    assert after["sources"][0]["api"]["records"]["syllabuses"] == 4  # read whole again
    subjects = {g["name"]: g["subject"] for g in reader.export()["groups"]}
    assert subjects["Matematik 7A"] is not None


def test_reference_names_are_not_kept_in_the_picture(make_api: Any) -> None:
    reader = make_api()
    for group in reader.provider.records["groups"]:
        for member in group.get("groupMemberships", []):
            member["person"]["displayName"] = "Namn Som Syns"
    assert reader.sync().code == 0
    engine = sa.create_engine(reader.db)
    with engine.connect() as conn:
        bodies = [b for (b,) in conn.execute(sa.text("SELECT body FROM register_records"))]
    engine.dispose()
    assert bodies and not [b for b in bodies if "Namn Som Syns" in b]
    groups = [b for b in bodies if '"groupMemberships"' in b]
    assert groups and all('"displayName"' in b for b in groups)  # the group's own name stays


def test_a_read_that_stops_on_the_settings_is_recorded_as_failed(make_api: Any) -> None:
    reader = make_api()
    assert reader.sync().code == 0
    write_config(reader.config, organisations=["99999999"])
    assert reader.sync().code == 1
    runs = json.loads(reader.run("runs", "--json").out)
    assert [r["status"] for r in runs] == ["failed", "applied"]


def test_withheld_contact_details_change_no_one(make_api: Any) -> None:
    """A municipality that switches off the e-mail and phone scopes: the register no longer
    says them, which is not the register clearing them (R2.2 fills only what is missing)."""
    reader = make_api()
    assert reader.sync().code == 0
    before = reader.export()
    reader.provider.withhold = {"persons": {"emails", "phoneNumbers"}}
    reader.provider.put("persons", reader.provider.records["persons"][5])  # Elsa, e-mail and all
    result = json.loads(reader.sync("--json").out)
    assert result["status"] == "applied"
    assert result["changes"]["users"] == {"created": 0, "updated": 0, "ended": 0, "reactivated": 0}
    assert reader.export() == before


def test_approving_a_held_api_run_the_service_cannot_read_is_409_and_records_nothing(
    make_api: Any,
) -> None:
    from fastapi.testclient import TestClient

    from schoolsync.domain.settings import Settings
    from schoolsync.store import access
    from schoolsync.store.db import Store
    from schoolsync.web.app import create_app

    reader = make_api()
    assert reader.sync().code == 0
    reader.provider.forbidden = {"duties"}
    held = json.loads(reader.sync("--json").out)
    assert held["status"] == "held"
    store = Store(reader.db)
    try:
        token = access.add_token(store, "ops", "org-admin", [])
        client = TestClient(create_app(store, Settings(), lambda: date(2025, 10, 15)))
        answer = client.post(
            f"/api/v1/runs/{held['run_id']}/approve", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 409  # no [ss12000] settings in this service
        assert answer.json()["detail"].startswith("Reading an SS 12000 API needs")
        assert CLIENT_SECRET not in answer.text
    finally:
        store.dispose()
    runs = json.loads(reader.run("runs", "--json").out)
    assert [r["status"] for r in runs] == ["held", "applied"]  # no failed run for it
