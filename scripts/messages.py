"""Bring the web interface's Swedish catalogue up to date with the texts of the templates and the
code: ``python scripts/messages.py`` (or ``make messages``), then translate the new entries in
``src/schoolsync/web/locale/sv/LC_MESSAGES/messages.po`` (``tests/web/test_i18n.py`` fails while
one is missing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from schoolsync.web.i18n import dynamic_messages

ROOT = Path(__file__).resolve().parents[1]
POT = ROOT / "build" / "messages.pot"
PO = ROOT / "src/schoolsync/web/locale/sv/LC_MESSAGES/messages.po"


def main() -> None:
    POT.parent.mkdir(exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
         "-k", "_", "-k", "gettext", "-k", "ngettext:1,2", "--no-location", "--omit-header",
         "-o", str(POT), "."],
        cwd=ROOT, check=True,
    )  # fmt: skip
    with POT.open("rb") as fh:
        template = read_po(fh)
    for text in dynamic_messages():
        if text not in template:
            template.add(text)
    with POT.open("wb") as fh:
        write_po(fh, template, omit_header=True, no_location=True)
    if not PO.exists():
        PO.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "init", "-i", str(POT), "-o",
             str(PO), "-l", "sv"], check=True,
        )  # fmt: skip
    else:
        subprocess.run(
            [sys.executable, "-m", "babel.messages.frontend", "update", "-i", str(POT), "-o",
             str(PO), "-l", "sv", "--no-fuzzy-matching"], check=True,
        )  # fmt: skip
    with PO.open("rb") as fh:
        catalogue = read_po(fh, locale="sv")
    catalogue.project, catalogue.version = "schoolsync", ""
    catalogue.copyright_holder = "The schoolsync contributors"
    catalogue.msgid_bugs_address = ""
    catalogue.last_translator = "The schoolsync contributors"
    catalogue.language_team = "Swedish"
    with PO.open("wb") as fh:
        write_po(fh, catalogue, no_location=True, width=100)


if __name__ == "__main__":
    main()
