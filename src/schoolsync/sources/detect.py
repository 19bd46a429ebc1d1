"""Recognise what each source path is and read it with the right reader."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path

from schoolsync.domain.settings import ApiSettings
from schoolsync.domain.snapshot import Snapshot
from schoolsync.errors import InputError
from schoolsync.sources.novaschem import is_novaschem, read_novaschem
from schoolsync.sources.ss12000 import read_bundle
from schoolsync.sources.ss12000.api import ENDPOINTS, Progress, fetched, is_api_url
from schoolsync.sources.ss12000.files import DEFAULT_MAX_FILE_BYTES, check_file, exists_somehow
from schoolsync.sources.ss12000.note import FETCH_NOTE
from schoolsync.sources.ss12000.picture import Delta, Picture, page_records, stored_body

FORMATS = ("ss12000", "novaschem")

Source = Path | str
"""A SOURCE as given: a path, or the base URL of an SS 12000 API (a ``str``)."""


def as_source(text: str) -> Source:
    """A SOURCE from the command line (or a held run's record): a URL stays text."""
    return text if is_api_url(text) else Path(text)


@contextmanager
def local_sources(
    sources: Sequence[Source],
    settings: ApiSettings,
    today: date,
    progress: Progress,
    picture_of: Callable[[str], Picture | None],
    full: bool = False,
) -> Iterator[tuple[list[Path], list[Delta]]]:
    """The sources as paths: each API read into a temporary bundle folder (only what changed,
    merged into its stored picture, when ``picture_of`` gives one and no full read is due),
    removed when the block ends; paths as they are. With what each API read changes in its
    picture.

    Raises:
        ConfigError: When an API cannot be read with these settings.
        InputError: When an API read fails (nothing of it is used).
    """
    with ExitStack() as stack:
        paths: list[Path] = []
        deltas: list[Delta] = []
        for source in sources:
            if isinstance(source, Path):
                paths.append(source)
                continue
            read = fetched(source, settings, today, progress, picture_of(source), full)
            folder, delta = stack.enter_context(read)
            paths.append(folder)
            deltas.append(delta)
        yield paths, deltas


def fingerprint(paths: Sequence[Path]) -> str:
    """A SHA-256 over every file of the sources, to tell whether an export changed. An API
    read's folder is fingerprinted by its records, as the picture would keep them, whatever
    their order and pages: a full read and an incremental one of the same register match."""
    digest = hashlib.sha256()
    for root in paths:
        if (root / FETCH_NOTE).is_file():
            for endpoint in ENDPOINTS:
                digest.update(f"{endpoint}\n".encode())
                for body in sorted(stored_body(endpoint, r) for r in page_records(root, endpoint)):
                    digest.update(body + b"\n")
            continue
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(root) if root.is_dir() else path.name).encode())
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"<unreadable>")
    return digest.hexdigest()


def _format_of(path: Path, forced: str | None, max_bytes: int) -> str:
    if path.is_dir():
        return forced or "ss12000"
    if not exists_somehow(path):
        raise InputError(
            "does not exist.",
            "Give the SS 12000 bundle folder and/or Novaschem text exports.",
            path=str(path),
        )
    check_file(path, str(path), max_bytes, "Give the schedule's text export (a file).")
    if forced:
        return forced
    if is_novaschem(path):
        return "novaschem"
    raise InputError(
        "is neither an SS 12000 bundle folder nor a Novaschem text export (a file that starts "
        "with [Source] and Application=Novaschem).",
        "Give the bundle folder and the schedule's text export, or force one with --format.",
        path=str(path),
    )


def read_sources(
    paths: Sequence[Path],
    advance: Callable[[int], None],
    forced: str | None = None,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    labels: Mapping[Path, str] | None = None,
) -> Snapshot:
    """Read the run's sources.

    Args:
        paths: The paths given on the command line (an API's: the folder it was read into).
        advance: Called once per source read.
        forced: A format to read every path as, instead of recognising it.
        max_file_bytes: The largest file read (``[sources] max_file_mb``).
        labels: What the run report names a path instead of the path (an API's URL).

    Returns:
        The register (if any) and the schedules.

    Raises:
        InputError: When a source is unreadable or of an unknown format, two register bundles or
            two exports of one school are given, or nothing at all.
    """
    sources = Snapshot()
    for path in paths:
        if _format_of(path, forced, max_file_bytes) == "ss12000":
            if sources.register is not None:
                raise InputError(
                    "is a second register bundle; a run reads one register.",
                    "Run one sync per register export.",
                    path=str(path),
                )
            label = (labels or {}).get(path)
            sources.register = read_bundle(path, max_file_bytes, label)
            if sources.register.lessons is not None:
                sources.schedules.append(sources.register.lessons)
        else:
            snap = read_novaschem(path)
            if any(s.source == snap.source for s in sources.schedules):
                raise InputError(
                    f"is a second schedule for {snap.source.split(':', 1)[1]!r} in one run.",
                    "Give each school's export once.",
                    path=str(path),
                )
            sources.schedules.append(snap)
        advance(1)
    if sources.register is None and not sources.schedules:
        raise InputError("No source was given.", "Give the SS 12000 bundle folder.")
    return sources
