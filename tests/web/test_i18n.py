"""The web interface's languages: every text of the templates and the code has a Swedish
translation in the catalogue, the catalogue passes Babel's checks (placeholders kept, plural forms
present), and numbers, times and days are written the Swedish way. No database."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from schoolsync.web import i18n

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "schoolsync" / "web"
PO = WEB / "locale" / "sv" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2)}  # as scripts/messages.py extracts
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
FIX = "run `python scripts/messages.py` and translate the new entries in"


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    with PO.open("rb") as fh:
        return read_po(fh, locale="sv")


def _under_web(path: str) -> bool:
    """Walk only the folders on the way to the web package and inside it."""
    rel = Path(os.path.relpath(path, ROOT)).as_posix()
    web = WEB.relative_to(ROOT).as_posix()
    if Path(path).name.startswith((".", "_")):
        return False
    return web.startswith(rel + "/") or rel == web or rel.startswith(web + "/")


def _extracted() -> set[str]:
    """The msgids Babel extracts from the web package with babel.cfg's methods and options."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(ROOT / "babel.cfg"))
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS, directory_filter=_under_web
    ):
        found.add(message[0] if isinstance(message, tuple | list) else message)
    return found


def test_every_text_has_a_swedish_translation(catalogue: Catalog) -> None:
    extracted = _extracted()
    assert "Overview" in extracted and "%(num)s run" in extracted  # the extraction saw the texts
    wanted = extracted | set(i18n.dynamic_messages())
    missing = []
    for msgid in sorted(wanted):
        message = catalogue.get(msgid)
        strings = () if message is None else message.string
        strings = (strings,) if isinstance(strings, str) else strings
        if message is None or message.fuzzy or not all(s.strip() for s in strings):
            missing.append(msgid)
    assert not missing, (
        f"{len(missing)} text(s) without a Swedish translation ({FIX} "
        f"{PO.relative_to(ROOT)}): " + "; ".join(repr(m) for m in missing)
    )


def test_the_catalogue_passes_babels_checks(catalogue: Catalog) -> None:
    assert catalogue.num_plurals == 2
    problems = [
        f"{message.id!r}: {'; '.join(str(e) for e in errors)}"
        for message, errors in catalogue.check()
    ]
    assert not problems, (
        "Catalogue errors in " + str(PO.relative_to(ROOT)) + ":\n" + "\n".join(problems)
    )


def test_translations_keep_every_placeholder(catalogue: Catalog) -> None:
    """Babel lets a translation leave a placeholder out; the templates' newstyle gettext formats
    every text (``%`` on its own breaks it), so each translation has exactly its msgid's."""
    problems = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in filter(None, strings):
            try:
                string % dict.fromkeys(names, "x")
            except (ValueError, TypeError, KeyError) as error:
                problems.append(f"{ids[0]!r}: {string!r} does not format ({error})")
            if set(PLACEHOLDER.findall(string)) != names:
                problems.append(f"{ids[0]!r}: {string!r} has not the placeholders {sorted(names)}")
    assert not problems, "\n".join(problems)


def test_translations_per_language() -> None:
    assert i18n.translations("sv").gettext("Overview") == "Översikt"
    assert i18n.translations("sv").ngettext("%(num)s run", "%(num)s runs", 1) == "%(num)s körning"
    assert i18n.translations("sv").ngettext("%(num)s run", "%(num)s runs", 2) == "%(num)s körningar"
    assert i18n.translations("en").gettext("Overview") == "Overview"
    assert i18n.translations("en").ngettext("%(num)s run", "%(num)s runs", 2) == "%(num)s runs"


@contextmanager
def language(lang: str) -> Iterator[None]:
    token = i18n.language.set(lang)
    try:
        yield
    finally:
        i18n.language.reset(token)


def test_numbers_times_and_days_in_the_viewers_locale() -> None:
    summer = datetime(2025, 10, 15, 12, 30, tzinfo=UTC)  # 14:30 in Stockholm (CEST)
    winter = datetime(2025, 1, 15, 12, 30)  # naive: UTC, 13:30 in Stockholm (CET)
    with language("sv"):
        assert i18n.gettext("Overview") == "Översikt"
        assert i18n.number(12345) in ("12\u00a0345", "12\u202f345")
        assert i18n.number(1234.5) in ("1\u00a0234,5", "1\u202f234,5")
        assert i18n.when(summer) == "2025-10-15 14:30"
        assert i18n.when(winter) == "2025-01-15 13:30"
        assert i18n.day(date(2025, 10, 15)) == "15 okt. 2025"
        assert i18n.day("2025-03-01T08:00:00") == "1 mars 2025"
        assert i18n.number(None) == i18n.when(None) == i18n.day("") == "–"
    with language("en"):
        assert i18n.gettext("Overview") == "Overview"
        assert i18n.number(12345) == "12,345"
        assert "14:30" in i18n.when(summer)
        assert i18n.day(date(2025, 10, 15)) == "15 Oct 2025"
    assert i18n.language.get() == i18n.DEFAULT
