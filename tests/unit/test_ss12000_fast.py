"""The SS 12000 reader's fast path (msgspec) reads exactly what the models' path (pydantic) reads.

Every file is first offered to :func:`schoolsync.sources.ss12000.fast.decode`; a file it refuses is
read with the models, with every tolerance rule. These tests read the same bundles with the fast
path on and off and want the same snapshot (or the same error), and check which files the fast
path takes, so that a record it cannot read the models' way never goes through it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from schoolsync.errors import InputError
from schoolsync.sources.ss12000 import fast, read_bundle, reader

DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLES = [
    DATA / "example-bundle",
    DATA / "samples" / "demo-sis" / "lotr",
    DATA / "samples" / "demo-sis" / "minimal",
    *sorted((DATA / "bad-input").glob("*/bundle")),
]


def _read(path: Path) -> Any:
    try:
        return read_bundle(path)
    except InputError as exc:
        return ("InputError", str(exc), exc.path, exc.line, exc.column)


def _both(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, list[bool]]:
    """The read with the fast path, the read without it, and which files it took."""
    taken: list[bool] = []
    decode, models = fast.decode, reader._parse_whole

    def decoding(*args: Any) -> Any:
        taken.append(True)
        return decode(*args)

    def falling_back(*args: Any) -> Any:
        taken[-1] = False  # this file is read with the models
        return models(*args)

    with monkeypatch.context() as m:
        m.setattr(fast, "decode", decoding)
        m.setattr(reader, "_parse_whole", falling_back)
        quick = _read(path)
    with monkeypatch.context() as m:
        m.setattr(fast, "decode", lambda *args: None)
        slow = _read(path)
    return quick, slow, taken


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: str(p.relative_to(DATA)))
def test_the_fast_path_reads_what_the_models_read(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick, slow, _ = _both(bundle, monkeypatch)
    assert quick == slow


def test_the_example_bundle_is_read_by_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, taken = _both(DATA / "example-bundle", monkeypatch)
    assert taken and all(taken)


ORGS = [
    {"id": "O1", "displayName": "Kommunen", "organisationType": "Huvudman"},
    {
        "id": "S1",
        "displayName": "Skolan",
        "organisationType": "Skolenhet",
        "schoolUnitCode": "12345678",
        "parentOrganisation": {"id": "o1"},
    },
]
PERSON = {
    "id": "P1",
    "givenName": "Anna",
    "familyName": "Berg",
    "civicNo": {"value": "201001012386", "nationality": "SE"},
    "birthDate": "2010-01-01",
    "securityMarking": "Ingen",
    "emails": [{"value": "anna@example.invalid", "type": "Skola elev"}],
    "phoneNumbers": [{"value": "0701234567", "mobile": True}],
    "addresses": [{"type": "Folkbokföring", "streetAddress": "Gatan 1", "country": "Sverige"}],
    "externalIdentifiers": [{"value": "anbe", "context": "ad", "globallyUnique": False}],
    "enrolments": [{"enroledAt": {"id": "S1"}, "schoolType": "GR", "schoolYear": 9}],
    "responsibles": [{"person": {"id": "P2"}, "relationType": "Vårdnadshavare"}],
}


def _with(**changes: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(PERSON))
    for key, value in changes.items():
        if value is _GONE:
            del out[key]
        else:
            out[key] = value
    return out


_GONE = object()


def _j(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _enrolled(year: int) -> dict[str, Any]:
    return _with(enrolments=[{"enroledAt": {"id": "s1"}, "schoolType": "GR", "schoolYear": year}])


_DEEP = b"[" * 300 + b"]" * 300
_TOO_DEEP = b"[" * 5000 + b"]" * 5000
_ODD_ADDRESS = [{"x": None, "postalCode": "1", "type": None, "n": [1, {"a": None}]}]

# (what, the persons file's text, whether the fast path takes it)
CASES: list[tuple[str, bytes, bool]] = [
    ("as the standard says", _j({"data": [PERSON]}), True),
    ("a bare array", _j([PERSON]), True),
    ("ids in upper case", _j([_with(id="  ABC  ")]), True),
    ("a marking but Ingen", _j([_with(securityMarking="ingen")]), True),
    ("no marking", _j([_with(securityMarking=_GONE)]), True),
    ("address keys in another order, extras, null", _j([_with(addresses=_ODD_ADDRESS)]), True),
    ("a date written with a time", _j([_with(birthDate="2010-01-01T00:00")]), True),
    ("a date out of range", _j([_with(birthDate="1899-12-31")]), False),
    ("an impossible date", _j([_with(birthDate="2010-02-30")]), False),
    ("a date as a number", _j([_with(birthDate=20100101)]), False),
    ("an enum in another case", _j([_with(sex="KVINNA")]), False),
    ("an element to drop", _j([_with(emails=[None])]), False),
    ("a list that is not one", _j([_with(emails="x")]), False),
    ("a number as text", _j([_with(givenName=5)]), False),
    ("a name too long", _j([_with(givenName="x" * 201)]), False),
    ("a float in an address", _j([_with(addresses=[{"n": 1.5}])]), False),
    ("a huge school year", _j([_enrolled(10**30)]), False),
    ("a NUL", _j([_with(givenName="a\x00b")]), False),
    ("half a surrogate pair", _j([_with(givenName="a\ud800")]), False),
    ("half a surrogate pair escaped", json.dumps([_with(givenName="a\ud800")]).encode(), False),
    ("a NUL escaped where nothing is read", json.dumps([_with(zz="\x00")]).encode(), False),
    ("bad UTF-8 where nothing is read", _j([_with(zz="é")]).replace("é".encode(), b"\xff"), False),
    # Deeper than pydantic parses JSON: the models' path reads it record by record, the same way.
    ("nested deeply where nothing is read", _j([_with(zz=[])]).replace(b"[]", _DEEP), True),
    ("nested too deeply for any path", _j([_with(zz=[])]).replace(b"[]", _TOO_DEEP), False),
    ("a key twice", _j([PERSON]).replace(b'{"id"', b'{"givenName": 5, "id"', 1), False),
    ("not JSON", _j([PERSON])[:-5], False),
    ("NaN where nothing is read", _j([_with(zz=None)]).replace(b"null", b"NaN"), False),
    ("a list under the endpoint's name", _j({"persons": [PERSON]}), False),
]


@pytest.mark.parametrize(("what", "text", "taken"), CASES, ids=[c[0] for c in CASES])
def test_a_record_is_read_the_same_either_way(
    what: str, text: bytes, taken: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "organisations.json").write_text(json.dumps({"data": ORGS}), encoding="utf-8")
    (bundle / "persons.json").write_bytes(text)
    quick, slow, took = _both(bundle, monkeypatch)
    assert quick == slow
    assert took == [True, taken]


def test_calendar_times_are_read_the_same_either_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(DATA / "example-bundle", bundle)
    events = json.loads((bundle / "calendarEvents.json").read_text(encoding="utf-8"))
    times = [
        "2025-10-26T00:30:00Z",  # summer time ends in the hour after
        "2025-10-26T01:30:00+00:00",
        "2025-09-08T08:20:00.5+02:00",
        "2025-09-08T08:20:00",  # no offset: the models' path
        "2025-09-08 08:20:00+02:00",
        "2200-12-30T00:00:01Z",
    ]
    for t in times:
        events["data"][0]["startTime"] = t
        (bundle / "calendarEvents.json").write_text(json.dumps(events), encoding="utf-8")
        quick, slow, _ = _both(bundle, monkeypatch)
        assert quick == slow, t
