"""schoolsync's log: readable lines by default, JSON lines with ``--log-format json``.

What is logged: one line per stage of a run (its name, how many records, the seconds it took),
one line per run (its id, outcome, counts of changes and issues), and under ``serve`` one line
per request (method, path, status, milliseconds; never the query string, which may hold a name
or a number someone searched for) and per scheduled job. What is never logged: a personnummer
(messages are written masked, and every line passes :func:`scrub`), a protected person, a
secret (only where one is read from, never its value).

The level comes from ``--log-level`` (default ``warning`` for commands, ``info`` for
``serve``); the lines go to stderr.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

LOGGER = "schoolsync"
log = logging.getLogger(LOGGER)

# Twelve digits that may be a personnummer (or ten with a dash or plus), not inside an id.
_CIVIC = re.compile(r"(?<![0-9A-Za-z-])(\d{6}|\d{8})[-+]?(\d{4})(?![0-9A-Za-z])")
_TF = re.compile(r"(?<![0-9A-Za-z-])(\d{8})TF(\d{2})(?![0-9A-Za-z])", re.IGNORECASE)


def scrub(text: str) -> str:
    """A line with anything shaped like a personnummer or TF number masked (its birth date
    kept: ``20120304-****``)."""
    text = _CIVIC.sub(lambda m: f"{m[1]}-****", text)
    return _TF.sub(lambda m: f"{m[1]}-****", text)


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in getattr(record, "fields", {}).items():
            doc[key] = scrub(value) if isinstance(value, str) else value
        return json.dumps(doc, ensure_ascii=False, default=str)


class _Text(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created).strftime("%Y-%m-%d %H:%M:%S")
        extra = getattr(record, "fields", {})
        tail = " ".join(f"{k}={v}" for k, v in extra.items())
        line = f"{when} {record.levelname:<7} {record.getMessage()}" + (
            f" ({tail})" if tail else ""
        )
        return scrub(line)


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a line is logged (a test's capture, or the
    process's)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str = "warning", fmt: str = "text") -> None:
    """Send schoolsync's log to stderr at ``level`` in ``fmt`` (``text`` or ``json``)."""
    root = logging.getLogger(LOGGER)
    for handler in list(root.handlers):
        if getattr(handler, "_schoolsync", False):
            root.removeHandler(handler)
    handler = _Stderr()
    handler._schoolsync = True  # type: ignore[attr-defined]
    handler.setFormatter(_Json() if fmt == "json" else _Text())
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False


def event(message: str, level: int = logging.INFO, **fields: Any) -> None:
    """One log line with structured fields (in JSON, keys of their own)."""
    log.log(level, message, extra={"fields": fields})


Stage = Callable[[str, int], Callable[[int], None]]


@contextmanager
def timed_stages(inner: Stage) -> Iterator[Stage]:
    """A run's stage callback that also logs each stage when the next begins (and the last at
    the end): its name, records and seconds."""
    current: list[Any] = []  # [name, started, count]

    def close() -> None:
        if current:
            name, started, count = current
            event(
                f"stage {name}",
                stage=name,
                records=count,
                seconds=round(time.perf_counter() - started, 3),
            )
            current.clear()

    def stage(name: str, total: int) -> Callable[[int], None]:
        close()
        current.extend([name, time.perf_counter(), 0])
        advance = inner(name, total)

        def counted(n: int) -> None:
            if current and n > 0:
                current[2] += n
            advance(n)

        return counted

    try:
        yield stage
    finally:
        close()
