"""Random registers (hypothesis) and the invariants of any sync, for the property tests at both
levels (``tests/plan/test_properties.py`` and ``tests/integration/test_properties.py``).

A register is some of the pool's persons (tests/builder.py's test personnummer), each a student,
a teacher, other staff or nobody in particular, with one or two enrolments or duties at two
schools, and some guardians. :func:`check_invariants` checks, for registers A and B:

- a second sync of the same input changes nothing;
- syncing A then B leaves the same open links as syncing B into an empty directory;
- no sync deletes a row;
- a dry run reports exactly the changes the real run applies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.builder import PNR, Bundle
from tests.conftest import TODAY

UNITS = [("Norrskolan", "99990101"), ("Söderskolan", "99990202")]
SIGNATURES = ["AAA", "BBB", "CCC"]

dates = st.integers(min_value=-400, max_value=200).map(lambda d: TODAY + timedelta(days=d))


@st.composite
def enrolments(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(dates)
    end = draw(st.none() | st.integers(0, 500).map(lambda d: start + timedelta(days=d)))
    return {
        "unit": draw(st.integers(0, len(UNITS) - 1)),
        "start": start,
        "end": end,
        "cancelled": draw(st.booleans()) and draw(st.booleans()),
    }


@st.composite
def registers(draw: st.DrawFn) -> dict[str, Any]:
    """A register: some of the pool's persons, each a student or staff, some guardians."""
    people = {}
    for index in draw(st.sets(st.integers(0, len(PNR) - 1), max_size=len(PNR))):
        kind = draw(st.sampled_from(["student", "teacher", "staff", "none"]))
        people[index] = {
            "kind": kind,
            "family": draw(st.sampled_from(["Lund", "Berg", "Åkesson"])),
            "status": draw(st.sampled_from(["Aktiv", "Aktiv", "Aktiv", "Utvandrad"])),
            "enrolments": draw(st.lists(enrolments(), min_size=1, max_size=2)),
            "signature": draw(st.sampled_from(SIGNATURES)),
        }
    students = sorted(i for i, p in people.items() if p["kind"] == "student")
    others = sorted(i for i, p in people.items() if p["kind"] == "none")
    guardians = {}
    for student in students:
        if others and draw(st.booleans()):
            guardians[student] = draw(st.sampled_from(others))
    return {"people": people, "guardians": guardians}


def build(register: dict[str, Any], folder: Path) -> Path:
    b = Bundle()
    units = [b.unit(name, code) for name, code in UNITS]
    ids = {}
    for index, p in sorted(register["people"].items()):
        pid = b.person("Test", p["family"], PNR[index], personStatus=p["status"])
        ids[index] = pid
        for n, e in enumerate(p["enrolments"]):
            end = e["end"].isoformat() if e["end"] else None
            if p["kind"] == "student":
                b.enrol(pid, units[e["unit"]], start=e["start"].isoformat(), end=end,
                        cancelled=e["cancelled"])  # fmt: skip
            elif p["kind"] in ("teacher", "staff"):
                role = "Lärare" if p["kind"] == "teacher" else "Kurator"
                b.duty(pid, units[e["unit"]], role, p["signature"], start=e["start"].isoformat(),
                       end=end, key=f"{index}/{n}")  # fmt: skip
    for student, guardian in register["guardians"].items():
        b.responsible(ids[student], ids[guardian])
    return b.write(folder)


def open_links(export: dict[str, Any], today: date) -> set[tuple[str, ...]]:
    return {
        (u["civic_no"], s["school"], s["role"], str(s["start_date"]), str(s["end_date"]))
        for u in export["users"]
        for s in u["schools"]
        if s["end_date"] is None or s["end_date"] >= today.isoformat()
    }


def check_invariants(
    a: dict[str, Any], b: dict[str, Any], days: int, fresh: Callable[[str], Any], folder: Path
) -> None:
    """Sync A, A again, then B ``days`` later, and B into another directory; check the
    invariants.

    Args:
        a: The first register.
        b: The second register.
        days: How long after the first syncs the second register is synced.
        fresh: An empty directory under test by name (``sync``, ``export``, ``counts``).
        folder: Where the bundles are written (reused: every register writes the same files).
    """
    later = TODAY + timedelta(days=days)
    directory = fresh("d")
    bundle_a, bundle_b = build(a, folder / "a"), build(b, folder / "b")

    directory.sync(bundle_a)
    counts_a = directory.counts()
    again = directory.sync(bundle_a)
    assert all(not any(v.values()) for v in again.changes.values()), "second sync changed"

    # The safety locks (R10) are not what this checks: B may end everyone.
    planned = directory.sync(bundle_b, today=later, dry_run=True, allow_mass_changes=True)
    applied = directory.sync(bundle_b, today=later, allow_mass_changes=True)
    assert planned.changes == applied.changes, "dry run differs from the real run"
    counts_b = directory.counts()
    assert all(counts_b[t] >= n for t, n in counts_a.items()), "a row was deleted"

    other = fresh("fresh")
    other.sync(bundle_b, today=later)
    assert open_links(directory.export(later), later) == open_links(other.export(later), later)


def examples(n: int) -> Any:
    """Hypothesis settings for ``n`` examples (no deadline: a sync's time varies)."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
