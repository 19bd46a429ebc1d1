"""Near matches for names that must match exactly (groups, classes, signatures; R8.3).

Schedules and registers lose lessons to a capital letter, a trailing space or å/ä/ö damaged by a
wrong encoding (``Sl?jd``, ``SlÃ¶jd``). These helpers find the name that was probably meant and
say in plain words how it differs, so the administrator can correct one side.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[\s\-_.:/,;()]+")
_SWEDISH = str.maketrans({c: "?" for c in "åäöÅÄÖéÉüÜ"})


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 read as cp1252/latin-1 (``SlÃ¶jd`` → ``Slöjd``); other text is unchanged."""
    if not any(ch in text for ch in "ÃÂ"):
        return text
    for codec in ("cp1252", "latin-1"):
        try:
            return text.encode(codec).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return text


def _case(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _spaces(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _punct(text: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFC", text))


def _encoding(text: str) -> str:
    return _case(_punct(repair_mojibake(text))).translate(_SWEDISH).replace("\ufffd", "?")


# From the smallest difference to the largest: the first that makes two names equal is named.
_LEVELS = (
    (_case, "differs only in upper/lower case"),
    (_spaces, "differs only in spaces"),
    (lambda x: _case(_spaces(x)), "differs in upper/lower case and spaces"),
    (_punct, "differs only in punctuation or spaces"),
    (lambda x: _case(_punct(x)), "differs in upper/lower case and punctuation or spaces"),
    (_encoding, "has å/ä/ö damaged by a wrong character encoding"),
)

REASONS = tuple(reason for _, reason in _LEVELS)


def how_near(wanted: str, candidate: str) -> str | None:
    """How ``candidate`` differs from ``wanted`` when only case, spacing, punctuation or
    damaged å/ä/ö tell them apart; None when they differ in more (or not at all)."""
    if wanted == candidate:
        return None
    for fold, reason in _LEVELS:
        if fold(wanted) == fold(candidate):
            return reason
    return None


def near_matches(
    wanted: str, candidates: Iterable[str], *, close: int = 3
) -> tuple[list[tuple[str, str]], list[str]]:
    """The names that probably were meant, and some other close names.

    Args:
        wanted: The name as written (in a schedule or on the command line).
        candidates: The names that exist.
        close: How many other close names to return at most.

    Returns:
        ``([(name, how it differs)], [other close names])``.
    """
    names = sorted(set(candidates))
    near = [(name, reason) for name in names if (reason := how_near(wanted, name)) is not None]
    taken = {name for name, _ in near} | {wanted}
    folded = {_case(n): n for n in names if n not in taken}
    others = difflib.get_close_matches(_case(wanted), list(folded), n=close, cutoff=0.6)
    return near, [folded[o] for o in others]


def describe_near(wanted: str, candidates: Iterable[str]) -> str:
    """A sentence naming the near matches of ``wanted``, or an empty string."""
    near, others = near_matches(wanted, candidates)
    parts = [f"{name!r} ({reason})" for name, reason in near]
    text = ""
    if parts:
        text = "The nearest existing name is " + " or ".join(parts) + "."
    if others:
        text += (" " if text else "") + "Other close names: " + ", ".join(map(repr, others)) + "."
    return text
