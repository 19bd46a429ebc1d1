"""Every broken input of ``tests/data/bad-input`` through the real ``schoolsync sync`` command.

Each case starts from a directory that holds the example bundle, then syncs the case's sources
through the command line (``main()``, in-process) and checks the contract for bad input:

- ``issue`` / ``ok``: exit 0, the run applied, and (``issue``) the report names the problem;
- ``error``: exit 1 with a sentence on stderr that names the file, and the directory unchanged;
- ``held``: exit 3, a safety lock named in the report, and the directory unchanged;
- never exit 2, never a traceback or an internal error, and nobody who was active is ended
  unless the case says that person really left.

The baseline sync and the exports use the engine directly (the same ``export_directory`` that
``export --json`` prints). The corpus is written by ``tests/data/bad-input/make_corpus.py``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_BUNDLE, ROOT, TODAY, Directory, invoke

CORPUS = ROOT / "tests" / "data" / "bad-input"
CASES = sorted(p for p in CORPUS.iterdir() if (p / "case.json").is_file())
EXIT_CODES = {"issue": 0, "ok": 0, "error": 1, "held": 3}


def _load(case: Path) -> dict[str, Any]:
    meta: dict[str, Any] = json.loads((case / "case.json").read_text(encoding="utf-8"))
    assert meta["expect"] in EXIT_CODES, f"{case.name}: unknown expect {meta['expect']!r}"
    assert meta["sources"], f"{case.name}: no sources"
    return meta


def _copy_sources(case: Path, sources: list[str], dest: Path) -> list[Path]:
    """The case's sources, copied (a bundle folder without its .gitkeep placeholder)."""
    dest.mkdir()
    out = []
    for name in sources:
        src = case / name
        target = dest / name
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns(".gitkeep"))
        else:
            shutil.copyfile(src, target)
        out.append(target)
    return out


def _active(export: dict[str, Any]) -> set[str]:
    return {u["civic_no"] for u in export["users"] if u["status"] == "active"}


def _flat(text: str) -> str:
    """Text without whitespace, so that a line wrapped by the terminal still matches."""
    return "".join(text.split())


def test_the_corpus_holds_every_case_the_generator_writes() -> None:
    names = {p.name for p in CASES}
    assert len(names) >= 40
    for case in CASES:
        meta = _load(case)
        for source in meta["sources"]:
            assert (case / source).exists(), f"{case.name}: {source} is missing"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_input_ends_in_an_issue_an_error_or_a_hold_and_never_half_applies(
    case: Path, db_url: str, tmp_path: Path
) -> None:
    meta = _load(case)
    expect, mention = meta["expect"], meta["mention"]
    leaves = set(meta.get("leaves", []))
    sources = _copy_sources(case, meta["sources"], tmp_path / "input")
    directory = Directory(db_url)
    assert directory.sync(EXAMPLE_BUNDLE).status == "applied"
    before = directory.export()

    result = invoke(
        "--db", db_url, "--today", TODAY.isoformat(), "sync", "--json", *map(str, sources)
    )  # fmt: skip
    after = directory.export()

    said = f"exit {result.code}\nstdout: {result.out[-2000:]}\nstderr: {result.err[-2000:]}"
    assert "Traceback" not in result.out + result.err, said
    assert "Internal error" not in result.err, said
    assert result.code == EXIT_CODES[expect], said

    if expect == "error":
        assert _flat(mention) in _flat(result.err), said
        assert after == before, "a failed run changed the directory"
        return

    report = json.loads(result.out)
    issues = [f"{i['code']} {i['message']}" for i in report["issues"]]
    if mention:
        assert any(mention in text for text in issues), f"{mention!r} not in {issues}"
    if expect == "held":
        assert report["status"] == "held"
        assert after == before, "a held run changed the directory"
        return

    assert report["status"] == "applied"
    ended = _active(before) - _active(after)
    assert ended == leaves, f"ended {sorted(ended)}, expected {sorted(leaves)}"
