"""The web interface's languages: Swedish (the default) and English.

Texts are written in English in the templates and the code (``_("…")``) and translated by gettext
catalogues (``locale/sv/LC_MESSAGES/messages.po``, kept with Babel: ``pybabel extract -F
babel.cfg``, then ``pybabel update``). The catalogue is compiled when it is first used, so there is
no build step and no compiled file to keep in step. Dates, times and numbers are written in the
viewer's locale (Babel's CLDR data), times in Swedish time.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from datetime import date, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LANGUAGES = {"sv": "Svenska", "en": "English"}
DEFAULT = "sv"
_TIME_ZONE = ZoneInfo("Europe/Stockholm")
language: ContextVar[str] = ContextVar("language", default=DEFAULT)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of a language (English is the texts as written)."""
    if lang == "en":
        return _gettext.NullTranslations()
    po = resources.files("schoolsync.web").joinpath(f"locale/{lang}/LC_MESSAGES/messages.po")
    with po.open("rb") as fh:
        catalogue = read_po(fh, locale=lang)
    mo = io.BytesIO()
    write_mo(mo, catalogue)
    mo.seek(0)
    return _gettext.GNUTranslations(mo)


def gettext(message: str) -> str:
    """``message`` in the request's language."""
    return translations(language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a text, in the request's language."""
    return translations(language.get()).ngettext(singular, plural, n)


_ = gettext


def _locale() -> Locale:
    return Locale.parse("sv_SE" if language.get() == "sv" else "en_GB")


def number(value: int | float | None) -> str:
    """A number as the locale writes it (``12 345`` in Swedish)."""
    return "–" if value is None else format_decimal(value, locale=_locale())


def when(value: datetime | str | None) -> str:
    """A point in time (or its ISO 8601 text), in Swedish time, as the locale writes it."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        moment = value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return format_datetime(moment, "short", tzinfo=_TIME_ZONE, locale=_locale())


def day(value: date | str | None) -> str:
    """A day as the locale writes it."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return format_date(value, "medium", locale=_locale())


# What a run did to an entity (the change log's actions).
ACTIONS = ("created", "updated", "ended", "reactivated", "renamed", "archived", "moved",
           "cancelled", "removed", "unchanged", "merged", "rekeyed", "restored", "protected",
           "scrubbed")  # fmt: skip


def dynamic_messages() -> list[str]:
    """The texts the templates translate by value (``_(run.status)``, an issue's title, …): in
    the catalogue like every other text, though no extractor sees them written out."""
    from schoolsync.domain.issues import KINDS
    from schoolsync.domain.near import REASONS
    from schoolsync.engine.plan.changeset import ENTITY_GROUP, REPORT_GROUPS
    from schoolsync.store.access import ROLES

    words = [
        *ROLES,
        *("sync", "approve", "edit", "rekey", "merge", "rename"),  # run kinds
        *("applied", "held", "failed", "planned"),  # run statuses
        *REPORT_GROUPS,
        *ENTITY_GROUP,
        *ACTIONS,  # counted, in a run's changes
        *(word.capitalize() for word in ACTIONS),  # one change-log entry's, or a person's
        *("error", "warning", "info"),
        *("active", "inactive"),
        *("Active", "Ended", "Archived"),  # a person's, a link's or a group's status
        *REASONS,  # how a near name differs
        *("civic-no-shown", "person-viewed", "run-approved"),  # the audit log's actions
        *(kind.title for kind in KINDS.values()),
    ]
    return sorted(set(words))
