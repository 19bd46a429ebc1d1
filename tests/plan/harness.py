"""A directory held in memory: sync into it and export it without any database.

:class:`PlanDirectory` has the API of the database-backed ``Directory`` of ``tests/conftest.py``
(``sync`` and ``export``, ``user``) and runs a sync the way :func:`schoolsync.engine.run.sync`
does, minus the store: the sources are read with :func:`~schoolsync.sources.detect.read_sources`,
planned with :func:`~schoolsync.engine.plan.plan_run` against the picture the database would
load, held or applied as :func:`schoolsync.engine.run.decide` says, and applied with
:func:`~schoolsync.engine.plan.overlay.apply_changes`. The export is
:func:`~schoolsync.export.render_export` of that picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from schoolsync.domain.directory import Directory
from schoolsync.domain.settings import Settings
from schoolsync.engine.plan import plan_run
from schoolsync.engine.plan.overlay import apply_changes
from schoolsync.engine.run import RunResult, accept, decide, lesson_sources, run_result
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

    def export(self, today: date = TODAY) -> dict[str, Any]:
        """The export document (INTERFACE.md), judged on ``today``."""
        return render_export(self.state, today)

    def user(self, civic: str, today: date = TODAY) -> dict[str, Any]:
        """One user of the export, by personnummer."""
        return next(u for u in self.export(today)["users"] if u["civic_no"] == civic)
