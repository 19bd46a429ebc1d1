"""The README's "A short tour", run as written: every step exits as documented and shows it worked.

The commands are read from the ``sh`` block under "## A short tour". ``$S`` becomes the command
line the block's first line sets, and ``/tmp/kommun`` (the tour's folders and its database) a
folder of the test's own. Shell globs are expanded as the shell would.
"""

from __future__ import annotations

import glob
import json
import re
import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult, invoke

README = Path(__file__).resolve().parents[2] / "README.md"


@dataclass(frozen=True)
class Step:
    """One line of the tour: the words after ``$S``, the exit status its comment documents."""

    words: list[str]
    code: int
    line: str


def tour_steps(readme: str, tmp: Path) -> tuple[list[str], list[Step]]:
    """The command line ``$S`` stands for, and the tour's steps, with ``/tmp/kommun`` in ``tmp``."""
    section = readme.split("\n## A short tour\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]

    def here(text: str) -> str:
        return text.replace("/tmp/kommun", str(tmp / "kommun"))

    name, value = shlex.split(here(lines[0]), comments=True)[0].split("=", 1)
    assert name == "S", lines[0]
    program, *base = shlex.split(value)
    assert program == ".venv/bin/schoolsync", lines[0]  # the project's own command
    steps = []
    for line in lines[1:]:
        words = shlex.split(here(line), comments=True)
        assert words[0] == "$S", line
        documented = re.search(r"#.*\bexit (\d):", line)
        steps.append(Step(words[1:], int(documented.group(1)) if documented else 0, line))
    return base, steps


def expand(words: list[str]) -> list[str]:
    """Shell globs, expanded as ``sh`` would (a glob that matches nothing is a broken tour)."""
    out = []
    for word in words:
        if any(c in word for c in "*?["):
            matches = sorted(glob.glob(word))
            assert matches, f"{word} matches no file"
            out.extend(matches)
        else:
            out.append(word)
    return out


def _week_of_lessons(out: str) -> bool:
    export: dict[str, Any] = json.loads(out)
    starts = [datetime.fromisoformat(x["start"]).date().isoformat() for x in export["lessons"]]
    groups = {x["group"] for x in export["lessons"]}
    in_week = bool(starts) and "2026-09-14" <= min(starts) <= max(starts) <= "2026-09-20"
    return in_week and "Ma 7A" in groups


def _plans_nothing(out: str) -> bool:
    report: dict[str, Any] = json.loads(out)
    counts = [n for kind in report["changes"].values() for n in kind.values()]
    return report["status"] == "planned" and report["run_id"] is None and not any(counts)


# Each step of the tour: its first words, and what its output shows when it worked.
EXPECTED: list[tuple[str, list[str] | Any]] = [
    ("generate --size small", ["school year from 2026-08-17", "schedule export"]),
    ("sync", ["Run 1 applied (today = 2026-09-14)", "lessons"]),
    ("sync", ["Run 2 applied (today = 2026-09-14)", "nothing changed"]),
    ("sync --dry-run --json", _plans_nothing),
    ("export", ["Almhagaskolan F-9", "Almhagaskolans fritidshem"]),
    ("export --json --from 2026-09-14", _week_of_lessons),
    ("runs", ["applied"]),
    ("runs show 1", ["Run 1 sync applied"]),
    ("troubleshoot group Ma 7A", ["Ma 7A is a teaching group at Almhagaskolan F-9", "MAPE"]),
    ("troubleshoot signature MAPE", ["MAPE belongs to", "'Ma 7A'"]),
    ("class rename 7A 7A2", ["Renamed the class '7A' to '7A2' at Almhagaskolan F-9"]),
    ("sync", ["Run 4 applied", "rename-pending"]),
    ("user edit", ["email set to ellen.nilsson@example.invalid"]),
    ("user rekey", ["personnummer 20110104-**** → 20110104-****"]),
    ("generate --size small --today 2027-08-23", ["school year from 2027-08-23"]),
    ("sync --today 2027-08-23", ["Run 7 held by a safety lock", "lock-mass-change"]),
    ("runs show 7", ["Held by a safety lock (lock-mass-change)"]),
    ("runs approve 7", ["Run 8 applied (today = 2027-08-23)"]),
]


def _shows_it_worked(expected: list[str] | Any, result: CliResult) -> bool:
    if callable(expected):
        return bool(expected(result.out))
    text = " ".join(result.out.split())  # as read, whatever the terminal wrapped
    return all(part in text for part in expected)


@pytest.mark.slow
def test_readme_tour_runs_as_written_and_every_step_shows_it_worked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    base, steps = tour_steps(README.read_text(encoding="utf-8"), tmp_path)
    assert len(steps) == len(EXPECTED), "the tour changed: update EXPECTED"
    for step, (prefix, expected) in zip(steps, EXPECTED, strict=True):
        assert " ".join(step.words).startswith(prefix), (step.line, prefix)
        result = invoke(*base, *expand(step.words))
        assert result.code == step.code, (step.line, result.out[-2000:], result.err)
        assert "Traceback" not in result.err, step.line
        assert _shows_it_worked(expected, result), (step.line, result.out[-3000:])
