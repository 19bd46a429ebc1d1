"""The REST API, ``/api/v1``: the directory's schools, users, classes, groups and runs, read a
page at a time, for platforms and scripts; signed in with a bearer token (``schoolsync admin
token add``).

- Every list takes ``limit`` (1–500, default 100) and ``cursor`` (the ``next_cursor`` of the page
  before) and answers ``{"data": [...], "next_cursor": "…" | null}``; items are in the shapes of
  ``export --json``, each with its stable ``id``.
- Without a valid token: 401. A ``school-admin`` token sees only its schools and what belongs to
  them: another school's class, group or user is 404, as if it were not there.
- OpenAPI 3.1 at ``/api/v1/openapi.json``.
- Reads never wait for a sync: they read what the last committed run left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as FastPath
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from schoolsync.domain.settings import Settings
from schoolsync.engine.run import approve
from schoolsync.errors import (
    ConfigError,
    ConflictError,
    DirectoryBusyError,
    InputError,
    NotFoundError,
)
from schoolsync.store import queries
from schoolsync.store.access import Access, access_of
from schoolsync.store.db import Store


class Page(BaseModel):
    """One page of a list."""

    data: list[dict[str, Any]]
    next_cursor: str | None


Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[
    str | None,
    Query(description="The next_cursor of the page before.", pattern=r"^[A-Za-z0-9_.:-]{1,200}$"),
]
_MAX_RUN = 2**31 - 1  # run ids are a database's INTEGER
RunCursor = Annotated[
    int | None, Query(description="The next_cursor of the page before.", ge=1, le=_MAX_RUN)
]
_ID = r"^[A-Za-z0-9_.:-]{1,200}$"  # the directory's ids (uuids), and the cursors made of them
Id = Annotated[str, FastPath(description="The object's id.", pattern=_ID)]
RunId = Annotated[int, FastPath(description="The run's number.", ge=1, le=_MAX_RUN)]
School = Annotated[
    str | None, Query(description="Only what belongs to this school (its id).", pattern=_ID)
]
UserStatus = Annotated[
    Literal["active", "ended"] | None, Query(description="active: with a current school link.")
]
GroupStatus = Annotated[Literal["active", "archived"] | None, Query(description="On today.")]
Since = Annotated[
    datetime | None,
    Query(
        alias="updated_since",
        description="Only what a run that began at or after this time created or changed "
        "(ISO 8601; without an offset, UTC).",
    ),
]
GroupId = Annotated[
    str | None, Query(description="Only of this class or group (its id).", pattern=_ID)
]


@dataclass
class Listing:
    """The parameters every list of the directory takes: its page, school and time filters."""

    limit: Limit = 100
    cursor: Cursor = None
    school: School = None
    since: Since = None


Listed = Annotated[Listing, Depends()]


def _decode(cursor: str | None) -> str | None:
    """A cursor's position: the id after which the page begins (the last id of the page
    before; any text of the cursor's alphabet is a position)."""
    return cursor


def _utc(when: datetime | None) -> datetime | None:
    """A time to compare with the runs' (kept in UTC): one without an offset is taken as UTC."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _page(items: list[dict[str, Any]], limit: int) -> Page:
    """A page of ``limit`` items read as ``limit + 1``: the extra one says more follow; the
    next cursor is the page's last id."""
    more = len(items) > limit
    items = items[:limit]
    return Page(data=items, next_cursor=str(items[-1]["id"]) if more else None)


class Problem(BaseModel):
    """Why a request was refused."""

    detail: str


_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid bearer token."},
    403: {"model": Problem, "description": "The token's role may not do this."},
    404: {"model": Problem, "description": "No such object (or another school's)."},
    503: {"model": Problem, "description": "The directory could not be read just now."},
}


_bearer = HTTPBearer(auto_error=False)


def _access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Access:
    """What the request's bearer token may do; 401 without a valid one."""
    found = access_of(request.app.state.store, credentials.credentials) if credentials else None
    if found is None:
        raise HTTPException(
            401, "A valid bearer token is needed.", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


Who = Annotated[Access, Depends(_access)]


def router(store: Store, settings: Settings, today: Callable[[], date]) -> APIRouter:
    """The REST API's routes, at ``/api/v1``.

    Args:
        store: The directory.
        settings: The settings (R5.4's lead days).
        today: The day ``active``, ``status`` and ``visible`` are judged on, each request.
    """
    api = APIRouter(prefix="/api/v1", responses=_PROBLEMS)

    def org_wide(who: Access) -> None:
        """Runs and their issues concern every school: not for a school-admin's token."""
        if who.schools is not None:
            raise HTTPException(403, "Runs concern every school: an org-wide token is needed.")

    @api.get("/schools", response_model=Page, summary="Schools")
    def schools(who: Who, limit: Limit = 100, cursor: Cursor = None) -> Page:
        with store.connect() as conn:
            rows = queries.schools_page(conn, who.schools, limit + 1, _decode(cursor))
        return _page(rows, limit)

    @api.get("/users", response_model=Page, summary="Users, with their schools and guardians")
    def users(who: Who, at: Listed, status: UserStatus = None) -> Page:
        with store.connect() as conn:
            rows = queries.users_page(
                conn, who.schools, today(), at.limit + 1, _decode(at.cursor), school=at.school,
                status=status, since=_utc(at.since),
            )  # fmt: skip
        return _page(rows, at.limit)

    @api.get("/users/{user_id}", summary="One user")
    def user(who: Who, user_id: Id) -> dict[str, Any]:
        with store.connect() as conn:
            rows = queries.users_page(conn, who.schools, today(), 1, only=user_id)
        if not rows:
            raise HTTPException(404, "There is no such user.")
        return rows[0]

    def groups_of(kind: str, who: Access, at: Listing, status: str | None) -> Page:
        lead = settings.sync.visibility_lead_days
        with store.connect() as conn:
            rows = queries.groups_page(
                conn, who.schools, kind, today(), lead, at.limit + 1, _decode(at.cursor),
                school=at.school, status=status, since=_utc(at.since),
            )  # fmt: skip
        return _page(rows, at.limit)

    def group_of(kind: str, who: Access, group_id: str) -> dict[str, Any]:
        lead = settings.sync.visibility_lead_days
        with store.connect() as conn:
            rows = queries.groups_page(conn, who.schools, kind, today(), lead, 1, only=group_id)
        if not rows:
            raise HTTPException(404, f"There is no such {kind}.")
        return rows[0]

    @api.get("/classes", response_model=Page, summary="Classes, with students and teachers")
    def classes(who: Who, at: Listed, status: GroupStatus = None) -> Page:
        return groups_of("class", who, at, status)

    @api.get("/classes/{class_id}", summary="One class")
    def one_class(who: Who, class_id: Id) -> dict[str, Any]:
        return group_of("class", who, class_id)

    @api.get("/groups", response_model=Page, summary="Teaching groups")
    def groups(who: Who, at: Listed, status: GroupStatus = None) -> Page:
        return groups_of("group", who, at, status)

    @api.get("/groups/{group_id}", summary="One teaching group")
    def one_group(who: Who, group_id: Id) -> dict[str, Any]:
        return group_of("group", who, group_id)

    @api.get("/memberships", response_model=Page, summary="Who is in which class or group")
    def memberships(who: Who, at: Listed, group: GroupId = None) -> Page:
        with store.connect() as conn:
            rows = queries.memberships_page(
                conn, who.schools, today(), at.limit + 1, _decode(at.cursor), at.school, group,
                _utc(at.since),
            )  # fmt: skip
        return _page(rows, at.limit)

    @api.get("/lessons", response_model=Page, summary="Lessons tied to a group")
    def lessons(who: Who, at: Listed, group: GroupId = None) -> Page:
        with store.connect() as conn:
            rows = queries.lessons_page(
                conn, who.schools, at.limit + 1, _decode(at.cursor), at.school, group,
                _utc(at.since),
            )  # fmt: skip
        return _page(rows, at.limit)

    @api.post(
        "/runs/{run_id}/approve",
        summary="Apply a held run (org-admin)",
        responses={
            409: {
                "model": Problem,
                "description": "Not held, approved already, changed, or its export cannot be "
                "read with the service's settings.",
            },
            503: {
                "model": Problem,
                "description": "The export cannot be read, or a run holds the directory.",
            },
        },
    )
    def approve_run(who: Who, run_id: RunId) -> dict[str, Any]:
        if not who.may_approve:
            raise HTTPException(403, "Only an org-admin token may approve a held run.")
        try:
            result = approve(store, run_id, settings, today(), actor=who.actor)
        except NotFoundError as exc:
            raise HTTPException(404, exc.message) from exc
        except (ConflictError, ConfigError, InputError) as exc:  # asking again will not help
            raise HTTPException(409, exc.message) from exc
        except DirectoryBusyError as exc:
            raise HTTPException(
                503, "Another run holds the directory; ask again when it is done.",
                headers={"Retry-After": "60"},
            ) from exc  # fmt: skip
        return result.as_report()

    @api.get("/runs/{run_id}", summary="One run: its verdict, changes and sources")
    def one_run(who: Who, run_id: RunId) -> dict[str, Any]:
        org_wide(who)
        with store.connect() as conn:
            rows = queries.runs_page(conn, 1, only=run_id)
        if not rows:
            raise HTTPException(404, "There is no such run.")
        return rows[0]

    @api.get("/issues", response_model=Page, summary="A run's issues (default: the last sync's)")
    def issues(
        who: Who,
        limit: Limit = 100,
        cursor: RunCursor = None,
        run: Annotated[int | None, Query(ge=1, le=_MAX_RUN, description="The run.")] = None,
    ) -> Page:
        org_wide(who)
        with store.connect() as conn:
            run_id = run if run is not None else queries.last_sync_run(conn)
            rows = queries.issues_page(conn, run_id, limit + 1, cursor) if run_id else []
        return _page(rows, limit)

    @api.get("/runs", response_model=Page, summary="Runs, newest first")
    def runs(who: Who, limit: Limit = 100, cursor: RunCursor = None) -> Page:
        org_wide(who)
        with store.connect() as conn:
            rows = queries.runs_page(conn, limit + 1, cursor)
        return _page(rows, limit)

    return api
