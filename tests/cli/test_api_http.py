"""A generated municipality read from an SS 12000 API over real HTTP (issue 10), through the real
``schoolsync`` command in a subprocess: the fake provider serves it on 127.0.0.1 (plain http is
allowed on loopback only), a full read and then an incremental one, on SQLite and PostgreSQL, each
giving the directory a sync of the same data as a bundle folder gives.

The municipality is a small one (a few thousand persons, in pages of 200) so that the suite
stays quick; ``SCHOOLSYNC_HTTP_TEST_SIZE=medium`` reads a medium one (28,000 persons), as
``benchmarks/api_bench.py`` does when it measures the read."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolsync.generate import generate_bundle
from tests.conftest import invoke, run_cli, without_ids
from tests.fake_ss12000 import CLIENT_ID, CLIENT_SECRET, FakeProvider

TODAY = "2025-10-15"
SIZE = os.environ.get("SCHOOLSYNC_HTTP_TEST_SIZE", "small")
PAGE = 1000 if SIZE == "medium" else 200  # persons come in several pages either way


@pytest.fixture(scope="module")
def medium_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp(SIZE) / "bundle"
    generate_bundle(out, SIZE, seed=3, today=date.fromisoformat(TODAY), faults=True)
    return out


@pytest.fixture
def served(medium_bundle: Path) -> Iterator[tuple[FakeProvider, str, str]]:
    provider = FakeProvider(medium_bundle, max_limit=PAGE, faults={("persons", 3): 503})
    with provider.serve() as (base, token):
        yield provider, base, token


def _export(db: str) -> dict[str, Any]:
    result = invoke("--db", db, "--today", TODAY, "export", "--json")
    assert result.code == 0, result.err
    return without_ids(json.loads(result.out))


@pytest.mark.slow
def test_a_municipality_over_http_full_then_incremental(
    served: tuple[FakeProvider, str, str], medium_bundle: Path, db_url: str, tmp_path: Path
) -> None:
    provider, base, token = served
    config = tmp_path / "schoolsync.toml"
    config.write_text(
        f'[ss12000]\ntoken_url = "{token}"\nclient_id = "{CLIENT_ID}"\n'
        f'client_secret_file = "{tmp_path / "secret"}"\npage_size = {PAGE}\n',
        encoding="utf-8",
    )
    (tmp_path / "secret").write_text(CLIENT_SECRET + "\n", encoding="utf-8")
    os.chmod(tmp_path / "secret", 0o600)
    args = ["--db", db_url, "--config", str(config), "--today", TODAY]

    full = run_cli(*args, "sync", "--json", base)
    assert full.code == 0, full.err
    report = json.loads(full.out)
    api = report["sources"][0]["api"]
    assert api["mode"] == "full" and api["retries"] == 1
    least = 20_000 if SIZE == "medium" else 1_000
    assert api["records"]["persons"] == len(provider.records["persons"]) > least
    assert report["changes"]["users"]["created"] > least

    bundle_db = f"sqlite:///{tmp_path / 'bundle.db'}"
    if db_url.startswith("sqlite"):  # the directory the replay below is compared with
        assert invoke("--db", bundle_db, "--today", TODAY, "sync", str(medium_bundle)).code == 0

    # a night's changes: a student renamed, a group renamed, a person deleted
    provider.tick(3600)
    student = copy.deepcopy(next(p for p in provider.records["persons"] if p.get("enrolments")))
    student["familyName"] = "Ekström-Lind"
    provider.put("persons", student)
    group = copy.deepcopy(provider.records["groups"][0])
    group["displayName"] += " (ny)"
    provider.put("groups", group)
    provider.tick(900)
    nightly = run_cli(*args, "sync", "--json", base)
    assert nightly.code == 0, nightly.err
    night = json.loads(nightly.out)
    assert night["sources"][0]["api"]["mode"] == "incremental"
    assert night["sources"][0]["api"]["records"]["persons"] == 1
    assert night["changes"]["users"]["updated"] >= 1

    assert CLIENT_SECRET not in full.out + full.err + nightly.out + nightly.err
    if not db_url.startswith("sqlite"):
        return  # the replay below does not depend on the database: once is enough
    replay = tmp_path / "fetched"
    fetched = run_cli(*args, "fetch", base, "--to", str(replay))
    assert fetched.code == 0, fetched.err
    assert CLIENT_SECRET not in fetched.out + fetched.err
    assert invoke("--db", bundle_db, "--today", TODAY, "sync", str(replay)).code == 0
    assert _export(db_url) == _export(bundle_db)
