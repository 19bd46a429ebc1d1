"""Rule R1.1: civic numbers (personnummer, samordningsnummer, TF and interim numbers).

The official test numbers in ``src/schoolsync/data/testpersonnummer/`` drive most tests (see the
README there for their provenance). Numbers built by hand are deliberately invalid or derived from
an official test number; no realistic-looking valid number is invented here.
"""

from __future__ import annotations

import datetime
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from schoolsync.domain.personnummer import (
    CivicNo,
    CivicNoError,
    birth_date_of,
    is_valid_civic_no,
    mask_civic_no,
    parse_civic_no,
)

DATA_DIR = Path(__file__).parents[2] / "src/schoolsync/data/testpersonnummer"

# The date the test data was frozen (personnummer/meta commit c44a844, 2023-11-14). Every list.json
# and interim.json expectation holds for any `today` in the years 2000-2099: the only case whose
# validity depends on the century is 000229-2399 (2000-02-29 exists, 1900-02-29 does not). The
# short form 2107919967 reads as 2021 (its long form) from 2021 on. A fixed date keeps the tests
# independent of the calendar; Skatteverket's lists end in 2023, so nobody in them is born after
# this year.
TODAY = datetime.date(2023, 11, 14)

FORMATS = ("long_format", "short_format", "separated_format", "separated_long")


def _load(name: str) -> Any:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


PINS: list[str] = _load("allPins.json")
COORDS: list[str] = _load("allCoords.json")
LIST_CASES: list[dict[str, Any]] = _load("list.json")
INTERIM_CASES: list[dict[str, Any]] = _load("interim.json")
STRUCTURED: dict[str, Any] = _load("structured.json")


def reference_luhn_ok(ten: str) -> bool:
    """Plain textbook Luhn over a 10-character number (interim letter counted as 1).

    Written independently of the module: from the right, every second digit is doubled and the
    digit sum of the product counted; the total must be a multiple of 10.
    """
    digits = [1 if ch.isalpha() else int(ch) for ch in ten]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            doubled = digit * 2
            total += doubled - 9 if doubled > 9 else doubled
        else:
            total += digit
    return total % 10 == 0


def with_check_digit(eleven: str) -> str:
    """Append the check digit that makes ``YYYYMMDDNNN`` pass the Luhn check."""
    for check in "0123456789":
        if reference_luhn_ok(eleven[2:] + check):
            return eleven + check
    raise AssertionError("unreachable: one check digit always fits")


def _date_part(value: str) -> tuple[int, int, int]:
    return int(value[:4]), int(value[4:6]), int(value[6:8])


def _calendar_date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


# --- Skatteverket's official test lists -----------------------------------------------------


def test_r1_1_accepts_every_skatteverket_test_personnummer() -> None:
    assert len(PINS) == 41_129
    wrong = []
    for value in PINS:
        civic = parse_civic_no(value, today=TODAY)
        if (
            civic.value != value
            or civic.kind != "personnummer"
            or civic.birth_date != datetime.date(*_date_part(value))
            or civic.sex != ("Man" if int(value[10]) % 2 else "Kvinna")
        ):
            wrong.append(civic.masked())
    assert wrong == []


def test_r1_1_accepts_every_skatteverket_test_samordningsnummer_with_unknown_dates() -> None:
    assert len(COORDS) == 2_264
    wrong = []
    counts = {"month 00": 0, "day 60": 0, "no such day": 0}
    for value in COORDS:
        civic = parse_civic_no(value, today=TODAY)
        year, month, day_field = _date_part(value)
        day = day_field - 60
        if month == 0:
            counts["month 00"] += 1
        if day == 0:
            counts["day 60"] += 1
        expected = None if month == 0 or day == 0 else _calendar_date(year, month, day)
        if month and day and expected is None:
            counts["no such day"] += 1
        if (
            civic.value != value
            or civic.kind != "samordningsnummer"
            or civic.birth_date != expected
        ):
            wrong.append(civic.masked())
    assert wrong == []
    # Skatteverket's list leaves the birth month or day unknown (00) in 170 numbers, and names a
    # day the month does not have (e.g. April 31) in 24 more; all are accepted, without a date.
    assert counts == {"month 00": 132, "day 60": 41, "no such day": 24}


def test_r1_1_samordningsnummer_with_a_day_the_month_lacks_has_no_birth_date() -> None:
    civic = parse_civic_no("192004912388", today=TODAY)  # from allCoords.json: "April 31"
    assert civic.kind == "samordningsnummer"
    assert civic.birth_date is None
    assert birth_date_of(civic.value) is None


# --- The personnummer project's curated cases ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "case"),
    [
        pytest.param(case[fmt], case, id=f"{fmt}:{case[fmt]}")
        for case in LIST_CASES
        for fmt in FORMATS
    ],
)
def test_r1_1_list_json_case_has_its_valid_flag_and_sex(text: str, case: dict[str, Any]) -> None:
    assert is_valid_civic_no(text, today=TODAY) is case["valid"]
    if case["valid"]:
        civic = parse_civic_no(text, today=TODAY)
        assert civic.kind == ("samordningsnummer" if case["type"] == "con" else "personnummer")
        assert civic.sex == ("Man" if case["isMale"] else "Kvinna")
        assert case["isMale"] is not case["isFemale"]
    else:
        with pytest.raises(CivicNoError):
            parse_civic_no(text, today=TODAY)


@pytest.mark.parametrize(
    "case", [c for c in LIST_CASES if c["valid"]], ids=lambda c: str(c["long_format"])
)
def test_r1_1_list_json_forms_give_the_long_format_except_a_short_form_lacking_its_plus(
    case: dict[str, Any],
) -> None:
    long = case["long_format"]
    for fmt in ("long_format", "separated_format", "separated_long"):
        assert parse_civic_no(case[fmt], today=TODAY).value == long
    short = parse_civic_no(case["short_format"], today=TODAY).value
    if "+" in case["separated_format"]:
        # list.json writes the 1909 numbers' short form without the "+" that marks a person of
        # 100 or more, so it is read as the most recent century (2009), like any 10-digit number.
        assert short == str(int(long[:4]) + 100) + long[4:]
    else:
        assert short == long


@pytest.mark.parametrize(
    ("text", "case"),
    [
        pytest.param(case[fmt], case, id=f"{fmt}:{case[fmt]}")
        for case in INTERIM_CASES
        for fmt in FORMATS
    ],
)
def test_r1_1_interim_json_case_has_its_valid_flag(text: str, case: dict[str, Any]) -> None:
    assert is_valid_civic_no(text, today=TODAY) is case["valid"]
    if case["valid"]:
        civic = parse_civic_no(text, today=TODAY)
        assert civic.value == case["long_format"]
        assert civic.kind == "interim"
        assert civic.birth_date == datetime.date(*_date_part(case["long_format"]))
        assert civic.sex == ("Man" if case["isMale"] else "Kvinna")
    else:
        with pytest.raises(CivicNoError) as info:
            parse_civic_no(text, today=TODAY)
        assert info.value.reason == "letter"


def _structured_strings() -> list[Any]:
    return [
        pytest.param(text, group == "valid", id=f"{kind}-{group}:{text}")
        for kind, cases in STRUCTURED.items()
        for group, texts in cases["string"].items()
        for text in texts
    ]


def _structured_integers() -> list[Any]:
    # Integer 0 stands for the space-separated case, which has no integer form: skipped.
    return [
        pytest.param(str(number).zfill(12), group == "valid", id=f"{kind}-{group}:{number}")
        for kind, cases in STRUCTURED.items()
        for group, numbers in cases["integer"].items()
        for number in numbers
        if number != 0
    ]


@pytest.mark.parametrize(("text", "valid"), _structured_strings())
def test_r1_1_structured_json_string_case_is_valid_as_grouped(text: str, valid: bool) -> None:
    assert is_valid_civic_no(text, today=TODAY) is valid


@pytest.mark.parametrize(("text", "valid"), _structured_integers())
def test_r1_1_structured_json_integer_case_as_12_digits_is_valid_as_grouped(
    text: str, valid: bool
) -> None:
    assert is_valid_civic_no(text, today=TODAY) is valid


# --- TF numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["20120315TF01", "20120315-TF01", "120315-TF01", "120315TF01", "20120315tf01", "120315+TF01"],
)
def test_r1_1_accepts_a_school_tf_number_in_canonical_upper_case(text: str) -> None:
    civic = parse_civic_no(text, today=TODAY)
    expected = "19120315TF01" if "+" in text else "20120315TF01"
    assert civic == CivicNo(expected, "tf", datetime.date(int(expected[:4]), 3, 15), None)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("20120230TF01", "date"),
        ("20121315TF01", "date"),
        ("20120315TX01", "format"),
        ("20120315TF1", "format"),
        ("20120315TF001", "format"),
        ("20120315TFAB", "format"),
    ],
)
def test_r1_1_rejects_a_malformed_tf_number(text: str, reason: str) -> None:
    with pytest.raises(CivicNoError) as info:
        parse_civic_no(text, today=TODAY)
    assert info.value.reason == reason


# --- Hand-made invalid numbers ----------------------------------------------------------------

OFFICIAL = "201203102387"  # from allPins.json
OFFICIAL_WRONG_CHECK = OFFICIAL[:11] + str((int(OFFICIAL[11]) + 1) % 10)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param(OFFICIAL_WRONG_CHECK, "checksum", id="wrong check digit"),
        pytest.param(OFFICIAL_WRONG_CHECK[2:8] + "-" + OFFICIAL_WRONG_CHECK[8:], "checksum"),
        pytest.param(with_check_digit("20120310000"), "birth-number", id="birth number 000"),
        pytest.param(with_check_digit("20121310238"), "date", id="month 13"),
        pytest.param(with_check_digit("20120132238"), "date", id="day 32"),
        pytest.param(with_check_digit("20230229238"), "date", id="Feb 29 in 2023"),
        pytest.param(with_check_digit("19000229238"), "date", id="Feb 29 in 1900"),
        pytest.param(with_check_digit("20120015238"), "date", id="personnummer month 00"),
        pytest.param(with_check_digit("20120300238"), "date", id="personnummer day 00"),
        pytest.param(with_check_digit("20120345238"), "date", id="day 45"),
        pytest.param(with_check_digit("20121361238"), "date", id="samordningsnummer month 13"),
        pytest.param(with_check_digit("20120392238"), "date", id="day 92"),
        pytest.param(with_check_digit("00000101238"), "date", id="year 0000"),
        pytest.param("2012031023A7", "format", id="letter in birth number"),
        pytest.param("20120310-2A87", "format", id="letter after separator"),
        pytest.param("20120310E387", "letter", id="letter E"),
        pytest.param("20120310238", "format", id="11 digits"),
        pytest.param("2012031023871", "format", id="13 digits"),
        pytest.param("120310238", "format", id="9 digits"),
        pytest.param("", "format", id="empty"),
        pytest.param("   ", "format", id="blank"),
        pytest.param("20120310 2387", "format", id="space separator"),
        pytest.param("120310 2387", "format", id="short with space separator"),
        pytest.param("20120310--2387", "format", id="double separator"),
        pytest.param("2012-03-10-2387", "format", id="dashes in the date"),
        pytest.param("20120310_2387", "format", id="underscore separator"),
        pytest.param("\uff12\uff10\uff11\uff12\uff10\uff13\uff11\uff102387", "format", id="wide"),
        pytest.param("20000101T221", "checksum", id="interim wrong check digit"),
        pytest.param("20000230T220", "date", id="interim Feb 30"),
    ],
)
def test_r1_1_rejects_an_invalid_number_with_its_reason(text: str, reason: str) -> None:
    assert not is_valid_civic_no(text, today=TODAY)
    with pytest.raises(CivicNoError) as info:
        parse_civic_no(text, today=TODAY)
    assert info.value.reason == reason
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "part"),
    [
        (with_check_digit("20230229238"), "the date 2023-02-29 does not exist"),
        (with_check_digit("20120310000"), "birth number 000"),
        (OFFICIAL_WRONG_CHECK, "check digit"),
        ("20120310E387", "letter E"),
    ],
)
def test_r1_1_error_message_says_what_is_wrong_without_the_full_number(
    text: str, part: str
) -> None:
    with pytest.raises(CivicNoError) as info:
        parse_civic_no(text, today=TODAY)
    message = str(info.value)
    assert part in message
    assert text not in message
    assert text[2:] not in message
    assert text[8:] not in message


def test_r1_1_error_survives_pickling_with_its_reason() -> None:
    with pytest.raises(CivicNoError) as info:
        parse_civic_no(OFFICIAL_WRONG_CHECK, today=TODAY)
    copy = pickle.loads(pickle.dumps(info.value))
    assert (str(copy), copy.reason) == (str(info.value), "checksum")


# --- Written forms and the century of a 10-digit number ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        OFFICIAL,
        "20120310-2387",
        "20120310+2387",
        "120310-2387",
        "1203102387",
        f"  {OFFICIAL}\n",
        "\t120310-2387 ",
    ],
)
def test_r1_1_accepts_every_written_form_and_strips_surrounding_whitespace(text: str) -> None:
    assert parse_civic_no(text, today=TODAY).value == OFFICIAL


def test_r1_1_ten_digits_take_the_most_recent_century_and_plus_means_100_years_older() -> None:
    official_1912 = "191202119150"  # from allPins.json
    assert parse_civic_no("120211-9150", today=TODAY).value == "20" + official_1912[2:]
    assert parse_civic_no("120211+9150", today=TODAY).value == official_1912
    assert parse_civic_no("19120211+9150", today=TODAY).value == official_1912
    assert parse_civic_no("19120211-9150", today=TODAY).value == official_1912


def test_r1_1_century_inference_goes_by_the_year_of_today() -> None:
    official = "202312312388"  # from allPins.json
    # Same two-digit year as today: this year, even when the day is still ahead.
    assert parse_civic_no("231231-2388", today=datetime.date(2023, 1, 1)).value == official
    assert parse_civic_no("231231-2388", today=datetime.date(2022, 12, 31)).value == "192312312388"
    assert parse_civic_no("231231+2388", today=datetime.date(2023, 1, 1)).value == "192312312388"


def test_r1_1_twelve_digits_ignore_today() -> None:
    far = datetime.date(2999, 1, 1)
    assert parse_civic_no(OFFICIAL, today=far).value == OFFICIAL
    assert parse_civic_no(OFFICIAL, today=TODAY).value == OFFICIAL


def test_r1_1_leap_day_depends_on_the_inferred_century() -> None:
    assert is_valid_civic_no("000229-2399", today=TODAY)  # 2000-02-29
    assert not is_valid_civic_no("000229+2399", today=TODAY)  # 1900-02-29 does not exist


def test_r1_1_interim_letters_are_case_insensitive_and_canonically_upper_case() -> None:
    civic = parse_civic_no("000101-t220", today=TODAY)
    assert civic.value == "20000101T220"
    assert civic.kind == "interim"


# --- CivicNo, masking, birth_date_of -----------------------------------------------------------


def test_r1_1_civic_no_is_immutable_and_its_repr_is_masked() -> None:
    civic = parse_civic_no(OFFICIAL, today=TODAY)
    with pytest.raises(AttributeError):
        civic.value = "x"  # type: ignore[misc]
    assert OFFICIAL[8:] not in repr(civic)
    assert "20120310-****" in repr(civic)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (OFFICIAL, "20120310-****"),
        ("20120310-2387", "20120310-****"),
        ("120310-2387", "20120310-****"),
        ("120310+2387", "19120310-****"),
        ("1203102387", "20120310-****"),
        ("20120315TF01", "20120315-****"),
        ("120315-TF01", "20120315-****"),
        (" 20120310-2387 ", "20120310-****"),
        ("", "****"),
        ("1234567", "****"),
        ("12345678", "****"),
        ("123456789", "****"),
        ("hello world!", "****"),
        ("12345678901", "****"),
    ],
)
def test_r1_1_mask_civic_no_hides_the_last_four(text: str, masked: str) -> None:
    assert mask_civic_no(text, today=TODAY) == masked


def test_r1_1_mask_civic_no_never_raises_on_non_text() -> None:
    assert mask_civic_no(None, today=TODAY) == "****"  # type: ignore[arg-type]
    assert mask_civic_no(201203102387, today=TODAY) == "****"  # type: ignore[arg-type]


_MASKED_RE = re.compile(r"[0-9]{8}-\*{4}")


@given(st.text())
def test_r1_1_mask_civic_no_never_raises_and_never_shows_the_last_four(text: str) -> None:
    masked = mask_civic_no(text, today=TODAY)
    if masked != "****":
        assert _MASKED_RE.fullmatch(masked)
        # The six date digits shown come from before the last four characters.
        assert masked[2:8] in text.strip()[:-4]


@given(st.sampled_from(PINS + COORDS))
def test_r1_1_masked_shows_only_the_date_part(value: str) -> None:
    civic = parse_civic_no(value, today=TODAY)
    assert civic.masked() == value[:8] + "-****"
    assert mask_civic_no(value, today=TODAY) == civic.masked()
    assert mask_civic_no(value[2:8] + "-" + value[8:], today=TODAY)[2:] == civic.masked()[2:]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (OFFICIAL, datetime.date(2012, 3, 10)),
        ("20000101T220", datetime.date(2000, 1, 1)),
        ("20120315TF01", datetime.date(2012, 3, 15)),
        ("197302889931", datetime.date(1973, 2, 28)),
        ("191500722390", None),  # samordningsnummer, month 00
        ("191711602399", None),  # samordningsnummer, day 60
        (OFFICIAL_WRONG_CHECK, None),
        ("20120310-2387", None),  # not canonical
        ("1203102387", None),
        ("", None),
        ("abcdefghijkl", None),
    ],
)
def test_r1_1_birth_date_of_reads_a_canonical_value(
    value: str, expected: datetime.date | None
) -> None:
    assert birth_date_of(value) == expected


# --- Properties ----------------------------------------------------------------------------------


@given(st.sampled_from(PINS + COORDS))
def test_r1_1_every_written_form_of_a_valid_number_gives_the_same_canonical_value(
    value: str,
) -> None:
    age_in_years = TODAY.year - int(value[:4])
    assert 0 <= age_in_years < 200
    forms = [value, value[:8] + "-" + value[8:], value[:8] + "+" + value[8:]]
    # A person turning 100 this year or older is written with "+" in the 10-digit form.
    forms.append(value[2:8] + ("+" if age_in_years >= 100 else "-") + value[8:])
    if age_in_years < 100:
        forms.append(value[2:])
    for text in forms:
        assert parse_civic_no(text, today=TODAY).value == value


@given(
    value=st.sampled_from(PINS + COORDS),
    position=st.integers(min_value=0, max_value=11),
    digit=st.sampled_from("0123456789"),
)
def test_r1_1_a_single_changed_digit_is_valid_only_if_the_luhn_check_still_holds(
    value: str, position: int, digit: str
) -> None:
    assume(value[position] != digit)
    changed = value[:position] + digit + value[position + 1 :]
    luhn_ok = reference_luhn_ok(changed[2:])
    if position >= 2:
        # The Luhn check covers YYMMDDNNNC and catches every single-digit change.
        assert not luhn_ok
    if is_valid_civic_no(changed, today=TODAY):
        assert luhn_ok
    else:
        with pytest.raises(CivicNoError) as info:
            parse_civic_no(changed, today=TODAY)
        assert changed not in str(info.value)
        assert changed[2:] not in str(info.value)


@given(st.sampled_from(PINS + COORDS))
def test_r1_1_sex_follows_the_parity_of_the_third_birth_number_digit(value: str) -> None:
    assert parse_civic_no(value, today=TODAY).sex == (
        "Man" if int(value[10]) % 2 == 1 else "Kvinna"
    )


@given(st.text())
def test_r1_1_arbitrary_text_is_either_a_civic_number_or_a_civic_no_error(text: str) -> None:
    try:
        civic = parse_civic_no(text, today=TODAY)
    except CivicNoError as exc:
        assert exc.reason in {"format", "checksum", "date", "birth-number", "letter"}
        assert not is_valid_civic_no(text, today=TODAY)
    else:
        assert len(civic.value) == 12
        assert is_valid_civic_no(text, today=TODAY)
