"""Recognise what a source path is and read it with the right reader."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from schoolsync.domain.records import RegisterSnapshot
from schoolsync.errors import InputError
from schoolsync.sources.ss12000 import read_bundle


def read_sources(paths: Sequence[Path], advance: Callable[[int], None]) -> RegisterSnapshot:
    """Read the run's sources.

    Args:
        paths: The paths given on the command line.
        advance: Called once per source read.

    Returns:
        The register snapshot.

    Raises:
        InputError: When a source is unreadable, of an unknown format, or there is not exactly
            one register source.
    """
    register: RegisterSnapshot | None = None
    for path in paths:
        if path.is_dir():
            if register is not None:
                raise InputError(
                    "is a second register bundle; a run reads one register.",
                    "Run one sync per register export.",
                    path=str(path),
                )
            register = read_bundle(path)
        elif not path.exists():
            raise InputError(
                "does not exist.",
                "Give the SS 12000 bundle folder (and optionally a schedule file).",
                path=str(path),
            )
        else:
            raise InputError(
                "is a file schoolsync cannot read as a register source.",
                "Give the folder that holds the SS 12000 JSON files.",
                path=str(path),
            )
        advance(1)
    if register is None:
        raise InputError("No register source was given.", "Give the SS 12000 bundle folder.")
    return register
