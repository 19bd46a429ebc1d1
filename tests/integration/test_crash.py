"""Crash safety: a sync killed at any moment (SIGKILL) leaves the directory exactly as it was
before the run or exactly as after it, and the next run works (the run lock does not stick)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from schoolsync.generate import generate_bundle
from tests.conftest import TODAY, Directory, run_cli

KILLS = int(os.environ.get("SCHOOLSYNC_KILL_TEST_RUNS", "2"))  # per database; more: the env


def normalized(directory: Directory) -> Any:
    """The export without the internal ids (another run makes other ids)."""
    return directory.export_without_ids()


def sources(folder: Path, seed: int) -> list[str]:
    summary = generate_bundle(folder, "small", seed=seed, today=TODAY)
    return [str(folder), *(str(p) for p in summary.schedules)]


def start(url: str, args: list[str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "schoolsync", "--db", url, "--today", TODAY.isoformat(),
               "sync", "--allow-mass-changes", *args]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def fresh(db_url: str, tmp_path: Path, n: int) -> Directory:
    """Another empty directory of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        return Directory(f"sqlite:///{tmp_path / f'kill-{n}.db'}")
    base, _, schema = db_url.partition("?options=-csearch_path%3D")
    name = f"{schema}_k{n}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return Directory(f"{base}?options=-csearch_path%3D{name}")


@pytest.mark.slow
def test_a_killed_sync_leaves_the_directory_before_or_after_the_run(
    db_url: str, tmp_path: Path
) -> None:
    before_args = sources(tmp_path / "a", seed=1)
    after_args = sources(tmp_path / "b", seed=2)  # another municipality: everything changes
    reference = fresh(db_url, tmp_path, 0)
    assert run_cli("--db", reference.url, "--today", TODAY.isoformat(), "sync",
                   *before_args).code == 0  # fmt: skip
    state_before = normalized(reference)
    began = time.monotonic()
    proc = start(reference.url, after_args)
    assert proc.wait(timeout=600) == 0, proc.stderr.read() if proc.stderr else ""
    duration = time.monotonic() - began
    state_after = normalized(reference)
    assert state_before != state_after

    rng = random.Random(20261129)
    outcomes = {"before": 0, "after": 0}
    for n in range(1, KILLS + 1):
        directory = fresh(db_url, tmp_path, n)
        assert run_cli("--db", directory.url, "--today", TODAY.isoformat(), "sync",
                       *before_args).code == 0  # fmt: skip
        proc = start(directory.url, after_args)
        time.sleep(rng.uniform(0.3, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = normalized(directory)
        assert state in (state_before, state_after), f"kill {n}: a half-applied directory"
        outcomes["before" if state == state_before else "after"] += 1
        if db_url.startswith("sqlite"):
            engine = sa.create_engine(directory.url)
            with engine.connect() as conn:
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar() == "ok"
            engine.dispose()
        again = start(directory.url, after_args)  # the lock died with the killed process
        assert again.wait(timeout=600) == 0
        assert normalized(directory) == state_after
    assert outcomes["before"] > 0, outcomes  # at least one kill landed inside a run
