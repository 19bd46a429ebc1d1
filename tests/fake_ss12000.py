"""A fake SS 12000:2020 API provider (a register's live API) for tests.

:class:`FakeProvider` serves the records of a bundle folder (see ``tests/data/example-bundle``)
through :class:`httpx.MockTransport` (:meth:`FakeProvider.transport`) or a real HTTP server on
127.0.0.1 (:meth:`FakeProvider.serve`), with an OAuth2 client-credentials token endpoint, paging
with opaque page tokens, ``meta.modified`` filters, ``/deletedEntities`` and knobs for the edges
real providers show (faults, expired tokens and page tokens, withheld fields, upper-case ids...).
It is deterministic: its clock only moves through :meth:`tick`, :meth:`put` and :meth:`delete`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import email.utils
import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import httpx

BASE_URL = "https://sis.test/ss12000/v2.0"
TOKEN_URL = "https://idp.test/connect/token"
CLIENT_ID = "schoolsync"
CLIENT_SECRET = "fake-secret-Q9xv7LmP2w"  # tests check this never appears in any output

ENDPOINTS = (
    "organisations",
    "persons",
    "placements",
    "duties",
    "groups",
    "syllabuses",
    "activities",
    "rooms",
    "calendarEvents",
)

START_CLOCK = datetime(2025, 10, 15, 8, 0, tzinfo=timezone(timedelta(hours=2)))

DELETED = "deletedEntities"
TOKEN = "token"

#: EndPointsEnum name -> the endpoint whose deletions it selects (None: a kind this fake never
#: deletes, answered with an empty list under its DeletedEntities key).
ENTITY_KINDS: dict[str, str | None] = {
    "Organisation": "organisations",
    "Person": "persons",
    "Placement": "placements",
    "Duty": "duties",
    "Group": "groups",
    "Syllabus": "syllabuses",
    "Activity": "activities",
    "Room": "rooms",
    "CalendarEvent": "calendarEvents",
    "Absence": None,
    "AttendanceEvent": None,
    "Attendance": None,
    "Grade": None,
    "AttendanceSchedule": None,
    "Resource": None,
    "StudyPlan": None,
    "Programme": None,
    "SchoolUnitOffering": None,
}
_OTHER_DELETED_KEYS = {
    "Absence": "absences",
    "AttendanceEvent": "attendanceEvents",
    "Attendance": "attendances",
    "Grade": "grades",
    "AttendanceSchedule": "attendanceSchedules",
    "Resource": "resources",
    "StudyPlan": "studyPlans",
    "Programme": "programmes",
    "SchoolUnitOffering": "schoolUnitOfferings",
}

_ERROR_CODES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    410: "Gone",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "NotImplemented",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}

Record = dict[str, Any]
Fault = int | Literal["timeout", "drop"]


def _natural_key(path: Path) -> list[Any]:
    """Sort key for ``page2.json`` before ``page10.json``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _records_of(path: Path) -> list[Record]:
    """The records of one bundle file: ``{"data": [...], ...}`` or a bare JSON array."""
    document = json.loads(path.read_text(encoding="utf-8"))
    data = document.get("data") if isinstance(document, dict) else document
    if not isinstance(data, list):
        raise ValueError(f"{path}: neither a page nor a JSON array")
    return [record for record in data if isinstance(record, dict)]


def load_bundle(bundle: Path) -> dict[str, list[Record]]:
    """Every endpoint's records in a bundle: ``{endpoint}.json``, then ``{endpoint}/*.json``."""
    records: dict[str, list[Record]] = {}
    for endpoint in ENDPOINTS:
        found: list[Record] = []
        file = bundle / f"{endpoint}.json"
        if file.is_file():
            found.extend(_records_of(file))
        folder = bundle / endpoint
        if folder.is_dir():
            for page in sorted(folder.glob("*.json"), key=_natural_key):
                found.extend(_records_of(page))
        records[endpoint] = found
    return records


def _parse_time(value: str) -> datetime | None:
    """An RFC 3339 date-time with an offset, or None."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _upper_ids(value: Any) -> Any:
    """A copy of ``value`` with every string under a key ``id`` upper-cased."""
    if isinstance(value, dict):
        return {
            key: item.upper() if key == "id" and isinstance(item, str) else _upper_ids(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_upper_ids(item) for item in value]
    return value


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return httpx.Response(status, headers=all_headers, content=content)


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    """An SS 12000 ``Error {code, message}`` answer."""
    return _json(status, {"code": _ERROR_CODES.get(status, "Error"), "message": message}, headers)


class _BadRequest(Exception):
    """A request the provider answers with 400 (or another status)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FakeProvider:
    """An in-process SS 12000:2020 provider serving a bundle's records, with fault knobs."""

    def __init__(
        self,
        bundle: Path | str | None = None,
        *,
        records: Mapping[str, list[Record]] | None = None,
        token_auth: Literal["basic", "form", "both"] = "both",
        expires_in: int = 3600,
        token_failures: int = 0,
        token_requests_per_token: int | None = None,
        forbidden: Collection[str] = (),
        missing: Collection[str] = (),
        default_limit: int = 50,
        max_limit: int = 100,
        gone_tokens: Collection[tuple[str, int]] = (),
        faults: Mapping[tuple[str, int], Fault] | None = None,
        retry_after: str = "1",
        always_fail: Mapping[str, int] | None = None,
        upper_case_ids: bool = False,
        withhold: Mapping[str, Collection[str]] | None = None,
        deleted_spelling: Literal["activitites", "activities"] = "activitites",
        deleted_status: int | None = None,
        lookup_status: int | None = None,
    ) -> None:
        self.records: dict[str, list[Record]] = {endpoint: [] for endpoint in ENDPOINTS}
        if bundle is not None:
            self.records.update(load_bundle(Path(bundle)))
        for endpoint, given in (records or {}).items():
            self._check_endpoint(endpoint)
            self.records[endpoint] = copy.deepcopy(list(given))
        # Knobs: plain attributes, so a test may turn them mid-read.
        self.token_auth = token_auth
        self.expires_in = expires_in
        self.token_failures = token_failures
        self.token_requests_per_token = token_requests_per_token
        self.forbidden: set[str] = set(forbidden)
        self.missing: set[str] = set(missing)
        self.default_limit = default_limit
        self.max_limit = max_limit
        self.gone_tokens: set[tuple[str, int]] = set(gone_tokens)
        self.faults: dict[tuple[str, int], Fault] = dict(faults or {})
        self.retry_after = retry_after
        self.always_fail: dict[str, int] = dict(always_fail or {})
        self.upper_case_ids = upper_case_ids
        self.withhold: dict[str, set[str]] = {k: set(v) for k, v in (withhold or {}).items()}
        self.deleted_spelling = deleted_spelling
        self.deleted_status = deleted_status
        self.lookup_status = lookup_status  # POST /{x}/lookup answers this instead (404, 501)
        self.lookups: list[tuple[str, list[str]]] = []  # (endpoint, ids) of every lookup
        # State.
        self.clock: datetime = START_CLOCK
        self.requests: list[httpx.Request] = []
        self.tokens_issued = 0
        self.scopes_seen: list[str] = []
        self.deletions: list[tuple[str, str, datetime]] = []
        self._token_uses: dict[str, int] = {}
        self._counts: dict[str, int] = {}
        self._page_serials: dict[str, int] = {}
        self._gone_presented: set[tuple[str, int]] = set()
        self._served: list[tuple[str, str]] = []
        self._lock = threading.RLock()

    # -- mutation helpers ------------------------------------------------------------------------

    @staticmethod
    def _check_endpoint(endpoint: str) -> None:
        if endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}")

    def tick(self, seconds: int = 60) -> datetime:
        """Advance the clock by ``seconds``; return the new clock."""
        with self._lock:
            self.clock += timedelta(seconds=seconds)
            return self.clock

    def _index(self, endpoint: str, record_id: str) -> int | None:
        wanted = record_id.lower()
        for index, record in enumerate(self.records[endpoint]):
            if str(record.get("id", "")).lower() == wanted:
                return index
        return None

    def put(self, endpoint: str, record: Record) -> None:
        """Add or replace (by id, case-insensitively) a copy of ``record``, modified now.

        The clock moves one second first; the stored copy's ``meta.modified`` (and ``meta.created``
        when new) is set to it.
        """
        self._check_endpoint(endpoint)
        with self._lock:
            self.tick(1)
            stored = copy.deepcopy(record)
            meta = stored.setdefault("meta", {})
            now = self.clock.isoformat()
            meta["modified"] = now
            index = self._index(endpoint, str(stored["id"]))
            if index is None:
                meta["created"] = now
                self.records[endpoint].append(stored)
            else:
                old_meta = self.records[endpoint][index].get("meta") or {}
                if "created" not in meta and "created" in old_meta:
                    meta["created"] = old_meta["created"]
                self.records[endpoint][index] = stored

    def delete(self, endpoint: str, record_id: str) -> None:
        """Remove a record (KeyError if absent) and remember its deletion; the clock moves 1 s."""
        self._check_endpoint(endpoint)
        with self._lock:
            index = self._index(endpoint, record_id)
            if index is None:
                raise KeyError(f"{endpoint}/{record_id}")
            self.tick(1)
            record = self.records[endpoint].pop(index)
            self.deletions.append((endpoint, str(record["id"]), self.clock))

    # -- transports -------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        """An httpx transport answering through :meth:`handler`."""
        return httpx.MockTransport(self.handler)

    @contextmanager
    def serve(self) -> Iterator[tuple[str, str]]:
        """Serve on a real HTTP server at 127.0.0.1; yield ``(base_url, token_url)``.

        A "timeout" or "drop" fault closes the connection without an answer.
        """
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: with Nagle's algorithm each answer would
            # wait for the client's delayed ACK (40 ms a request on loopback), as no real
            # provider's server does.
            disable_nagle_algorithm = True

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    f"http://127.0.0.1:{port}{self.path}",
                    headers=list(self.headers.items()),
                    content=body,
                )
                try:
                    response = provider.handler(request)
                except httpx.TransportError:
                    self.close_connection = True
                    return
                self.send_response(response.status_code)
                for name, value in response.headers.multi_items():
                    if name.lower() not in ("content-length", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def date_time_string(self, timestamp: float | None = None) -> str:
                """The Date header: the provider's clock, as on the in-process transport."""
                return email.utils.format_datetime(provider.clock.astimezone(UTC), usegmt=True)

            def log_message(self, format: str, *args: Any) -> None:
                """Silent."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        port = server.server_address[1]
        urls = (f"http://127.0.0.1:{port}/ss12000/v2.0", f"http://127.0.0.1:{port}/connect/token")
        thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-ss12000", daemon=True
        )
        with self._lock:
            self._served.append(urls)
        thread.start()
        try:
            yield urls
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
            with self._lock:
                self._served.remove(urls)

    # -- dispatch ---------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (for :class:`httpx.MockTransport`), dated by the provider's clock
        (the ``Date`` header, as a real server dates its answers)."""
        response = self._handle(request)
        response.headers["Date"] = email.utils.format_datetime(
            self.clock.astimezone(UTC), usegmt=True
        )
        return response

    def _handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
            url = str(request.url.copy_with(query=None, fragment=None))
            bases = [(BASE_URL, TOKEN_URL), *self._served]
            if any(url == token_url for _, token_url in bases):
                if request.method != "POST":
                    return _error(405, "method not allowed")
                return self._token(request)
            for base, _ in bases:
                if url.startswith(base + "/"):
                    endpoint = url[len(base) + 1 :]
                    if endpoint.endswith("/lookup") and endpoint[: -len("/lookup")] in ENDPOINTS:
                        if request.method != "POST":
                            return _error(405, "method not allowed")
                        return self._lookup(request, endpoint[: -len("/lookup")])
                    if endpoint in ENDPOINTS or endpoint == DELETED:
                        if request.method != "GET":
                            return _error(405, "method not allowed")
                        return self._api(request, endpoint)
            return _error(404, "not found")

    def _count(self, request: httpx.Request, endpoint: str) -> httpx.Response | None:
        """Count a request to ``endpoint``; its injected fault answer, if any (or raise it)."""
        self._counts[endpoint] = count = self._counts.get(endpoint, 0) + 1
        fault = self.faults.get((endpoint, count))
        if fault is None:
            fault = self.always_fail.get(endpoint)
        if fault is None:
            return None
        if fault == "timeout":
            raise httpx.ReadTimeout("timed out", request=request)
        if fault == "drop":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        assert isinstance(fault, int)
        headers = {"Retry-After": self.retry_after} if fault == 429 else None
        return _error(fault, f"fault injected ({fault})", headers)

    # -- token endpoint ---------------------------------------------------------------------------

    def _token(self, request: httpx.Request) -> httpx.Response:
        fault = self._count(request, TOKEN)
        if fault is not None:
            return fault
        if self._counts[TOKEN] <= self.token_failures:
            return _error(503, "token service unavailable")
        form = urllib.parse.parse_qs(request.content.decode("utf-8", "replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return _json(400, {"error": "unsupported_grant_type"})
        if not self._client_authenticated(request, form):
            return _json(401, {"error": "invalid_client"})
        if "scope" in form:
            self.scopes_seen.append(form["scope"][0])
        self.tokens_issued += 1
        digest = hashlib.sha256(f"fake-ss12000-token-{self.tokens_issued}".encode()).hexdigest()
        token = f"at{self.tokens_issued}.{digest[:32]}"
        self._token_uses[token] = 0
        return _json(
            200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}
        )

    def _client_authenticated(self, request: httpx.Request, form: dict[str, list[str]]) -> bool:
        """Whether the client authenticated with a method the provider accepts, and correctly."""
        results: list[bool] = []
        header = request.headers.get("Authorization", "")
        if self.token_auth in ("basic", "both") and header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            client_id, _, secret = decoded.partition(":")
            results.append(
                urllib.parse.unquote_plus(client_id) == CLIENT_ID
                and urllib.parse.unquote_plus(secret) == CLIENT_SECRET
            )
        if self.token_auth in ("form", "both") and ("client_id" in form or "client_secret" in form):
            results.append(
                form.get("client_id") == [CLIENT_ID]
                and form.get("client_secret") == [CLIENT_SECRET]
            )
        return bool(results) and all(results)

    # -- API --------------------------------------------------------------------------------------

    def _authorise(self, request: httpx.Request) -> httpx.Response | None:
        """None if the request carries a live bearer token (one use is spent), else the 401."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "bearer token required", {"WWW-Authenticate": "Bearer"})
        token = token.strip()
        invalid = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        uses = self._token_uses.get(token)
        if uses is None:
            return _error(401, "invalid token", invalid)
        limit = self.token_requests_per_token
        if limit is not None and uses >= limit:
            return _error(401, "token expired", invalid)
        self._token_uses[token] = uses + 1
        return None

    def _api(self, request: httpx.Request, endpoint: str) -> httpx.Response:
        answer = self._count(request, endpoint) or self._authorise(request)
        if answer is not None:
            return answer
        if endpoint in self.forbidden:
            return _error(403, f"access to {endpoint} is denied")
        if endpoint in self.missing:
            return _error(404, f"{endpoint} is not available")
        try:
            if endpoint == DELETED:
                return self._deleted(request)
            return self._list(request, endpoint)
        except _BadRequest as exc:
            return _error(exc.status, exc.message)

    def _lookup(self, request: httpx.Request, endpoint: str) -> httpx.Response:
        """``POST /{endpoint}/lookup`` with ``{"ids": [...]}``: the records with those ids (ids
        compared case-insensitively), as a bare array, as the standard answers; ``lookup_status``
        answers that status instead (a provider without it)."""
        answer = self._count(request, f"{endpoint}/lookup") or self._authorise(request)
        if answer is not None:
            return answer
        if self.lookup_status is not None:
            return _error(self.lookup_status, "lookup is not available")
        if endpoint in self.forbidden:
            return _error(403, f"access to {endpoint} is denied")
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return _error(400, "the body is not JSON")
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            return _error(400, "ids[] is required")
        wanted = {i.lower() for i in ids}
        self.lookups.append((endpoint, sorted(wanted)))
        found = [
            self._served_record(endpoint, r)
            for r in self.records[endpoint]
            if str(r.get("id", "")).lower() in wanted
        ]
        return _json(200, found)

    def _encode_page_token(
        self, endpoint: str, offset: int, limit: int, filters: list[tuple[str, str]]
    ) -> str:
        self._page_serials[endpoint] = serial = self._page_serials.get(endpoint, 0) + 1
        payload = {"endpoint": endpoint, "offset": offset, "limit": limit, "serial": serial}
        payload["filters"] = [list(pair) for pair in filters]
        raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @staticmethod
    def _decode_page_token(endpoint: str, token: str) -> dict[str, Any]:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            payload = json.loads(raw)
            valid = (
                isinstance(payload, dict)
                and payload.get("endpoint") == endpoint
                and isinstance(payload.get("offset"), int)
                and isinstance(payload.get("limit"), int)
                and isinstance(payload.get("serial"), int)
                and isinstance(payload.get("filters"), list)
            )
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            raise _BadRequest("ogiltig pageToken")
        return payload  # type: ignore[no-any-return]

    def _limit(self, value: str | None, fallback: int) -> int:
        if value is None:
            return min(fallback, self.max_limit)
        try:
            limit = int(value)
        except ValueError:
            raise _BadRequest(f"ogiltig limit: {value!r}") from None
        if limit < 1:
            raise _BadRequest(f"ogiltig limit: {value!r}")
        return min(limit, self.max_limit)

    @staticmethod
    def _time_filter(filters: list[tuple[str, str]], name: str) -> datetime | None:
        value = next((v for k, v in filters if k == name), None)
        if value is None:
            return None
        parsed = _parse_time(value)
        if parsed is None:
            raise _BadRequest(f"ogiltig tidpunkt i {name}: {value!r}")
        return parsed

    def _meta_time(self, record: Record, field: str) -> datetime:
        meta = record.get("meta")
        value = meta.get(field) if isinstance(meta, dict) else None
        parsed = _parse_time(value) if isinstance(value, str) else None
        return parsed or START_CLOCK

    def _select(self, endpoint: str, filters: list[tuple[str, str]]) -> list[Record]:
        """The endpoint's records that pass the filters, in stored order."""
        bounds = {
            name: self._time_filter(filters, name)
            for name in (
                "meta.modified.after",
                "meta.modified.before",
                "meta.created.after",
                "meta.created.before",
                "startTime.onOrAfter",
                "startTime.onOrBefore",
            )
        }
        if endpoint == "calendarEvents" and (
            bounds["startTime.onOrAfter"] is None or bounds["startTime.onOrBefore"] is None
        ):
            raise _BadRequest("startTime.onOrAfter och startTime.onOrBefore krävs")
        related = self._related(endpoint, filters)
        selected: list[Record] = []
        for record in self.records[endpoint]:
            ok = related is None or str(record.get("id", "")).lower() in related
            for field in ("modified", "created"):
                at = self._meta_time(record, field)
                after, before = bounds[f"meta.{field}.after"], bounds[f"meta.{field}.before"]
                ok = ok and (after is None or at > after) and (before is None or at <= before)
            if endpoint == "calendarEvents":
                start = record.get("startTime")
                at_start = _parse_time(start) if isinstance(start, str) else None
                low, high = bounds["startTime.onOrAfter"], bounds["startTime.onOrBefore"]
                assert low is not None and high is not None
                ok = ok and at_start is not None and low <= at_start <= high
            if ok:
                selected.append(record)
        return selected

    def _related(self, endpoint: str, filters: list[tuple[str, str]]) -> set[str] | None:
        """The ids the organisation filters let through (None: no such filter): ``organisation``
        on groups, duties, activities and calendarEvents (through the event's activity), and
        ``relationship.organisation`` with ``relationship.entity.type`` on persons."""
        orgs = {v.lower() for k, v in filters if k in ("organisation", "relationship.organisation")}
        if not orgs:
            return None

        def ref(value: Any) -> str:
            return str(value.get("id", "")).lower() if isinstance(value, dict) else ""

        def at(record: Record, key: str) -> bool:
            return ref(record.get(key)) in orgs

        if endpoint in ("groups", "activities"):
            return {str(r["id"]).lower() for r in self.records[endpoint] if at(r, "organisation")}
        if endpoint == "duties":
            return {str(r["id"]).lower() for r in self.records[endpoint] if at(r, "dutyAt")}
        if endpoint == "calendarEvents":
            acts = self._related("activities", [("organisation", o) for o in orgs]) or set()
            return {
                str(r["id"]).lower()
                for r in self.records[endpoint]
                if ref(r.get("activity")) in acts
            }
        if endpoint != "persons":
            return None
        kinds = {v for k, v in filters if k == "relationship.entity.type"}
        enrolled = {
            str(p["id"]).lower()
            for p in self.records["persons"]
            if any(ref(e.get("enroledAt")) in orgs for e in p.get("enrolments") or [])
        }
        out: set[str] = set()
        if not kinds or "enrolment" in kinds:
            out |= enrolled
        if not kinds or "duty" in kinds:
            out |= {ref(d.get("person")) for d in self.records["duties"] if at(d, "dutyAt")}
        if not kinds or "responsibleFor.enrolment" in kinds:
            out |= {
                ref(x.get("person"))
                for p in self.records["persons"]
                if str(p["id"]).lower() in enrolled
                for x in p.get("responsibles") or []
            }
        placed = [x for x in self.records["placements"] if at(x, "placedAt")]
        if not kinds or "placement.child" in kinds:
            out |= {ref(x.get("child")) for x in placed}
        if not kinds or "placement.owner" in kinds:
            out |= {ref(o) for x in placed for o in x.get("owners") or []}
        return out

    def _served_record(self, endpoint: str, record: Record) -> Record:
        withheld = self.withhold.get(endpoint, set())
        served = {key: value for key, value in record.items() if key not in withheld}
        return _upper_ids(served) if self.upper_case_ids else copy.deepcopy(served)

    def _list(self, request: httpx.Request, endpoint: str) -> httpx.Response:
        params = request.url.params.multi_items()
        page_token = request.url.params.get("pageToken")
        limit_value = request.url.params.get("limit")
        if page_token is not None:
            if any(key not in ("limit", "pageToken") for key, _ in params):
                raise _BadRequest("pageToken kan inte kombineras med andra filter")
            payload = self._decode_page_token(endpoint, page_token)
            key = (endpoint, payload["serial"])
            if key in self.gone_tokens and key not in self._gone_presented:
                self._gone_presented.add(key)
                return _error(410, "pageToken expired")
            filters = [(str(k), str(v)) for k, v in payload["filters"]]
            offset: int = payload["offset"]
            limit = self._limit(limit_value, payload["limit"])
        else:
            filters = [(k, v) for k, v in params if k != "limit"]
            offset = 0
            limit = self._limit(limit_value, self.default_limit)
        selected = self._select(endpoint, filters)
        page = selected[offset : offset + limit]
        next_token = None
        if offset + limit < len(selected):
            next_token = self._encode_page_token(endpoint, offset + limit, limit, filters)
        data = [self._served_record(endpoint, record) for record in page]
        return _json(200, {"data": data, "pageToken": next_token})

    def _deleted(self, request: httpx.Request) -> httpx.Response:
        if self.deleted_status is not None:
            return _error(self.deleted_status, "deletedEntities is not supported")
        params = request.url.params
        after_value = params.get("after")
        after = _parse_time(after_value) if after_value is not None else None
        if after is None:
            raise _BadRequest("after krävs (RFC 3339 date-time)")
        kinds = {name.lower(): name for name in ENTITY_KINDS}
        asked = params.get_list("entities") or list(ENTITY_KINDS)[:9]
        data: dict[str, list[str]] = {}
        for value in asked:
            name = kinds.get(value.lower())
            if name is None:
                raise _BadRequest(f"okänd entities: {value!r}")
            endpoint = ENTITY_KINDS[name]
            if endpoint is None:
                data[_OTHER_DELETED_KEYS[name]] = []
                continue
            ids: list[str] = []
            for deleted_from, record_id, at in self.deletions:
                if deleted_from == endpoint and at > after:
                    shown = record_id.upper() if self.upper_case_ids else record_id
                    if shown not in ids:
                        ids.append(shown)
            key = self.deleted_spelling if endpoint == "activities" else endpoint
            data[key] = ids
        return _json(200, {"data": data, "pageToken": None})
