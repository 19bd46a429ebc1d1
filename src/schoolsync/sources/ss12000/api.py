"""Reading a live SS 12000:2020 API into a bundle folder.

A read asks the API for every list endpoint schoolsync uses, page by page, and writes what it
answered in the bundle layout (INTERFACE.md): ``{endpoint}/page-0001.json``, … each holding
``{"data": [...], "pageToken": …}`` with the records exactly as served, plus ``fetch.json``, a
note of the read (where from, when, what each endpoint answered). ``schoolsync fetch`` keeps the
folder; ``schoolsync sync URL`` reads it as a bundle and lets it go, so an API sync and a sync of
the fetched folder are the same run by construction.

The mechanics (SS12000.md, "API mechanics"):

- **Sign-in**: OAuth2 client credentials, the client id and secret sent by HTTP Basic or as form
  fields; the token is kept for its lifetime, renewed a minute before it ends and once when a
  request is answered 401.
- **Paging**: ``limit`` and the filters on the first request, then ``pageToken`` with ``limit``
  only (providers answer 400 to a token with filters). A 410 Gone (an expired page token) reads
  that query again from its first page.
- **Retries**: 429 waits as ``Retry-After`` says; 5xx answers, time-outs and dropped connections
  are tried again with exponential back-off and jitter, a bounded number of times. Then the read
  stops with a sentence naming the endpoint and the last answer, and nothing is applied.
- **Shape**: every page must be a JSON object whose ``data`` is a list of objects and whose
  ``pageToken`` is a string or null; anything else stops the read the same way.
- **calendarEvents** must be asked for with ``startTime.onOrAfter`` and ``startTime.onOrBefore``:
  they are read a window (a week, by default) at a time across the configured range.
- An endpoint the provider does not offer (404, 501) or does not let this client read (403) is
  left out of the bundle, as a kind with no file, and said once in the run's issues; the safety
  locks (R10) hold the run when the directory holds data of that kind.

The client secret and the access token never leave this module: they are not in any message,
note or file it writes.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlsplit
from zoneinfo import ZoneInfo

import httpx
import msgspec
import tenacity

from schoolsync.domain.settings import ApiSettings
from schoolsync.errors import ConfigError, InputError
from schoolsync.sources.ss12000.note import FETCH_NOTE, FetchNote
from schoolsync.sources.ss12000.picture import (
    Cursor,
    Delta,
    Picture,
    Records,
    is_protected_body,
    marking_of,
    page_records,
)

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
"""The list endpoints read, in this order (the bundle reader's kinds)."""

_SWEDEN = ZoneInfo("Europe/Stockholm")
_UNAVAILABLE = {403, 404, 501}  # the endpoint is left out of the read
_RETRY_STATUSES = {429, 500, 502, 503, 504}
_TOKEN_MARGIN = 60.0  # seconds before its end a token is renewed
_LOOKUP_BATCH = 100  # ids per /lookup request
_MAX_EMPTY_PAGES = 100  # empty pages in a row that still name a next one: paging that never ends


class _Page(msgspec.Struct):
    data: list[msgspec.Raw]
    pageToken: str | None = None


class _Record(msgspec.Struct):
    id: Any = None


class _Token(msgspec.Struct):
    access_token: str
    token_type: str = "Bearer"
    expires_in: float | str | None = None  # seconds; some token services send it as text


def default_transport() -> httpx.BaseTransport | None:
    """The transport reads use when none is given: None, the network. (Tests replace it.)"""
    return None


def default_sleep(seconds: float) -> None:
    """How a read waits between attempts when no ``sleep`` is given. (Tests replace it.)"""
    time.sleep(seconds)


_page_decoder = msgspec.json.Decoder(_Page)
_record_decoder = msgspec.json.Decoder(_Record)
_token_decoder = msgspec.json.Decoder(_Token)


def is_api_url(source: str) -> bool:
    """Whether a SOURCE names an SS 12000 API (``https://…``, or ``http://`` on loopback)."""
    return source.startswith(("https://", "http://"))


def check_url(url: str, what: str = "The SS 12000 API address") -> str:
    """The URL without a trailing slash, if it may be read: https, or http on loopback only.

    Raises:
        ConfigError: When it is http:// to another host, or not a web address at all.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{what} {url!r} is not a web address.", "Give an https:// address.")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"{what} {url!r} uses http://, which is allowed only on this machine (loopback): "
            f"the secret and the register's personal data would travel unencrypted.",
            "Give the https:// address.",
        )
    return url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_secret(settings: ApiSettings) -> str:
    """The client secret, from the environment variable or the file the settings name.

    Raises:
        ConfigError: When neither is set, or the one named is empty or cannot be read. The
            message names where the secret was looked for, never the secret.
    """
    if settings.client_secret_env:
        secret = os.environ.get(settings.client_secret_env, "").strip()
        if not secret:
            raise ConfigError(
                f"The environment variable {settings.client_secret_env} "
                f"([ss12000] client_secret_env) is not set or empty.",
                "Set it to the API client's secret before the run.",
            )
        return secret
    if settings.client_secret_file:
        path = Path(settings.client_secret_file)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"The client secret file {path} ([ss12000] client_secret_file) cannot be read "
                f"({getattr(exc, 'strerror', None) or type(exc).__name__}).",
                "Check the path and that schoolsync may read it.",
            ) from exc
        if not secret:
            raise ConfigError(f"The client secret file {path} is empty.")
        return secret
    raise ConfigError(
        "Reading an SS 12000 API needs the client's secret, and [ss12000] names neither "
        "client_secret_env nor client_secret_file.",
        "See the README's section on the SS 12000 API for the settings.",
    )


@dataclass
class ReadStats:
    """What a read cost: requests, retries, bytes and seconds, and records per endpoint."""

    requests: int = 0
    retries: int = 0
    bytes: int = 0
    seconds: float = 0.0
    records: dict[str, int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    restarts: int = 0  # queries read again from page 1 after a 410 Gone
    confirmed: int = 0  # records no page of a full read brought, found by id (/lookup)

    def as_dict(self) -> dict[str, Any]:
        """As the run report and ``fetch.json`` hold it."""
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        return out


class ReadFailed(InputError):
    """An endpoint could not be read to its end; nothing of the read is used."""


class _Retryable(Exception):
    """An answer (or no answer) worth asking again for."""

    def __init__(self, text: str, wait: float | None = None) -> None:
        super().__init__(text)
        self.text = text
        self.wait = wait


class _Gone(Exception):
    """410 Gone: the page token expired; the query must start again."""


class ApiSession:
    """One read's HTTP session: the token, the retries and the counts.

    Args:
        base_url: The API's base URL (checked with :func:`check_url`).
        settings: The ``[ss12000]`` settings.
        secret: The client secret.
        transport: An httpx transport to use instead of the network (tests).
        sleep: How to wait between attempts (tests pass one that does not).
        clock: Seconds, monotonic: what a token's lifetime is measured by.
    """

    def __init__(
        self,
        base_url: str,
        settings: ApiSettings,
        secret: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not settings.token_url or not settings.client_id:
            raise ConfigError(
                "Reading an SS 12000 API needs [ss12000] token_url and client_id in the settings.",
                "See the README's section on the SS 12000 API for the settings.",
            )
        self.base_url = check_url(base_url)
        self.token_url = check_url(settings.token_url, "The token address ([ss12000] token_url)")
        self.settings = settings
        self._secret = secret
        self._token: str | None = None
        self._token_ends = 0.0
        self._sleep = sleep or default_sleep
        self._clock = clock  # for the token's lifetime
        self.stats = ReadStats()
        # The provider's clock at its first answer (its Date header, else this machine's): where
        # the next incremental read starts from, whatever the two clocks say.
        self.server_time: datetime | None = None
        self._client = httpx.Client(
            transport=transport or default_transport(),
            timeout=httpx.Timeout(settings.timeout_seconds),
            headers={"Accept": "application/json", "User-Agent": "schoolsync"},
            follow_redirects=False,
        )

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def _scrub(self, text: str) -> str:
        """A text from the provider, without the secret or the token should it echo them (as
        sent, form-encoded, or as the Basic credentials)."""
        pair = f"{quote_plus(self.settings.client_id or '')}:{quote_plus(self._secret)}"
        hidden = {
            self._secret,
            quote_plus(self._secret),
            base64.b64encode(pair.encode()).decode("ascii"),
            self._token or "",
        }
        for value in sorted(hidden, key=len, reverse=True):
            if value:
                text = text.replace(value, "***")
        return text[:300]

    # -- sign-in ---------------------------------------------------------------------------

    def _bearer(self) -> str:
        if self._token is None or self._clock() >= self._token_ends:
            self._token = self._fetch_token()
        return self._token

    def _fetch_token(self) -> str:
        form = {"grant_type": "client_credentials"}
        if self.settings.scope:
            form["scope"] = self.settings.scope
        client_id = self.settings.client_id or ""
        headers = {}
        if self.settings.token_auth == "basic":
            pair = f"{quote_plus(client_id)}:{quote_plus(self._secret)}"  # RFC 6749 §2.3.1
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        else:
            form |= {"client_id": client_id, "client_secret": self._secret}
        response = self._send(
            "token", lambda: self._client.post(self.token_url, data=form, headers=headers)
        )
        if response.status_code != 200:
            raise ReadFailed(
                f"The token service at {self.token_url} refused the client {client_id!r} "
                f"({response.status_code}{_oauth_error(response, self._scrub)}).",
                "Check [ss12000] client_id, token_auth and scope, and the secret in "
                f"{self._secret_place()}; nothing was changed.",
            )
        try:
            token = _token_decoder.decode(response.content)
        except msgspec.DecodeError as exc:
            raise ReadFailed(
                f"The token service at {self.token_url} answered without an access token.",
                "Check [ss12000] token_url; nothing was changed.",
            ) from exc
        lifetime = _seconds(token.expires_in) or 3600.0
        self._token_ends = self._clock() + max(lifetime - _TOKEN_MARGIN, lifetime / 2)
        return token.access_token

    def _secret_place(self) -> str:
        s = self.settings
        return f"${s.client_secret_env}" if s.client_secret_env else str(s.client_secret_file)

    # -- requests --------------------------------------------------------------------------

    def _send(self, what: str, request: Callable[[], httpx.Response]) -> httpx.Response:
        """One request, asked again while it fails in a way worth retrying (bounded)."""

        def attempt() -> httpx.Response:
            self.stats.requests += 1
            try:
                response = request()
            except httpx.TimeoutException as exc:
                raise _Retryable(f"no answer within {self.settings.timeout_seconds:g} s") from exc
            except httpx.RequestError as exc:  # a dropped connection, a body that cannot be read
                raise _Retryable(f"the connection failed ({type(exc).__name__})") from exc
            self.stats.bytes += len(response.content)
            if response.status_code in _RETRY_STATUSES:
                wait = _retry_after(response) if response.status_code == 429 else None
                text = f"{response.status_code} {self._scrub(response.reason_phrase)}"
                raise _Retryable(text + _error_text(response, self._scrub), wait)
            return response

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, _Retryable) and exc.wait is not None:
                return min(exc.wait, self.settings.max_retry_wait_seconds)
            backoff = min(0.5 * 2.0 ** (state.attempt_number - 1), 30.0)
            return min(backoff * (0.5 + random.random()), self.settings.max_retry_wait_seconds)

        def before_sleep(_state: tenacity.RetryCallState) -> None:
            self.stats.retries += 1

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.max_attempts),
            wait=wait,
            retry=tenacity.retry_if_exception_type(_Retryable),
            before_sleep=before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _Retryable as exc:
            attempts = self.settings.max_attempts
            raise ReadFailed(
                f"The SS 12000 API could not be read: {what} failed {attempts} time(s); the "
                f"last answer was: {exc.text}.",
                "Nothing was changed. Run the sync again later; if it keeps failing, ask the "
                "register's provider about the API's state.",
            ) from exc

    def get(
        self, endpoint: str, params: Sequence[tuple[str, str]], body: Any = None
    ) -> httpx.Response:
        """GET one page of an endpoint (POST ``body`` as JSON when given: ``…/lookup``), signed
        in; a 401 renews the token once."""
        url = f"{self.base_url}/{endpoint}"

        def send() -> httpx.Response:
            headers = {"Authorization": f"Bearer {self._bearer()}"}
            if body is not None:
                return self._client.post(url, json=body, headers=headers)
            return self._client.get(url, params=httpx.QueryParams(list(params)), headers=headers)

        response = self._send(f"/{endpoint}", send)
        if self.server_time is None:
            self.server_time = _server_date(response)
        if response.status_code == 401:
            self._token = None  # expired early, or revoked: fetch a new one, once
            response = self._send(f"/{endpoint}", send)
            if response.status_code == 401:
                raise ReadFailed(
                    f"The SS 12000 API refused the access token for /{endpoint} (401 "
                    f"Unauthorized) even after a new one was fetched.",
                    "Check that the client may read this API ([ss12000] scope); nothing was "
                    "changed.",
                )
        return response

    # -- paging ----------------------------------------------------------------------------

    def pages(self, endpoint: str, filters: list[tuple[str, str]]) -> Iterator[list[bytes]]:
        """Every page of one query, as the raw records; raises ``_Unavailable`` for 403/404/501.

        A 410 Gone restarts the query from its first page, at most three times.
        """
        limit = ("limit", str(self.settings.page_size))
        for _restart in range(4):
            try:
                yield from self._chain(endpoint, [limit, *filters], limit)
                return
            except _Gone:
                self.stats.restarts += 1
        raise ReadFailed(
            f"The SS 12000 API's page tokens for /{endpoint} kept expiring (410 Gone) before "
            f"the read reached the last page, four times in a row.",
            "Nothing was changed. Run the sync again; if it keeps failing, lower [ss12000] "
            "page_size or ask the provider how long page tokens live.",
        )

    def _chain(
        self, endpoint: str, first: list[tuple[str, str]], limit: tuple[str, str]
    ) -> Iterator[list[bytes]]:
        params = first
        number = 0
        seen: set[str] = set()  # the page tokens given: one seen again would never end
        empty = 0
        while True:
            number += 1
            response = self.get(endpoint, params)
            status = response.status_code
            if status == 410:
                raise _Gone
            if status in _UNAVAILABLE and number == 1:
                raise _Unavailable(status)
            if status != 200:
                raise self._refused(
                    f"/{endpoint} (page {number})",
                    response,
                    "Nothing was changed. Check [ss12000] in the settings; if they are right, "
                    "ask the register's provider about this answer.",
                )
            page = _decode_page(response.content, endpoint, number)
            self.stats.pages[endpoint] = self.stats.pages.get(endpoint, 0) + 1
            yield [bytes(raw) for raw in page.data]
            if not page.pageToken:
                return
            empty = 0 if page.data else empty + 1
            _check_progress(endpoint, number, page.pageToken, seen, empty)
            params = [limit, ("pageToken", page.pageToken)]

    def _refused(self, what: str, response: httpx.Response, hint: str) -> ReadFailed:
        """A read stopped by an answer other than 200: the status and the provider's words."""
        return ReadFailed(
            f"The SS 12000 API answered {what} with {response.status_code} "
            f"{self._scrub(response.reason_phrase)}{_error_text(response, self._scrub)}.",
            hint,
        )

    def lookup(self, endpoint: str, ids: Sequence[str]) -> list[bytes]:
        """The records of these ids, by ``POST /{endpoint}/lookup`` (a hundred at a time).

        Raises:
            _Unavailable: When the provider does not offer it (403, 404, 405, 501).
        """
        out: list[bytes] = []
        for at in range(0, len(ids), _LOOKUP_BATCH):
            response = self.get(
                f"{endpoint}/lookup", (), {"ids": list(ids[at : at + _LOOKUP_BATCH])}
            )
            if response.status_code in (*_UNAVAILABLE, 405):
                raise _Unavailable(response.status_code)
            if response.status_code != 200:
                raise self._refused(
                    f"/{endpoint}/lookup",
                    response,
                    "Nothing was changed. Run the sync again; if it keeps failing, run it with "
                    "--full.",
                )
            content = response.content
            if content.lstrip().startswith(b"["):  # the standard's answer: the records
                content = b'{"data": ' + content + b"}"
            out += [bytes(raw) for raw in _decode_page(content, f"{endpoint}/lookup", 1).data]
        return out

    def deleted_since(self, after: datetime) -> dict[str, set[str]]:
        """The ids ``/deletedEntities`` lists as deleted after ``after``, by endpoint (lower case).

        Both spellings of activities are read (the standard's ``activitites`` and
        ``activities``), and demo-sis's flat list of ``{entityType, id}``.

        Raises:
            _Unavailable: When the provider does not offer it (403, 404, 501).
        """
        filters = [("after", after.isoformat())] + [("entities", e) for e in _DELETED_KINDS]
        out: dict[str, set[str]] = {}
        for number, content in enumerate(self._deleted_pages(filters), start=1):
            try:
                body = msgspec.json.decode(content)
            except msgspec.DecodeError as exc:
                raise _not_a_page("deletedEntities", number, str(exc)) from exc
            data = body.get("data") if isinstance(body, dict) else None
            if isinstance(data, dict):
                items = [
                    (key, rid) for key, ids in data.items() if isinstance(ids, list) for rid in ids
                ]
            elif isinstance(data, list):  # demo-sis: [{entityType, id, deletedAt}]
                items = [
                    (_DELETED_TYPES.get(str(x.get("entityType")), ""), x.get("id"))
                    for x in data
                    if isinstance(x, dict)
                ]
            else:
                raise _not_a_page("deletedEntities", number, "no data")
            for key, rid in items:
                endpoint = _DELETED_KEYS.get(key)
                if endpoint and isinstance(rid, str):
                    out.setdefault(endpoint, set()).add(rid.lower())
        return out

    def _deleted_pages(self, filters: list[tuple[str, str]]) -> Iterator[bytes]:
        limit = ("limit", str(self.settings.page_size))
        params = [limit, *filters]
        seen: set[str] = set()
        while True:
            response = self.get("deletedEntities", params)
            if response.status_code in _UNAVAILABLE and not seen:
                raise _Unavailable(response.status_code)
            if response.status_code != 200:
                raise self._refused(
                    "/deletedEntities",
                    response,
                    "Nothing was changed. Run the sync again; if it keeps failing, run it with "
                    "--full, which does not ask for deletions.",
                )
            yield response.content
            try:
                token = msgspec.json.decode(response.content, type=_TokenOnly).pageToken
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise _not_a_page("deletedEntities", len(seen) + 1, str(exc)) from exc
            if not token:
                return
            _check_progress("deletedEntities", len(seen) + 1, token, seen, 0)
            params = [limit, ("pageToken", token)]


def _check_progress(endpoint: str, number: int, token: str, seen: set[str], empty: int) -> None:
    """Stop paging that would never end: a page token given before, or ``empty`` pages in a
    row without records that still name a next one; else remember the token."""
    if token in seen or empty >= _MAX_EMPTY_PAGES:
        why = (
            "names a page token it gave before"
            if token in seen
            else f"is the {empty}th empty page in a row that names a next one"
        )
        raise ReadFailed(
            f"The SS 12000 API's pages of /{endpoint} do not end: page {number} {why}. "
            f"The read was stopped.",
            "Nothing was changed. Ask the register's provider about its paging.",
        )
    seen.add(token)


class _TokenOnly(msgspec.Struct):
    pageToken: str | None = None


# /deletedEntities: the kinds asked for, and each answer key's endpoint (both spellings).
_DELETED_KINDS = (
    "Organisation", "Person", "Placement", "Duty", "Group", "Syllabus", "Activity", "Room",
    "CalendarEvent",
)  # fmt: skip
_DELETED_KEYS = {
    "organisations": "organisations",
    "persons": "persons",
    "placements": "placements",
    "duties": "duties",
    "groups": "groups",
    "syllabuses": "syllabuses",
    "activitites": "activities",  # the standard's own spelling
    "activities": "activities",
    "rooms": "rooms",
    "calendarEvents": "calendarEvents",
}
_DELETED_TYPES = {kind: kind[0].lower() + kind[1:] + "s" for kind in _DELETED_KINDS} | {
    "Person": "persons",
    "Activity": "activities",
    "Duty": "duties",
    "Syllabus": "syllabuses",
}


def _not_a_page(endpoint: str, number: int, why: str) -> ReadFailed:
    return ReadFailed(
        f"The SS 12000 API answered /{endpoint} (page {number}) with something that is not "
        f"an SS 12000 page ({why}).",
        "Nothing was changed. Ask the register's provider about the answer; a page is "
        '{"data": [...], "pageToken": ...}.',
    )


class _Unavailable(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _decode_page(content: bytes, endpoint: str, number: int) -> _Page:
    """A page checked against the standard's shape: ``data`` a list of objects."""
    try:
        page = _page_decoder.decode(content)
        bad = next((i for i, raw in enumerate(page.data) if not bytes(raw).startswith(b"{")), None)
    except msgspec.DecodeError as exc:
        raise _not_a_page(endpoint, number, str(exc)) from exc
    if bad is not None:
        raise ReadFailed(
            f"The SS 12000 API answered /{endpoint} (page {number}) with a page whose record "
            f"{bad + 1} is not an object.",
            "Nothing was changed. Ask the register's provider about the answer.",
        )
    return page


def _seconds(value: float | str | None) -> float | None:
    """A token's lifetime in seconds, if it is a positive number (or one written as text)."""
    try:
        seconds = float(value) if value is not None else 0.0
    except ValueError:
        return None
    return seconds if 0 < seconds < 10**9 else None


def _server_date(response: httpx.Response) -> datetime:
    try:
        when = parsedate_to_datetime(response.headers.get("Date", ""))
    except (TypeError, ValueError, IndexError):
        return datetime.now(UTC)
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value or not value.isascii():
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _error_text(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """The provider's ``Error {code, message}`` as ``: message``, if it sent one."""
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return f": {scrub(body['message'])}"
    return ""


def _oauth_error(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return ""
    if not isinstance(body, dict):
        return ""
    parts = [body.get("error"), body.get("error_description")]
    text = ", ".join(scrub(p) for p in parts if isinstance(p, str))
    return f": {text}" if text else ""


# -- the read --------------------------------------------------------------------------------

Progress = Callable[[str, int], Callable[[int], None]]
"""Called with a stage's name and its size (-1: not known); returns a function advanced by
records read, and called with -1 when the stage is done."""


def _no_progress(_name: str, _total: int) -> Callable[[int], None]:
    return lambda _n: None


def calendar_windows(today: date, settings: ApiSettings) -> list[tuple[datetime, datetime]]:
    """The calendarEvents windows: from ``calendar_days_back`` before today to
    ``calendar_days_ahead`` after it, ``calendar_window_days`` at a time, each from local
    midnight to the last second of its last day (Swedish time, as the register's lessons are)."""
    first = today - timedelta(days=settings.calendar_days_back)
    last = today + timedelta(days=settings.calendar_days_ahead)
    out = []
    day = first
    while day <= last:
        end = min(day + timedelta(days=settings.calendar_window_days - 1), last)
        start_at = datetime.combine(day, clock_time(0, 0), _SWEDEN)
        end_at = datetime.combine(end, clock_time(23, 59, 59), _SWEDEN)
        out.append((start_at, end_at))
        day = end + timedelta(days=1)
    return out


Query = tuple[tuple[datetime, datetime] | None, list[tuple[str, str]]]
"""One query of an endpoint: the calendar window it reads (calendarEvents), and its filters."""

# How each endpoint is asked for one school unit's records ([ss12000] organisations).
_BY_UNIT = {
    "groups": ["organisation"],
    "duties": ["organisation"],
    "activities": ["organisation"],
    "calendarEvents": ["organisation"],
}
_PERSON_RELATIONS = (
    "enrolment", "duty", "responsibleFor.enrolment", "placement.child", "placement.owner",
)  # fmt: skip


def _queries(
    endpoint: str, windows: list[tuple[datetime, datetime]], units: list[str] | None
) -> list[Query]:
    """The queries that read an endpoint whole: most endpoints one, with no filters;
    calendarEvents one per window; with ``units`` (the school units to read), one per unit
    (persons: per unit and kind of relation) where the standard has a filter for it."""
    scopes: list[list[tuple[str, str]]] = [[]]
    if units is not None and endpoint == "persons":
        scopes = [
            [("relationship.organisation", unit), ("relationship.entity.type", relation)]
            for unit in units
            for relation in _PERSON_RELATIONS
        ]
    elif units is not None and endpoint in _BY_UNIT:
        scopes = [[(name, unit) for name in _BY_UNIT[endpoint]] for unit in units]
    if endpoint != "calendarEvents":
        return [(None, scope) for scope in scopes]
    return [
        (
            (start, end),
            [
                ("startTime.onOrAfter", start.isoformat()),
                ("startTime.onOrBefore", end.isoformat()),
                *scope,
            ],
        )
        for start, end in windows
        for scope in scopes
    ]


class _Unit(msgspec.Struct):
    id: Any = None
    schoolUnitCode: Any = None


_unit_decoder = msgspec.json.Decoder(_Unit)


def _units(
    settings: ApiSettings, organisations: Iterable[bytes], note: FetchNote
) -> list[str] | None:
    """The organisation ids of the school units ``[ss12000] organisations`` names (by id or by
    skolenhetskod); None: all.

    Raises:
        ConfigError: When one of them is not among the organisations the API serves.
        ReadFailed: When the organisations could not be read at all.
    """
    if not settings.organisations:
        return None
    if "organisations" in note.unavailable:
        raise ReadFailed(
            f"[ss12000] organisations names the school units to read, but the SS 12000 API "
            f"answered /organisations with {note.unavailable['organisations']}, so they cannot "
            f"be found and the read was stopped.",
            "Nothing was changed. Give the client access to /organisations, or empty the list.",
        )
    known: dict[str, str] = {}
    for raw in organisations:
        unit = _unit_decoder.decode(raw)
        if isinstance(unit.id, str):
            known[unit.id.lower()] = unit.id
            if isinstance(unit.schoolUnitCode, str):
                known[unit.schoolUnitCode.strip()] = unit.id
    out = []
    for wanted in settings.organisations:
        found = known.get(wanted.strip()) or known.get(wanted.strip().lower())
        if found is None:
            raise ConfigError(
                f"[ss12000] organisations names {wanted!r}, which is neither the id nor the "
                f"skolenhetskod of an organisation the SS 12000 API serves.",
                "Check the list against the register's school units; nothing was changed.",
            )
        out.append(found)
    return out


class _PageWriter:
    """Writes an endpoint's records as numbered page files, a page per answer read."""

    def __init__(self, folder: Path, endpoint: str) -> None:
        self.folder = folder / endpoint
        self.endpoint = endpoint
        self.count = 0
        self.records = 0
        self._pending: list[bytes] | None = None
        self._seen: dict[str, int] = {}  # id -> hash of the record's bytes
        self.markings = (0, 0)  # persons written, and of them without a securityMarking

    def add(self, records: list[bytes], dedupe: bool = True) -> None:
        """One page's records; an identical record already written (same id, same bytes: a page
        that shifted under the read, or a window's edge) is left out."""
        kept = [] if dedupe else records
        for raw in records if dedupe else ():
            rid = _record_decoder.decode(raw).id
            key = rid.lower() if isinstance(rid, str) else None
            if key is not None:
                digest = hash(raw)
                if self._seen.get(key) == digest:
                    continue
                self._seen[key] = digest
            kept.append(raw)
        if self._pending is not None:
            self._write(self._pending, last=False)
        self._pending = kept
        received, absent = _markings(self.endpoint, kept)
        self.markings = (self.markings[0] + received, self.markings[1] + absent)

    @property
    def seen(self) -> dict[str, int]:
        """The ids written so far (lower case), each with its record's hash."""
        return self._seen

    def finish(self) -> None:
        """Write the last page (an empty one when the endpoint had no records at all)."""
        self._write(self._pending or [], last=True)

    def _write(self, records: list[bytes], last: bool) -> None:
        self.count += 1
        self.records += len(records)
        self.folder.mkdir(parents=True, exist_ok=True)
        token = b"null" if last else msgspec.json.encode(f"page-{self.count + 1:04d}")
        body = b'{"data": [' + b",\n".join(records) + b'], "pageToken": ' + token + b"}\n"
        (self.folder / f"page-{self.count:04d}.json").write_bytes(body)


def read_api(
    url: str,
    folder: Path,
    settings: ApiSettings,
    today: date,
    *,
    picture: Picture | None = None,
    full: bool = False,
    progress: Progress = _no_progress,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> tuple[FetchNote, Delta]:
    """Read the API at ``url`` into the bundle folder ``folder`` (empty or absent).

    With a ``picture`` of an earlier complete read (and no reason for a full one: ``full``, the
    picture's age, no ``/deletedEntities``), only what changed is read and merged into it.

    Args:
        url: The API's base URL, ending in its version segment.
        folder: Where the bundle is written.
        settings: The ``[ss12000]`` settings.
        today: The date the calendarEvents window is counted from.
        picture: What the directory holds of this API's register, if anything.
        full: Read everything, whatever the picture.
        progress: Called with a stage's name; returns a function advanced by records read.
        transport: An httpx transport instead of the network (tests).
        sleep: How to wait between attempts.

    Returns:
        The read's note (also written to ``folder/fetch.json``) and what the read changes in
        the picture, for the run to write when it is applied.

    Raises:
        ConfigError: When the settings cannot make a read (no token URL, no secret, http://).
        ReadFailed: When an endpoint could not be read to its end; ``folder`` is then left
            with what was written so far, for the caller to remove.
    """
    clock = time.monotonic()
    session = ApiSession(url, settings, client_secret(settings), transport=transport, sleep=sleep)
    note = FetchNote(session.base_url, datetime.now(UTC).isoformat(), "", {})
    windows = calendar_windows(today, settings)
    scope = scope_of(settings)
    unavailable_since = picture.deletions_unavailable_since if picture else None
    try:
        why = _why_full(picture, settings, today, full, scope)
        delta = None
        if why is None and picture is not None:
            try:
                delta = _read_changes(session, picture, folder, windows, note, progress)
                unavailable_since = None
            except _Unavailable as gone:  # /deletedEntities, asked first
                why = f"the provider does not offer /deletedEntities ({gone.status})"
                if unavailable_since is None:
                    note.notices.append(
                        f"The SS 12000 API does not offer /deletedEntities (it answered "
                        f"{gone.status}), so runs read the whole register instead of what "
                        f"changed (it is asked again every full_read_every_days)."
                    )
                unavailable_since = today
            except _NeedsFull as need:
                why = str(need)
            if delta is None:  # what the attempt wrote goes; the full read starts afresh
                shutil.rmtree(folder, ignore_errors=True)
                note.unavailable, note.withheld = {}, []
        if delta is None:
            note.mode, note.reason = "full", why or ""
            delta = _read_all(session, folder, settings, windows, note, progress, picture)
        delta.scope, delta.deletions_unavailable_since = scope, unavailable_since
    finally:
        session.close()
    note.calendar = {
        "from": windows[0][0].date().isoformat(),
        "to": windows[-1][1].date().isoformat(),
    }
    session.stats.seconds = time.monotonic() - clock
    note.stats = {"mode": note.mode, **session.stats.as_dict()}
    note.finished = datetime.now(UTC).isoformat()
    (folder / FETCH_NOTE).write_bytes(msgspec.json.format(msgspec.json.encode(note.as_dict())))
    return note, delta


def scope_of(settings: ApiSettings) -> str:
    """What the reads are asked for, as the picture records it: the school units read."""
    return msgspec.json.encode(sorted(settings.organisations)).decode()


class _NeedsFull(Exception):
    """An incremental read cannot be made this time (the message says why)."""


def _why_full(
    picture: Picture | None, settings: ApiSettings, today: date, full: bool, scope: str
) -> str | None:
    """Why this read must be a full one, or None when reading what changed will do (days
    counted to ``today``, the run's date)."""
    if full:
        return "asked for (--full)"
    if settings.organisations:
        # A record that leaves the units no longer matches the units' filters: what changed
        # about it would never be seen.
        return "[ss12000] organisations is set: what leaves the units can only be seen whole"
    if picture is None or picture.full_read_at is None or not picture.cursors:
        return "no complete read of this API before"
    if picture.scope != scope:
        return "the settings ask for other school units than the last read"
    since = picture.deletions_unavailable_since
    if since is not None and (today - since).days < settings.full_read_every_days:
        return f"the provider does not offer /deletedEntities (found on {since.isoformat()})"
    age = (today - picture.full_read_at.astimezone(_SWEDEN).date()).days
    if age >= settings.full_read_every_days:
        return f"the last full read is {age} days old ([ss12000] full_read_every_days)"
    return None


def _read_all(
    session: ApiSession,
    folder: Path,
    settings: ApiSettings,
    windows: list[tuple[datetime, datetime]],
    note: FetchNote,
    progress: Progress,
    picture: Picture | None = None,
) -> Delta:
    """A full read: every endpoint, every page. Records the picture holds that no page
    brought (paging by offset skips one when a record before it goes away mid-read) are
    looked up by id and kept if they exist; not with ``organisations`` (a record may have left
    the units)."""
    cursors: dict[str, Cursor] = {}
    units: list[str] | None = None
    for endpoint in ENDPOINTS:
        advance = progress(f"Reading /{endpoint}", -1)
        writer = _PageWriter(folder, endpoint)
        organisations: list[bytes] = []
        try:
            for _window, filters in _queries(endpoint, windows, units):
                for records in session.pages(endpoint, filters):
                    writer.add(records)
                    advance(len(records))
                    if endpoint == "organisations":
                        organisations += records
        except _Unavailable as gone:
            note.unavailable[endpoint] = gone.status
            shutil.rmtree(writer.folder, ignore_errors=True)
            if endpoint == "organisations":
                _units(settings, (), note)  # the units named cannot be found: stop
            continue
        if picture is not None and not settings.organisations and endpoint in _CONFIRMED:
            _confirm(session, endpoint, writer, picture)
        _note_withheld(note, endpoint, writer.markings)
        writer.finish()
        session.stats.records[endpoint] = writer.records
        cursors[endpoint] = _cursor(endpoint, session, windows)
        if endpoint == "organisations":
            units = _units(settings, organisations, note)
        advance(-1)
    started = session.server_time or datetime.now(UTC)
    return Delta(session.base_url, True, started, folder, set(cursors), cursors=cursors)


def _cursor(endpoint: str, session: ApiSession, windows: list[tuple[datetime, datetime]]) -> Cursor:
    started = session.server_time or datetime.now(UTC)
    if endpoint != "calendarEvents":
        return Cursor(started)
    return Cursor(started, windows[0][0].date(), windows[-1][1].date())


def _read_changes(
    session: ApiSession,
    picture: Picture,
    folder: Path,
    windows: list[tuple[datetime, datetime]],
    note: FetchNote,
    progress: Progress,
) -> Delta:
    """An incremental read: what changed since each endpoint's cursor (less the overlap) and
    what ``/deletedEntities`` lists, merged into the picture; an endpoint never read completely
    is read whole.

    Raises:
        _Unavailable: When the provider does not offer ``/deletedEntities`` (before anything
            else is asked for).
    """
    overlap = timedelta(minutes=session.settings.overlap_minutes)
    since = min(c.read_from for c in picture.cursors.values()) - overlap
    deleted = session.deleted_since(since)
    started = session.server_time or datetime.now(UTC)
    note.mode, note.since = "incremental", since.isoformat()
    delta = Delta(session.base_url, False, started, folder)
    first_day = windows[0][0].date()
    units: list[str] | None = None
    for endpoint in ENDPOINTS:
        advance = progress(f"Reading /{endpoint}", -1)
        cursor = picture.cursors.get(endpoint)
        queries = _queries(endpoint, windows, units)
        if cursor is not None:
            queries = _changed(queries, cursor, overlap)
        received: list[bytes] = []
        try:
            for _window, filters in queries:
                for records in session.pages(endpoint, filters):
                    received += records
                    advance(len(records))
        except _Unavailable as gone:
            note.unavailable[endpoint] = gone.status
            if endpoint == "organisations":
                _units(session.settings, (), note)  # the units named cannot be found: stop
            continue
        _note_withheld(note, endpoint, _markings(endpoint, received))
        writer = _PageWriter(folder, endpoint)
        if cursor is None:
            for at in range(0, len(received), _MERGED_PAGE):
                writer.add(received[at : at + _MERGED_PAGE])
            delta.replaced.add(endpoint)
        else:
            merged = _merge(endpoint, picture.records(endpoint), received, deleted, delta)
            if endpoint == "calendarEvents":
                _drop_past_events(merged, first_day, delta)
            if endpoint == "persons":
                _refresh_protected(session, merged, set(delta.upserts.get("persons", {})))
            kept = [body for _pos, body in sorted(merged.values())]
            for at in range(0, len(kept), _MERGED_PAGE):
                writer.add(kept[at : at + _MERGED_PAGE], dedupe=False)
        writer.finish()
        session.stats.records[endpoint] = len(received)
        delta.cursors[endpoint] = _cursor(endpoint, session, windows)
        if endpoint == "organisations":
            units = _units(session.settings, page_records(folder, endpoint), note)
        advance(-1)
    return delta


_MERGED_PAGE = 1000  # records per page file of a merged read

# The endpoints whose records a full read confirms by id when no page brought them.
_CONFIRMED = ("persons", "placements", "duties", "groups", "activities")


def _confirm(session: ApiSession, endpoint: str, writer: _PageWriter, picture: Picture) -> None:
    """Look up the records the picture holds that no page of this full read brought; keep those
    that exist (a provider without ``/lookup``: the read stands as it is)."""
    missing = [rid for rid, _pos, _body in picture.records(endpoint) if rid not in writer.seen]
    if not missing:
        return
    try:
        found = session.lookup(endpoint, missing)
    except _Unavailable:
        return
    wanted = set(missing)
    kept = [raw for raw in found if _lower_id(raw) in wanted]
    if kept:
        session.stats.confirmed += len(kept)
        writer.add(kept)


def _lower_id(raw: bytes) -> str | None:
    rid = _record_decoder.decode(raw).id
    return rid.lower() if isinstance(rid, str) else None


def _refresh_protected(
    session: ApiSession, merged: dict[str, tuple[int, bytes]], received: set[str]
) -> None:
    """The protected persons the picture holds (without their data) as the API has them now,
    for this run's bundle only: the rules need their personnummer (R11: to mask an account of
    theirs, to keep a second record with their number out), which is never stored.

    Raises:
        _NeedsFull: When the provider does not offer ``/persons/lookup``.
    """
    stale = [
        rid for rid, (_p, body) in merged.items() if rid not in received and is_protected_body(body)
    ]
    if not stale:
        return
    try:
        fresh = session.lookup("persons", stale)
    except _Unavailable as gone:
        raise _NeedsFull(
            f"the provider does not offer /persons/lookup ({gone.status}), which an incremental "
            f"read needs for the protected persons it holds"
        ) from gone
    for raw in fresh:
        rid = _lower_id(raw)
        if rid in merged:
            merged[rid] = (merged[rid][0], raw)


def _markings(endpoint: str, records: list[bytes]) -> tuple[int, int]:
    """Of the persons among ``records``: how many there are, and how many have no marking."""
    if endpoint != "persons":
        return 0, 0
    absent = sum(1 for raw in records if marking_of(raw) is None)
    return len(records), absent


def _note_withheld(note: FetchNote, endpoint: str, markings: tuple[int, int]) -> None:
    """R11: persons received, none with a securityMarking: the client most likely lacks the
    scope (the run is held when the directory has users, see the safety locks)."""
    received, absent = markings
    if received and absent == received:
        note.withheld.append(f"{endpoint}.securityMarking")


def _changed(queries: list[Query], cursor: Cursor, overlap: timedelta) -> list[Query]:
    """The queries for what changed at an endpoint since its cursor (less the overlap). Days of
    the calendar window the last read did not cover are read whole."""
    since = ("meta.modified.after", (cursor.read_from - overlap).isoformat())
    out: list[Query] = []
    for window, filters in queries:
        covered = window is None or (
            cursor.calendar_from is not None
            and cursor.calendar_to is not None
            and cursor.calendar_from <= window[0].date()
            and window[1].date() <= cursor.calendar_to
        )
        out.append((window, [*filters, since] if covered else filters))
    return out


def _merge(
    endpoint: str,
    stored: Records,
    received: list[bytes],
    deleted: dict[str, set[str]],
    delta: Delta,
) -> dict[str, tuple[int, bytes]]:
    """The endpoint's records after this read: the stored ones, less the deleted, with the
    received added or replacing theirs (kept in their place); the changes go into ``delta``."""
    merged = {rid: (position, body) for rid, position, body in stored}
    gone = {rid for rid in deleted.get(endpoint, ()) if rid in merged}
    for rid in gone:
        del merged[rid]
    if gone:
        delta.deletes[endpoint] = gone
    upserts: dict[str, tuple[int, bytes]] = {}
    after = max((position for position, _ in merged.values()), default=-1) + 1
    for raw in received:
        rid = _record_decoder.decode(raw).id
        if not isinstance(rid, str):
            continue  # no id, nothing to merge by: left out (a full read shows it as invalid)
        key = rid.lower()
        if key in merged:
            position = merged[key][0]
        else:
            position, after = after, after + 1
        merged[key] = upserts[key] = (position, raw)
        delta.deletes.get(endpoint, set()).discard(key)  # deleted, then made again
    if upserts:
        delta.upserts[endpoint] = upserts
    return merged


class _Start(msgspec.Struct):
    startTime: Any = None


_start_decoder = msgspec.json.Decoder(_Start)


def _drop_past_events(merged: dict[str, tuple[int, bytes]], first_day: date, delta: Delta) -> None:
    """Calendar events that begin before the window now begins leave the picture (a full read
    would not have them)."""
    past = set()
    for rid, (_position, body) in merged.items():
        start = _start_decoder.decode(body).startTime
        try:
            day = datetime.fromisoformat(start).astimezone(_SWEDEN).date()
        except (TypeError, ValueError):
            continue
        if day < first_day:
            past.add(rid)
    for rid in past:
        del merged[rid]
        delta.upserts.get("calendarEvents", {}).pop(rid, None)
    if past:
        delta.deletes.setdefault("calendarEvents", set()).update(past)


@contextmanager
def fetched(
    url: str,
    settings: ApiSettings,
    today: date,
    progress: Progress = _no_progress,
    picture: Picture | None = None,
    full: bool = False,
) -> Iterator[tuple[Path, Delta]]:
    """Read the API into a temporary bundle folder, removed when the block ends; with what the
    read changes in the picture."""
    with tempfile.TemporaryDirectory(prefix="schoolsync-read-") as tmp:
        folder = Path(tmp) / "bundle"
        _note, delta = read_api(
            url, folder, settings, today, picture=picture, full=full, progress=progress
        )
        yield folder, delta


def fetch_to(
    url: str,
    target: Path,
    settings: ApiSettings,
    today: date,
    progress: Progress = _no_progress,
) -> FetchNote:
    """Read the API into ``target``, which appears only when the read is complete.

    Raises:
        InputError: When ``target`` exists and is not an empty folder.
        ConfigError, ReadFailed: As :func:`fetch`; ``target`` is then not created.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise InputError(
            "exists and is not an empty folder; a fetch writes a new bundle folder.",
            "Give a new folder (or remove this one).",
            path=str(target),
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".schoolsync-fetch-", dir=target.parent) as tmp:
        folder = Path(tmp) / "bundle"
        note, _delta = read_api(url, folder, settings, today, progress=progress)
        if target.exists():
            target.rmdir()
        folder.rename(target)
    return note
