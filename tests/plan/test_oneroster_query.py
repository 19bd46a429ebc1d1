"""The OneRoster 1.2 REST binding's query grammar (``filter``, ``sort``, ``orderBy``,
``fields``), without a service: what a client's filter keeps, and what it is told when the filter
cannot be read (issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schoolsync.rostering.rest import QueryError, parse_query

KNOWN = frozenset({"sourcedId", "familyName", "dateLastModified", "enabledUser", "roles"})


def kept(docs: list[dict[str, Any]], text: str) -> list[str]:
    query = parse_query(KNOWN, text, None, None, None)
    return [d["sourcedId"] for d in docs if query.keep(d)]


DOCS = [
    {"sourcedId": "a", "familyName": "Öberg", "dateLastModified": "2025-08-18T02:00:00.000Z",
     "enabledUser": True, "roles": [{"role": "teacher"}, {"role": "aide"}]},
    {"sourcedId": "b", "familyName": "O'Neill", "dateLastModified": "2025-08-18T02:00:00.500Z",
     "enabledUser": False, "roles": [{"role": "student"}]},
    {"sourcedId": "c", "familyName": "Andersson", "dateLastModified": "2025-10-14T02:00:00.000Z",
     "enabledUser": True, "roles": []},
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("familyName='Öberg'", ["a"]),
        ("familyName!='Öberg'", ["b", "c"]),
        ("familyName='O''Neill'", ["b"]),  # a quote inside a value is written twice
        ("familyName~'ERS'", ["c"]),  # contains, whatever the case
        ("enabledUser='false'", ["b"]),
        ("roles.role='teacher'", ["a"]),  # a list holds when one of its elements does
        ("roles.role='aide' OR familyName='Andersson'", ["a", "c"]),
        ("familyName>='B' AND enabledUser='true'", ["a"]),
        ("enabledUser='true' AND familyName<'B' OR roles.role='student'", ["b", "c"]),
        # Times compare as times: 02:00:00.500 is after 02:00:00, written with or without ms.
        ("dateLastModified>'2025-08-18T02:00:00Z'", ["b", "c"]),
        ("dateLastModified>'2025-08-18T04:00:00+02:00'", ["b", "c"]),
        ("dateLastModified>='2025-10-01'", ["c"]),
        ("dateLastModified<='2025-08-18T02:00:00Z'", ["a"]),
    ],
)
def test_a_filter_keeps_what_it_says(text: str, ids: list[str]) -> None:
    assert kept(DOCS, text) == ids


@pytest.mark.parametrize(
    ("text", "code", "says"),
    [
        ("nosuch='x'", "invalid_filter_field", "'nosuch', which is not a field here"),
        ("familyName='unterminated", "invaliddata", "cannot be read at character 1"),
        ("familyName = Öberg", "invaliddata", "write field<op>'value'"),
        ("familyName='a' XOR familyName='b'", "invaliddata", "expected AND or OR"),
        ("familyName='a' AND", "invaliddata", "cannot be read"),
        ("", "invaliddata", "cannot be read"),
    ],
)
def test_a_filter_that_cannot_be_read_says_where_and_how_to_write_it(
    text: str, code: str, says: str
) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(KNOWN, text or " ", None, None, None)
    assert caught.value.code == code and says in caught.value.message


def test_sort_order_and_fields_are_checked_against_the_records_fields() -> None:
    query = parse_query(KNOWN, None, "familyName", "desc", "sourcedId, familyName")
    assert [d["sourcedId"] for d in query.order(list(DOCS))] == ["a", "b", "c"]  # Ö, O, A
    assert query.fields == ("sourcedId", "familyName")
    for args, code in (
        (("nosuch", None, None), "invalid_sort_field"),
        ((None, "up", None), "invaliddata"),
        ((None, None, "sourcedId,nosuch"), "invalid_selection_field"),
    ):
        with pytest.raises(QueryError) as caught:
            parse_query(KNOWN, None, *args)
        assert caught.value.code == code


values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


@given(st.lists(values, min_size=1, max_size=8), values)
def test_an_equality_filter_keeps_exactly_the_records_with_that_value(
    names: list[str], wanted: str
) -> None:
    docs = [{"sourcedId": str(i), "familyName": n} for i, n in enumerate(names)]
    quoted = wanted.replace("'", "''")
    assert kept(docs, f"familyName='{quoted}'") == [d["sourcedId"] for d in docs
                                                   if d["familyName"] == wanted]  # fmt: skip
