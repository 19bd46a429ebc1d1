"""``schoolsync serve``'s application: the administrators' web interface at ``/`` and the REST API
at ``/api/v1``, with the security headers every answer carries."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from schoolsync import __version__, logs
from schoolsync.domain.settings import Settings
from schoolsync.errors import SchoolsyncError
from schoolsync.store.access import signing_key
from schoolsync.store.db import Store
from schoolsync.web import api, auth, oneroster, ui
from schoolsync.web.audit import AuditTrail

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _for_machines(path: str) -> bool:
    """The OneRoster service and its token endpoint answer machines, in their own shapes."""
    return path.startswith((oneroster.PREFIX + "/", "/oauth/"))


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """A request the routes cannot take: the API's usual 422, a page's sentence."""
    if request.url.path.startswith("/oauth/"):
        return oneroster.oauth_error(400, "invalid_request", "The request cannot be read.")
    if _for_machines(request.url.path):
        return oneroster.imsx(400, "invaliddata", "The request cannot be read.")
    if request.url.path.startswith("/api/"):
        return await request_validation_exception_handler(request, exc)
    return ui.problem(request, 400, "invalid")


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """No such page, or not with this method: the API's JSON, a page's sentence."""
    if _for_machines(request.url.path):
        code = "unknownobject" if exc.status_code == 404 else "invaliddata"
        return oneroster.imsx(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))
    if request.url.path.startswith("/api/"):
        return await http_exception_handler(request, exc)
    page = ui.problem(request, exc.status_code, "not-found" if exc.status_code in (404, 405)
                      else "invalid")  # fmt: skip
    for name, value in (exc.headers or {}).items():  # a 405's Allow
        page.headers[name] = value
    return page


def _failed(request: Request, _exc: Exception) -> Response:
    """Anything unforeseen: a sentence, never a traceback, with the headers every answer
    carries (this answer is made outside the middleware that adds them)."""
    if _for_machines(request.url.path):
        response: Response = oneroster.imsx(500, "internal_server_error",
                                            "Something went wrong on the server.")  # fmt: skip
    elif request.url.path.startswith("/api/"):
        response = JSONResponse(
            {"detail": "Something went wrong on the server; the request was not carried out."},
            status_code=500,
        )
    else:
        response = ui.problem(request, 500, "failed")
    for name, value in {**_HEADERS, "Cache-Control": "no-store"}.items():
        response.headers.setdefault(name, value)
    return response


def create_app(
    store: Store,
    settings: Settings,
    today: Callable[[], date],
    *,
    secure_cookies: bool = True,
    settings_file: Path | None = None,
    clock: Callable[[], float] = time.time,
    throttle: auth.Throttle | None = None,
) -> FastAPI:
    """The service's application.

    Args:
        store: The directory.
        settings: The settings (the service uses the CLI's).
        today: The day links and groups are judged on, each request.
        secure_cookies: Whether the session cookie is ``Secure`` (off only on loopback http).
        settings_file: Where the settings were read from (the settings page says so).
        clock: The time, for sessions (tests give their own).
        throttle: The sign-in throttle (tests give one with their own clock).
    """
    trail = AuditTrail(store)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        trail.flush()  # what the audit log could not take while a sync held the directory

    app = FastAPI(
        lifespan=lifespan,
        title="schoolsync",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.store = store
    app.state.clock = clock
    app.include_router(api.router(store, settings, today))
    app.state.roster = oneroster.RosterCache(store, settings, today)
    app.include_router(oneroster.router(store, settings, app.state.roster))
    app.state.trail = trail
    app.include_router(
        ui.router(store, settings, today, settings_file, clock, throttle or auth.Throttle(), trail)
    )
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(
        SessionMiddleware,
        secret_key=signing_key(store),
        session_cookie="schoolsync_session",
        max_age=auth.IDLE_MINUTES * 60,
        same_site="lax",
        https_only=secure_cookies,
    )

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The path only: a query string may hold a name or a number someone searched for. A
        # path holds ids, never a name or a personnummer.
        logs.event(
            f"{request.method} {request.url.path} {response.status_code}",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        if request.url.scheme == "https":  # as served, or as a trusted proxy says it was
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    @app.exception_handler(SchoolsyncError)
    def _refused(request: Request, exc: SchoolsyncError) -> Response:
        """The directory could not be read (or is busy): a sentence, never the database's
        address or a traceback."""
        if request.url.path.startswith("/api/"):
            return JSONResponse(
                {"detail": "The directory could not be read just now; ask again shortly."},
                status_code=503,
                headers={"Retry-After": "30"},
            )
        return ui.unavailable(request)

    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _failed)
    app.add_exception_handler(ui.SignInNeeded, ui.to_sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(ui.Refused, ui.refused_page)  # type: ignore[arg-type]
    return app
