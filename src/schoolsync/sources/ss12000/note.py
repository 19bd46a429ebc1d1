"""The note an API read leaves in the bundle folder it wrote (``fetch.json``).

It says where the read came from, when, what it cost, and which endpoints the provider did not
let it have. The bundle reader takes two things from it, so that a sync of a fetched folder is the
same run as the API sync that read it: the issues about those endpoints, and that a person
without a ``securityMarking`` is handled as protected (an API client without the scope that
shows it must not leak anyone, R11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from schoolsync.domain.issues import Issue, issue
from schoolsync.errors import InputError

FETCH_NOTE = "fetch.json"
"""The note's file name in a bundle folder."""


@dataclass
class FetchNote:
    """What ``fetch.json`` says about a read: its source, times, cost, and each endpoint left out
    (with the status the provider answered)."""

    source: str
    started: str
    finished: str
    stats: dict[str, Any]
    unavailable: dict[str, int] = field(default_factory=dict)
    calendar: dict[str, str] | None = None  # the window read: {"from": date, "to": date}
    security_marking_required: bool = True  # an API read: a person without one is protected
    mode: str = "full"  # "full" | "incremental" (what changed, merged into the stored picture)
    reason: str = ""  # why a full read
    since: str | None = None  # an incremental read: changes after this (the provider's clock)
    notices: list[str] = field(default_factory=list)  # said once, as info issues
    # Fields no record of their kind had in what the read received ("persons.securityMarking"):
    # most likely a scope the client lacks.
    withheld: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """As ``fetch.json`` holds it."""
        return msgspec.to_builtins(self)  # type: ignore[no-any-return]

    def issues(self) -> list[Issue]:
        """One issue per endpoint the provider did not let the read have."""
        out = []
        for endpoint, status in sorted(self.unavailable.items()):
            if status == 403:
                what = (
                    f"The SS 12000 API refused this client /{endpoint} (403 Forbidden), so no "
                    f"{endpoint} were read and the directory's {endpoint} data was left as it "
                    f"is (a run is held if the directory holds such data). Ask the register's "
                    f"administrator to give the client access to {endpoint}, if it should have it."
                )
            else:
                what = (
                    f"The SS 12000 API does not offer /{endpoint} (it answered {status}), so no "
                    f"{endpoint} were read (a run is held if the directory holds such data). "
                    f"Nothing to do if the register has no {endpoint}."
                )
            out.append(issue("api-endpoint-unavailable", what, f"/{endpoint}"))
        out += [issue("api-full-reads", text, "/deletedEntities") for text in self.notices]
        return out


def read_note(folder: Path) -> FetchNote | None:
    """The note of the read that wrote a bundle folder, if an API read wrote it."""
    path = folder / FETCH_NOTE
    if not path.is_file():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=FetchNote)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InputError(
            f"cannot be read as the note of an API read ({exc}).",
            "Fetch the API again, or remove the file if the folder is not an API read.",
            path=str(path),
        ) from exc
