"""The OneRoster 1.2 rostering service, ``/ims/oneroster/rostering/v1p2``, read-only, with its
OAuth2 token endpoint ``POST /oauth/token`` (client credentials; clients from ``schoolsync admin
client add``).

- A token is signed by the service (the ``oneroster`` key of the directory) and lasts an hour;
  it is refused as soon as its client is disabled. Without a valid token: 401; with a token whose
  scopes do not cover the endpoint: 403.
- Collections take ``limit`` (default 100, at most 10,000), ``offset``, ``sort``, ``orderBy``,
  ``filter`` and ``fields`` (:mod:`schoolsync.rostering.rest`), and answer with
  ``X-Total-Count`` and a ``Link`` header (first, prev, next, last).
- Errors are the binding's ``imsx_StatusInfo``.
- The records are those of :func:`schoolsync.export.export_roster` (every record, active or to be
  deleted), built when a request first finds the directory changed by a run, and kept until the
  next run changes it; reads never wait for a sync.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import unquote_plus, urlencode

import msgspec
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer

from schoolsync.domain.settings import Settings
from schoolsync.export import export_roster, roster_version
from schoolsync.rostering import rest
from schoolsync.rostering.rest import Catalogue, Kind, QueryError, Refs
from schoolsync.store.access import service_key
from schoolsync.store.clients import CORE, DEMOGRAPHICS, ROSTER, SCOPES, Client, client_of
from schoolsync.store.db import Store

PREFIX = "/ims/oneroster/rostering/v1p2"
TOKEN_SECONDS = 3600
MAX_LIMIT = 10_000


def imsx(
    status: int, code: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    """An error as the OneRoster binding writes it."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_CodeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": code}
            ]
        },
    }
    return JSONResponse(body, status_code=status, headers=headers)


class _Json(JSONResponse):
    """JSON encoded with msgspec: a page of 10,000 enrollments is encoded in a fraction of the
    time the standard library takes."""

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class RosterCache:
    """The catalogue of the directory as the last run left it, built once per directory state.

    The first request waits for the first build. After that, a request that finds the directory
    changed (a run, or a new day) is answered from the catalogue it has while a new one is built
    in a thread of its own, so no client waits for a rebuild.
    """

    def __init__(self, store: Store, settings: Settings, today: Callable[[], date]) -> None:
        self.store, self.settings, self.today = store, settings, today
        self._lock = threading.Lock()  # guards the fields below
        self._first = threading.Lock()  # one first build at a time
        self._key: tuple[Any, ...] | None = None
        self._catalogue: Catalogue | None = None
        self._building: threading.Thread | None = None

    def warm(self) -> None:
        """Build the catalogue ahead of the first request (``serve`` does, in a thread of its
        own); a failure is left for a request to meet and report."""
        with contextlib.suppress(Exception):
            self.get()

    def _current_key(self) -> tuple[Any, ...]:
        with self.store.connect() as conn:
            return (*roster_version(conn), self.today())

    def _build(self, key: tuple[Any, ...]) -> Catalogue:
        with self.store.connect() as conn:
            catalogue = Catalogue.of(export_roster(conn, self.settings, key[-1], everything=True))
        with self._lock:
            self._catalogue, self._key = catalogue, key
        return catalogue

    def _rebuild(self, key: tuple[Any, ...]) -> None:
        try:
            self._build(key)
        except Exception:  # the stale catalogue stays; the next request tries again
            pass
        finally:
            with self._lock:
                self._building = None

    def get(self) -> Catalogue:
        key = self._current_key()
        with self._lock:
            current, fresh = self._catalogue, key == self._key
            if current is not None:
                if not fresh and self._building is None:
                    self._building = threading.Thread(
                        target=self._rebuild, args=(key,), name="oneroster-rebuild", daemon=True
                    )
                    self._building.start()
                return current
        with self._first:
            with self._lock:
                if self._catalogue is not None:
                    return self._catalogue
            return self._build(key)

    def fresh(self) -> Catalogue:
        """The catalogue of the directory as it is now, waiting for a rebuild if need be."""
        self.get()
        with self._lock:
            building = self._building
        if building is not None:
            building.join()
        key = self._current_key()
        with self._lock:
            if key == self._key and self._catalogue is not None:
                return self._catalogue
        return self._build(key)


@dataclass(frozen=True)
class _Tokens:
    serializer: URLSafeTimedSerializer

    def issue(self, client: Client, scopes: Iterable[str]) -> str:
        return str(self.serializer.dumps({"c": client.client_id, "s": sorted(scopes)}))

    def read(self, token: str) -> tuple[str, frozenset[str]] | None:
        try:
            data = self.serializer.loads(token, max_age=TOKEN_SECONDS)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        return data["c"], frozenset(s for s in data.get("s", []) if isinstance(s, str))


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # not base64 (or not ASCII at all), not UTF-8
        return None
    client_id, sep, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both are form-urlencoded before they are joined.
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None


def oauth_error(status: int, error: str, description: str) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="schoolsync OneRoster"'
    return JSONResponse({"error": error, "error_description": description}, status, headers)


def router(store: Store, settings: Settings, cache: RosterCache) -> APIRouter:
    """The token endpoint and the rostering service's routes, serving what ``cache`` holds."""
    api = APIRouter(include_in_schema=False)
    tokens = _Tokens(URLSafeTimedSerializer(service_key(store, "oneroster"), salt="oneroster"))
    demographics_on = settings.rostering.demographics

    @api.post("/oauth/token")
    def token(
        request: Request,
        grant_type: str = Form(""),
        scope: str = Form(""),
        client_id: str = Form(""),
        client_secret: str = Form(""),
    ) -> Response:
        if not grant_type or len(request.headers.getlist("content-type")) > 1:
            return oauth_error(
                400,
                "invalid_request",
                "Send grant_type=client_credentials as a form (application/x-www-form-urlencoded).",
            )
        if grant_type != "client_credentials":
            return oauth_error(
                400, "unsupported_grant_type", "Only grant_type=client_credentials is served."
            )
        given = _basic(request) or ((client_id, client_secret) if client_id else None)
        client = client_of(store, given[0], given[1]) if given else None
        if client is None:
            return oauth_error(
                401, "invalid_client", "Unknown client, wrong secret, or the client is disabled."
            )
        asked = set(scope.split()) or set(client.scopes)
        if not asked <= client.scopes:
            return oauth_error(
                400,
                "invalid_scope",
                f"This client may be given: {' '.join(sorted(client.scopes))}.",
            )
        body = {
            "access_token": tokens.issue(client, asked),
            "token_type": "bearer",
            "expires_in": TOKEN_SECONDS,
            "scope": " ".join(sorted(asked)),
        }
        return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def authorised(request: Request, needs: str) -> None:
        header = request.headers.get("authorization", "")
        challenge = 'Bearer realm="schoolsync OneRoster"'
        if not header.lower().startswith("bearer "):
            raise _Refused(
                imsx(
                    401,
                    "unauthorisedrequest",
                    "No access token: ask POST /oauth/token for one.",
                    {"WWW-Authenticate": challenge},
                )
            )
        read = tokens.read(header[7:].strip())
        client = client_of(store, read[0]) if read else None
        if read is None or client is None:
            raise _Refused(
                imsx(
                    401,
                    "unauthorisedrequest",
                    "The access token is not valid (expired, or its client was "
                    "disabled): ask POST /oauth/token for a new one.",
                    {"WWW-Authenticate": challenge + ', error="invalid_token"'},
                )
            )
        granted = read[1] & client.scopes
        if ROSTER not in granted and needs not in granted:
            raise _Refused(
                imsx(
                    403,
                    "forbidden",
                    f"The access token's scopes do not cover this: it needs {needs} or {ROSTER}.",
                    {"WWW-Authenticate": challenge + ', error="insufficient_scope"'},
                )
            )

    def serve(
        request: Request,
        kind: Kind,
        records: Callable[[Catalogue], Iterable[Any]] | None = None,
        one: Callable[[Catalogue], Any | None] | None = None,
        needs: str = CORE,
    ) -> Response:
        try:
            authorised(request, needs)
            if kind is rest.DEMOGRAPHICS and not demographics_on:
                return imsx(
                    403,
                    "forbidden",
                    "This directory gives out no demographics "
                    "([rostering] demographics = false in its settings).",
                )
            catalogue = cache.get()
            ref = Refs(str(request.base_url).rstrip("/") + PREFIX)
            known = rest.FIELDS[kind.single]
            params = request.query_params
            if one is not None:
                found = one(catalogue)
                if found is None:
                    return imsx(404, "unknownobject", "There is no such object here.")
                query = rest.parse_query(known, None, None, None, params.get("fields"))
                return _Json({kind.single: rest.render(kind, found, catalogue, ref, query.fields)})
            assert records is not None
            limit, offset = _paging(params.get("limit"), params.get("offset"))
            query = rest.parse_query(
                known,
                params.get("filter"),
                params.get("sort"),
                params.get("orderBy"),
                params.get("fields"),
            )
            chosen = list(records(catalogue))
            if query.any_of or query.sort:
                docs = [rest.render(kind, r, catalogue, ref) for r in chosen]
                docs = query.order([d for d in docs if query.keep(d)])
                total = len(docs)
                page = docs[offset : offset + limit]
                if query.fields:
                    page = [{f: d[f] for f in query.fields} for d in page]
            else:
                total = len(chosen)
                page = [
                    rest.render(kind, r, catalogue, ref, query.fields)
                    for r in chosen[offset : offset + limit]
                ]
            headers = {"X-Total-Count": str(total), "Link": _links(request, limit, offset, total)}
            return _Json({kind.plural: page}, headers=headers)
        except _Refused as refused:
            return refused.response
        except QueryError as exc:
            return imsx(400, exc.code, exc.message)

    def collection(path: str, kind: Kind, records: Lookup, needs: str = CORE) -> None:
        def endpoint(request: Request) -> Response:
            args = request.path_params
            return serve(request, kind, lambda c: records(c, **args), needs=needs)

        api.add_api_route(PREFIX + path, endpoint, methods=["GET"], name=f"or:{path}")

    def single(path: str, kind: Kind, find: Find, needs: str = CORE) -> None:
        def endpoint(request: Request) -> Response:
            args = request.path_params
            return serve(request, kind, one=lambda c: find(c, **args), needs=needs)

        api.add_api_route(PREFIX + path, endpoint, methods=["GET"], name=f"or:{path}")

    for path, kind, records, find, needs in _ROUTES:
        collection(path, kind, records, needs)
        if find is not None:
            single(path + "/{sid}", kind, find, needs)
    for path, kind, parent, children in _NESTED:
        collection(path, kind, _under(parent, children))
    return api


Lookup = Callable[..., Iterable[Any]]
Find = Callable[..., Any | None]


def _under(parent: Find, children: Lookup) -> Lookup:
    """The children of a parent named in the path; an unknown parent is 404."""

    def get(c: Catalogue, **args: str) -> Iterable[Any]:
        if parent(c, **args) is None:
            raise _Refused(imsx(404, "unknownobject", "There is no such object here."))
        return children(c, **args)

    return get


def _school(c: Catalogue, sid: str) -> Any | None:
    org = c.orgs.get(sid)
    return org if org is not None and org.type == "school" else None


def _session(kind: str | None) -> Find:
    def find(c: Catalogue, sid: str) -> Any | None:
        s = c.sessions.get(sid)
        return s if s is not None and (kind is None or s.type == kind) else None

    return find


def _sessions(kind: str) -> Lookup:
    return lambda c: [s for s in c.roster.sessions if s.type == kind]


def _with_role(role: str) -> Find:
    def find(c: Catalogue, sid: str) -> Any | None:
        user = c.users.get(sid)
        return user if user is not None and c.has_role(sid, role) else None

    return find


def _users_with(role: str) -> Lookup:
    return lambda c: [u for u in c.roster.users if c.has_role(u.sourced_id, role)]


def _enrolled(key: str, role: str) -> Lookup:
    """The users enrolled in a class (``sid`` or ``cid``) or at a school, in one role."""

    def get(c: Catalogue, **args: str) -> list[Any]:
        of = args[key]
        found = [
            c.enrollments[e].user
            for e in c.enrollments_of.get(of, [])
            if c.enrollments[e].role == role
        ]
        return [c.users[u] for u in dict.fromkeys(found) if u in c.users]

    return get


def _with_role_at(role: str) -> Lookup:
    """The users with a role at a school (their school link), whether or not in a class."""

    def get(c: Catalogue, sid: str) -> list[Any]:
        return [
            u
            for u in c.roster.users
            if any(r.role == role and r.org == sid for r in c.roles_of.get(u.sourced_id, []))
        ]

    return get


def _classes_of_user(c: Catalogue, sid: str) -> list[Any]:
    ids = (c.enrollments[e].klass for e in c.enrollments_of.get(sid, []))
    return [c.classes[i] for i in dict.fromkeys(ids) if i in c.classes]


def _class_at_school(c: Catalogue, sid: str, cid: str) -> Any | None:
    klass = c.classes.get(cid)
    return klass if klass is not None and klass.school == sid else None


def _classes_by(attribute: str) -> Lookup:
    """The classes of a school, a course or a term (``sid``)."""

    def get(c: Catalogue, sid: str) -> list[Any]:
        found = (c.classes[i] for i in c.classes_of.get(sid, []))
        return [k for k in found if sid in _as_tuple(getattr(k, attribute))]

    return get


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def _enrollments_of(key: str) -> Lookup:
    return lambda c, **args: [c.enrollments[e] for e in c.enrollments_of.get(args[key], [])]


def _demographic(c: Catalogue, sid: str) -> Any | None:
    user = c.users.get(sid)
    return user if user is not None and (user.birth_date or user.sex) else None


def _periods_of(c: Catalogue, sid: str) -> list[Any]:
    return [s for s in c.roster.sessions if s.type == "gradingPeriod" and s.parent == sid]


def _get(table: str) -> Find:
    return lambda c, sid: getattr(c, table).get(sid)


def _all(table: str) -> Lookup:
    return lambda c: getattr(c.roster, table)


# (path, kind, the collection, the one record at path/{sid} or None, the scope it needs)
_ROUTES: list[tuple[str, Kind, Lookup, Find | None, str]] = [
    ("/orgs", rest.ORG, _all("orgs"), _get("orgs"), CORE),
    ("/schools", rest.ORG, lambda c: [o for o in c.roster.orgs if o.type == "school"], _school,
     CORE),
    ("/academicSessions", rest.SESSION, _all("sessions"), _session(None), CORE),
    ("/terms", rest.SESSION, _sessions("term"), _session("term"), CORE),
    ("/gradingPeriods", rest.SESSION, _sessions("gradingPeriod"), _session("gradingPeriod"), CORE),
    ("/courses", rest.COURSE, _all("courses"), _get("courses"), CORE),
    ("/classes", rest.CLASS, _all("classes"), _get("classes"), CORE),
    ("/users", rest.USER, _all("users"), _get("users"), CORE),
    ("/students", rest.USER, _users_with("student"), _with_role("student"), CORE),
    ("/teachers", rest.USER, _users_with("teacher"), _with_role("teacher"), CORE),
    ("/enrollments", rest.ENROLLMENT, _all("enrollments"), _get("enrollments"), CORE),
    ("/demographics", rest.DEMOGRAPHICS,
     lambda c: [u for u in c.roster.users if u.birth_date or u.sex], _demographic, DEMOGRAPHICS),
]  # fmt: skip

# (path, kind, the parent that must exist, its children)
_NESTED: list[tuple[str, Kind, Find, Lookup]] = [
    ("/schools/{sid}/classes", rest.CLASS, _school, _classes_by("school")),
    ("/schools/{sid}/courses", rest.COURSE, _school,
     lambda c, sid: [x for x in c.roster.courses if x.org == sid]),
    ("/schools/{sid}/terms", rest.SESSION, _school, lambda c, sid: _sessions("term")(c)),
    ("/schools/{sid}/enrollments", rest.ENROLLMENT, _school, _enrollments_of("sid")),
    ("/schools/{sid}/students", rest.USER, _school, _with_role_at("student")),
    ("/schools/{sid}/teachers", rest.USER, _school, _with_role_at("teacher")),
    ("/schools/{sid}/classes/{cid}/enrollments", rest.ENROLLMENT, _class_at_school,
     _enrollments_of("cid")),
    ("/schools/{sid}/classes/{cid}/students", rest.USER, _class_at_school,
     _enrolled("cid", "student")),
    ("/schools/{sid}/classes/{cid}/teachers", rest.USER, _class_at_school,
     _enrolled("cid", "teacher")),
    ("/classes/{sid}/students", rest.USER, _get("classes"), _enrolled("sid", "student")),
    ("/classes/{sid}/teachers", rest.USER, _get("classes"), _enrolled("sid", "teacher")),
    ("/courses/{sid}/classes", rest.CLASS, _get("courses"), _classes_by("course")),
    ("/terms/{sid}/classes", rest.CLASS, _session("term"), _classes_by("terms")),
    ("/terms/{sid}/gradingPeriods", rest.SESSION, _session("term"),
     _periods_of),
    ("/users/{sid}/classes", rest.CLASS, _get("users"), _classes_of_user),
    ("/students/{sid}/classes", rest.CLASS, _with_role("student"), _classes_of_user),
    ("/teachers/{sid}/classes", rest.CLASS, _with_role("teacher"), _classes_of_user),
]  # fmt: skip


def _paging(limit: str | None, offset: str | None) -> tuple[int, int]:
    try:
        n = 100 if limit is None else int(limit)
        start = 0 if offset is None else int(offset)
    except ValueError:
        raise QueryError("invaliddata", "limit and offset are whole numbers.") from None
    if n < 1 or start < 0:
        raise QueryError("invaliddata", "limit is 1 or more and offset 0 or more.")
    return min(n, MAX_LIMIT), start


def _links(request: Request, limit: int, offset: int, total: int) -> str:
    """RFC 8288 links to the first, previous, next and last pages."""
    base = str(request.url.remove_query_params(["limit", "offset"]))
    rest_of = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "offset")
    ]

    def at(start: int) -> str:
        query = urlencode([*rest_of, ("limit", str(limit)), ("offset", str(start))])
        return f"{base.split('?')[0]}?{query}"

    last = max(0, (total - 1) // limit * limit)
    links = [f'<{at(0)}>; rel="first"']
    if offset > 0:
        links.append(f'<{at(max(0, offset - limit))}>; rel="prev"')
    if offset + limit < total:
        links.append(f'<{at(offset + limit)}>; rel="next"')
    links.append(f'<{at(last)}>; rel="last"')
    return ", ".join(links)


__all__ = ["PREFIX", "SCOPES", "router"]
