"""The plan (pure): compare a snapshot with the directory and return the changes and issues.

This package imports only :mod:`schoolsync.domain` (and the error types); the import-linter
contract in ``pyproject.toml`` keeps it so.
"""

from schoolsync.engine.plan.plan import Plan, plan_run

__all__ = ["Plan", "plan_run"]
