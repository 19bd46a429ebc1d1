"""What every command shares: the global options' environment (:class:`Env`), the options and
arguments several commands take, and the exit status of a run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import RunResult
from schoolsync.settings import load_settings
from schoolsync.store.db import Store

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2200, 12, 31)
"""The dates the directory holds; --today, --from and --to outside them are usage errors."""

MAX_RUN_ID = 2**63 - 1


@dataclass
class Env:
    """What the global options give every command; the store and settings open lazily.

    Attributes:
        committed: ``(run id, status)`` of the run this command committed, once it has: from
            then on the command's outcome is that run's, whatever happens while reporting it.
    """

    db_url: str | None = None
    config: Path | None = None
    today_option: date | None = None
    committed: tuple[int, str] | None = None
    _store: Store | None = field(default=None, repr=False)
    _settings: Settings | None = field(default=None, repr=False)
    _checked: bool = field(default=False, repr=False)

    @property
    def today(self) -> date:
        """``--today``, else the real date."""
        return self.today_option or date.today()

    def store(self, *, create: bool = False) -> Store:
        """The directory database.

        Args:
            create: False (every command but sync, demo and init): the directory must exist;
                one made by an older schoolsync is upgraded first (under the run lock), a
                missing one is an error and nothing is created. True: the directory may not
                exist yet; the caller creates or upgrades it under its run lock.

        Raises:
            NoDirectoryError: When ``create`` is false and there is no directory.
            NewerDirectoryError: When a newer schoolsync wrote the directory.
        """
        if self._store is None:
            self._store = Store(self.db_url, migrate=False)
        if not self._checked:
            self._store.revision()  # a directory from a newer schoolsync stops every command
            if not create:
                self._store.migrate(create=False)
            self._checked = True
        return self._store

    def mark_committed(self, run_id: int, status: str) -> None:
        """Remember that run ``run_id`` committed (``applied`` or ``held``)."""
        self.committed = (run_id, status)

    def settings(self) -> Settings:
        """The settings file's values (defaults when there is none)."""
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


pass_env = click.make_pass_decorator(Env)


def date_option(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """A click callback: a YYYY-MM-DD option as a date within the dates the directory holds."""
    if value is None:
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from exc
    if not FIRST_DAY <= parsed <= LAST_DAY:
        raise click.BadParameter(
            f"{value} is outside the dates the directory holds "
            f"({FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"
        )
    return parsed


def _seconds(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"{value} is not a number of seconds (0 or more)")
    return value


def wait_option(func: Any) -> Any:
    """``--wait SECONDS``: wait this long for another run that holds the directory."""
    return click.option(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        callback=_seconds,
        help="Wait this long for another run that is changing the directory.",
    )(func)


run_id_argument = click.argument("run_id", type=click.IntRange(1, MAX_RUN_ID))


def today_option(func: Any) -> Any:
    """``--today`` on a command (it may also be given before the command)."""

    def store_today(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        parsed = date_option(ctx, param, value)
        if parsed is not None:
            ctx.ensure_object(Env).today_option = parsed

    return click.option(
        "--today",
        metavar="YYYY-MM-DD",
        expose_value=False,
        callback=store_today,
        help="The date the rules treat as today (default: the real date).",
    )(func)


EXIT_STATUS = {"applied": 0, "planned": 0, "held": 3}
"""A run's exit status by its outcome; anything else (failed) is 1."""


FOUND_ISSUES = 4
"""``sync --fail-on``: the run applied (or planned), but found issues of that severity."""

_AT_LEAST = {"error": ("error",), "warning": ("error", "warning")}


def exit_status(result: RunResult, fail_on: str = "never") -> int:
    """0 applied or planned, 1 failed, 3 held; 4 when ``fail_on`` (``error``, ``warning``)
    names a severity the run's issues reach, so that an unattended run can alert."""
    status = EXIT_STATUS.get(result.status, 1)
    if status == 0 and any(i.severity in _AT_LEAST.get(fail_on, ()) for i in result.issues):
        return FOUND_ISSUES
    return status
