"""A directory held in memory: sync into it and export it without any database.

:class:`PlanDirectory` has the API of the database-backed ``Directory`` of ``tests/conftest.py``
(``sync`` and ``export``, ``user``) and runs a sync the way :func:`schoolsync.engine.run.sync`
does, minus the store: the sources are read with :func:`~schoolsync.sources.detect.read_sources`,
planned with :func:`~schoolsync.engine.plan.plan_run` against the picture the database would
load, held or applied as :func:`schoolsync.engine.run.decide` says, and applied with
:func:`~schoolsync.engine.plan.overlay.apply_changes`. The export is
:func:`~schoolsync.export.render_export` of that picture.

A run that stops on its input raises :class:`~schoolsync.errors.SchoolsyncError`, as
:func:`~schoolsync.engine.run.sync` does; :meth:`PlanDirectory.stopped` returns the sentence the
CLI would print for it (exit status 1), and anything else raised is an internal error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from schoolsync.domain.directory import Directory
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan import plan_run
from schoolsync.engine.plan.overlay import apply_changes
from schoolsync.engine.run import RunResult, accept, decide, lesson_sources, run_result
from schoolsync.errors import SchoolsyncError
from schoolsync.export import render_export
from schoolsync.sources.detect import read_sources
from tests.conftest import TODAY


@dataclass
class PlanDirectory:
    """A test's view of a directory that lives in memory: sync into it and look at it.

    Attributes:
        state: The directory as the database would hold it (every lesson source's lessons).
    """

    state: Directory = field(default_factory=Directory)

    def sync(
        self,
        source: Path,
        *more: Path,
        today: date = TODAY,
        settings: Settings | None = None,
        dry_run: bool = False,
        allow_mass_changes: bool = False,
    ) -> RunResult:
        """One sync of ``source`` (and ``more`` sources: schedules); ``run_id`` is always None."""
        settings = settings or Settings()
        read = read_sources([source, *more], lambda _n: None, None, settings.sources.max_file_bytes)
        wanted = lesson_sources(read)
        # What load_directory reads for this run: the lessons of the run's own sources only.
        loaded = replace(
            self.state,
            lessons={k: v for k, v in self.state.lessons.items() if k[0] in wanted},
        )
        plan = plan_run(read, loaded, settings, today)
        status = decide(plan, dry_run=dry_run, allow_mass_changes=allow_mass_changes)
        if status == "applied":
            accept(plan)
            self.state = apply_changes(self.state, plan.changes, plan.sources)
        return run_result(plan, status)

    def stopped(
        self,
        source: Path,
        *more: Path,
        today: date = TODAY,
        settings: Settings | None = None,
        allow_mass_changes: bool = False,
    ) -> str:
        """A sync that must stop on its input: what the CLI prints on stderr (exit status 1).

        Fails the test when the run does not stop, or stops with anything but a
        :class:`~schoolsync.errors.SchoolsyncError` (the CLI's "Internal error"). The directory
        is left as it was.
        """
        before = self.state
        with pytest.raises(SchoolsyncError) as caught:
            self.sync(
                source, *more, today=today, settings=settings, allow_mass_changes=allow_mass_changes
            )
        assert self.state is before, "a run that stopped changed the directory"
        return f"Error: {caught.value.message}\n{caught.value.hint}".rstrip()

    def export(self, today: date = TODAY) -> dict[str, Any]:
        """The export document (INTERFACE.md), judged on ``today``."""
        return render_export(self.state, today)

    def counts(self) -> dict[str, int]:
        """Rows per kind of row the directory holds (as the tables would hold them)."""
        return {
            name: len(getattr(self.state, name))
            for name in (
                "schools", "units", "users", "links", "guardianships", "groups", "memberships",
                "lessons",
            )
        }  # fmt: skip

    def user(self, civic: str, today: date = TODAY) -> dict[str, Any]:
        """One user of the export, by personnummer."""
        return next(u for u in self.export(today)["users"] if u["civic_no"] == civic)
