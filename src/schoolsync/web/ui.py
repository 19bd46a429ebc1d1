"""The administrators' web interface: Översikt, Körningar, Felsökning, the directory's schools,
classes, groups and persons, the settings, and the audit log; signed in, in Swedish or English.

Every page reads within the viewer's schools (a school-admin's; another school's object is 404).
Forms carry a CSRF token. Nothing personal goes in a URL: searches for persons are POSTed, pages
are addressed by the directory's ids. A protected person appears only under their pseudonym, never
with a personnummer, address or contact data.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi import Path as FastPath
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel

from schoolsync import report
from schoolsync.domain.issues import KINDS
from schoolsync.domain.near import how_near
from schoolsync.domain.settings import Settings
from schoolsync.engine.run import approve
from schoolsync.errors import (
    ConfigError,
    ConflictError,
    DirectoryBusyError,
    InputError,
    NotFoundError,
    SchoolsyncError,
)
from schoolsync.store import access, views
from schoolsync.store.access import Access
from schoolsync.store.db import Store
from schoolsync.troubleshoot import troubleshoot_group, troubleshoot_signature
from schoolsync.web import auth, i18n
from schoolsync.web.audit import AuditTrail

PAGE = 50  # rows per page of a list
# What a teacher's signature looks like: a search for anything else asks for no signature (the
# lessons' teachers are read by a scan).
_SIGNATURE = re.compile(r"[^\W_]{2,10}")
_ID = r"^[A-Za-z0-9_.:-]{1,200}$"
Id = Annotated[str, FastPath(pattern=_ID)]
RunId = Annotated[int, FastPath(ge=1, le=2**31 - 1)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


class SignInNeeded(Exception):
    """The request has no valid session: to the sign-in page."""


def viewer(request: Request) -> Access:
    """The signed-in user's access; to the sign-in page without a valid session (one whose
    user is gone, disabled, or has a new password since is emptied)."""
    state = request.app.state
    found = auth.signed_in(request, state.clock())
    who = access.user_access(state.store, access.Session(*found)) if found else None
    if who is None:
        if found:
            auth.end(request)
        raise SignInNeeded
    return who


Viewer = Annotated[Access, Depends(viewer)]
SchoolId = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{0,200}$")]
Role = Annotated[str | None, Form(pattern=r"^(student|teacher|staff|guardian)?$")]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("schoolsync.web", "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(number=i18n.number, when=i18n.when, day=i18n.day)
    env.globals.update(LANGUAGES=i18n.LANGUAGES, KINDS=KINDS)
    return env


templates = Jinja2Templates(env=_environment())


def language_of(request: Request) -> str:
    """The session's language (Swedish unless English was chosen)."""
    lang = request.session.get("lang")
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT


def render(
    request: Request,
    name: str,
    viewer: Access | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page in the session's language (outside the session middleware, an unforeseen
    failure's page: Swedish, without a form token)."""
    session = "session" in request.scope
    lang = language_of(request) if session else i18n.DEFAULT
    i18n.language.set(lang)
    return templates.TemplateResponse(
        request,
        name,
        {
            "viewer": viewer,
            "lang": lang,
            "csrf": auth.csrf_token(request) if session else "",
            "path": request.url.path,
            **context,
        },
        status_code=status_code,
    )


def problem(request: Request, status: int, message: str) -> HTMLResponse:
    """A refusal as a page, in the session's language (the session may be gone: no menu)."""
    return render(request, "error.html", None, status, message=message)


def unavailable(request: Request) -> HTMLResponse:
    """The directory could not be read just now."""
    response = render(request, "error.html", None, 503, message="unavailable")
    response.headers["Retry-After"] = "30"
    return response


def to_sign_in(request: Request, _exc: SignInNeeded) -> Response:
    """To the sign-in page, coming back here afterwards (a page; after a form, the overview:
    the form is not sent again). htmx: the whole page goes."""
    back = request.url.path if request.method == "GET" else "/"
    target = "/login?next=" + quote(back, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _safe_next(path: str | None) -> str:
    """A place on this site to go after sign-in (never another site)."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _pages(total: int, page: int) -> dict[str, int]:
    last = max(1, -(-total // PAGE))
    return {"page": min(page, last), "last": last, "total": total}


def router(
    store: Store,
    settings: Settings,
    today: Callable[[], date],
    settings_file: Path | None,
    clock: Callable[[], float],
    throttle: auth.Throttle,
    trail: AuditTrail,
) -> APIRouter:
    """The web interface's routes."""
    ui = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
    lead = settings.sync.visibility_lead_days

    def checked(request: Request, csrf: str | None) -> None:
        if not auth.csrf_ok(request, csrf):
            raise Refused(403, "csrf")

    def not_found(request: Request, who: Access) -> HTMLResponse:
        return render(request, "error.html", who, 404, message="not-found")

    # -- signing in and out, language --------------------------------------------------------

    @ui.get("/login")
    def login_page(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, "login.html", None, next=_safe_next(next))

    @ui.post("/login", response_model=None)
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
        csrf: Annotated[str | None, Form()] = None,
        next: Annotated[str | None, Form()] = None,
    ) -> Response:
        target = _safe_next(next)
        if not auth.csrf_ok(request, csrf):
            return render(request, "login.html", None, 403, next=target, problem="csrf")
        address = _address(request)
        wait = throttle.attempt(username, address)
        if wait:
            return render(
                request, "login.html", None, 429, next=target, problem="throttled",
                minutes=-(-wait // 60),
            )  # fmt: skip
        session = access.authenticate(store, username, password)
        if session is None:
            return render(request, "login.html", None, 401, next=target, problem="wrong")
        throttle.succeeded(username, address)
        auth.begin(request, session.username, session.epoch, clock())
        return RedirectResponse(target, status_code=303)

    @ui.post("/logout")
    def logout(request: Request, csrf: Annotated[str | None, Form()] = None) -> RedirectResponse:
        checked(request, csrf)
        found = auth.signed_in(request, clock())
        auth.end(request)  # signed out in this browser, whatever else happens
        if found is not None:  # a copy of the cookie is worth nothing from now on
            with contextlib.suppress(SchoolsyncError):  # busy: this browser's session ended
                access.end_sessions(store, *found)
        return RedirectResponse("/login", status_code=303)

    @ui.post("/language")
    def language(
        request: Request,
        lang: Annotated[str, Form()],
        csrf: Annotated[str | None, Form()] = None,
        next: Annotated[str | None, Form()] = None,
    ) -> RedirectResponse:
        checked(request, csrf)
        if lang in i18n.LANGUAGES:
            request.session["lang"] = lang
        return RedirectResponse(_safe_next(next), status_code=303)

    # -- Översikt and Körningar ----------------------------------------------------------------

    @ui.get("/")
    def overview(request: Request, who: Viewer) -> HTMLResponse:
        with store.connect() as conn:
            view = views.overview(conn, who.schools, today())
        return render(request, "overview.html", who, view=view)

    @ui.get("/runs")
    def runs(
        request: Request,
        who: Viewer,
        kind: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
        status: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
        page: PageNo = 1,
    ) -> HTMLResponse:
        with store.connect() as conn:
            rows, total = views.runs_list(conn, PAGE, (page - 1) * PAGE, kind, status)
        return render(
            request, "runs.html", who, runs=rows, pages=_pages(total, page), kind=kind,
            status=status,
        )  # fmt: skip

    @ui.get("/runs/{run_id}")
    def run(request: Request, who: Viewer, run_id: RunId, log: PageNo = 1) -> HTMLResponse:
        try:
            with store.connect() as conn:
                view = views.run_page(conn, run_id, who.schools, today(), (log - 1) * PAGE, PAGE)
        except NotFoundError:
            return not_found(request, who)
        fragment = request.headers.get("hx-target") == "change-log"
        return render(
            request, "change_log.html" if fragment else "run.html", who, view=view,
            log_pages=_pages(view["log_total"], log),
        )  # fmt: skip

    @ui.post("/runs/{run_id}/approve", response_model=None)
    def approve_run(
        request: Request,
        who: Viewer,
        run_id: RunId,
        csrf: Annotated[str | None, Form()] = None,
    ) -> Response:
        checked(request, csrf)
        if not who.may_approve:
            raise Refused(403, "approve")
        try:
            result = approve(store, run_id, settings, today(), actor=who.actor)
        except NotFoundError:
            return not_found(request, who)
        except (ConflictError, ConfigError, InputError, DirectoryBusyError) as exc:
            with store.connect() as conn:
                view = views.run_page(conn, run_id, who.schools, today(), 0, PAGE)
            return render(
                request, "run.html", who, 409, view=view,
                log_pages=_pages(view["log_total"], 1), refused=exc.message,
            )  # fmt: skip
        trail.record(who.actor, "run-approved", str(run_id), _address(request), strict=True)
        return RedirectResponse(f"/runs/{result.run_id}", status_code=303)

    # -- Felsökning ------------------------------------------------------------------------------

    @ui.get("/troubleshoot")
    def troubleshoot_page(request: Request, who: Viewer) -> HTMLResponse:
        return render(request, "troubleshoot.html", who, query="")

    @ui.post("/troubleshoot")
    def troubleshoot(
        request: Request,
        who: Viewer,
        q: Annotated[str, Form(max_length=200)],
        csrf: Annotated[str | None, Form()] = None,
    ) -> HTMLResponse:
        checked(request, csrf)
        query = q.strip()
        if not query:
            return render(request, "troubleshoot.html", who, query="")
        with store.connect() as conn:
            group = troubleshoot_group(conn, query, today(), lead, who.schools)
            signature = (  # what cannot be a signature is not looked up as one
                troubleshoot_signature(conn, query, today(), who.schools)
                if _SIGNATURE.fullmatch(query)
                else {"found": [], "lessons": [], "near": [], "others": [], "issues": []}
            )
            persons, total = views.persons_list(
                conn, who.schools, today(), query, None, 0, 20, count=False
            )
            for view in (group, signature):
                view["issues"] = views.issues_within(conn, view["issues"], who.schools)
        return render(
            request, "troubleshoot.html", who, query=query, group=group, signature=signature,
            persons=persons, persons_total=total, how_near=how_near,
        )  # fmt: skip

    # -- schools, classes, groups ----------------------------------------------------------------

    @ui.get("/schools")
    def schools(request: Request, who: Viewer) -> HTMLResponse:
        with store.connect() as conn:
            rows = views.schools_list(conn, who.schools, today())
        return render(request, "schools.html", who, schools=rows)

    @ui.get("/schools/{school_id}/report")
    def school_report(request: Request, who: Viewer, school_id: Id) -> HTMLResponse:
        """What the school's people must fix (``schoolsync report``), by who fixes it."""
        if who.schools is not None and school_id not in who.schools:
            return not_found(request, who)
        try:
            found = report.build(store, school_id, by_id=True)
        except NotFoundError:
            return not_found(request, who)
        parts = [(who_fixes, [x for x in found.items if x.who == who_fixes])
                 for who_fixes in (report.SCHEDULE, report.REGISTER, report.ADMIN)]  # fmt: skip
        return render(request, "report.html", who, report=found,
                      parts=[(k, items) for k, items in parts if items])  # fmt: skip

    def group_list(
        request: Request, who: Access, kinds: tuple[str, ...], q: str, school: str | None,
        page: int,
    ) -> HTMLResponse:  # fmt: skip
        with store.connect() as conn:
            names = views.school_names(conn, who.schools)
            rows, total = views.groups_list(
                conn, who.schools, kinds, today(), q.strip(), school, (page - 1) * PAGE, PAGE
            )
        fragment = request.headers.get("hx-target") == "results"
        return render(
            request, "groups_results.html" if fragment else "groups.html", who, rows=rows,
            pages=_pages(total, page), q=q, school=school, school_names=names,
            listing="classes" if kinds == ("class",) else "groups",
        )  # fmt: skip

    Kinds = {"classes": ("class",), "groups": ("group", "mentor", "other")}

    @ui.get("/classes")
    def classes(
        request: Request, who: Viewer, school: SchoolId = None, page: PageNo = 1
    ) -> HTMLResponse:
        return group_list(request, who, Kinds["classes"], "", school or None, page)

    @ui.get("/groups")
    def groups(
        request: Request, who: Viewer, school: SchoolId = None, page: PageNo = 1
    ) -> HTMLResponse:
        return group_list(request, who, Kinds["groups"], "", school or None, page)

    def search_groups(listing: str) -> Callable[..., HTMLResponse]:
        def search(
            request: Request,
            who: Viewer,
            q: Annotated[str, Form(max_length=200)] = "",
            school: Annotated[str, Form(pattern=r"^[A-Za-z0-9_.:-]{0,200}$")] = "",
            page: Annotated[int, Form(ge=1, le=100_000)] = 1,
            csrf: Annotated[str | None, Form()] = None,
        ) -> HTMLResponse:
            """A search by name is POSTed: a mentor group may be named after its mentor."""
            checked(request, csrf)
            return group_list(request, who, Kinds[listing], q, school or None, page)

        return search

    for listing in Kinds:
        ui.add_api_route(f"/{listing}", search_groups(listing), methods=["POST"])

    @ui.get("/groups/{group_id}")
    def group(request: Request, who: Viewer, group_id: Id) -> HTMLResponse:
        with store.connect() as conn:
            name = views.group_name(conn, who.schools, group_id)
            if name is None:
                return not_found(request, who)
            view = troubleshoot_group(conn, name, today(), lead, who.schools, only=group_id)
            view["issues"] = views.issues_within(conn, view["issues"], who.schools)
        return render(request, "group.html", who, view=view, how_near=how_near)

    # -- persons -------------------------------------------------------------------------------

    def person_list(
        request: Request, who: Access, q: str, role: str | None, page: int
    ) -> HTMLResponse:
        with store.connect() as conn:
            rows, total = views.persons_list(
                conn, who.schools, today(), q.strip(), role or None, (page - 1) * PAGE, PAGE
            )
        fragment = request.headers.get("hx-target") == "results"
        return render(
            request, "persons_results.html" if fragment else "persons.html", who, rows=rows,
            pages=_pages(total, page), q=q, role=role or "",
        )  # fmt: skip

    @ui.get("/persons")
    def persons_page(request: Request, who: Viewer) -> HTMLResponse:
        return person_list(request, who, "", None, 1)

    @ui.post("/persons")
    def persons(
        request: Request,
        who: Viewer,
        q: Annotated[str, Form(max_length=200)] = "",
        role: Role = None,
        page: Annotated[int, Form(ge=1, le=100_000)] = 1,
        csrf: Annotated[str | None, Form()] = None,
    ) -> HTMLResponse:
        checked(request, csrf)
        return person_list(request, who, q, role, page)

    def person_page(
        request: Request, who: Access, user_id: str, shown: str | None = None
    ) -> HTMLResponse:
        with store.connect() as conn:
            view = views.person(conn, who.schools, user_id, today())
        if view is None:
            return not_found(request, who)
        if shown is None:
            trail.record(who.actor, "person-viewed", user_id, _address(request))
        return render(request, "person.html", who, person=view, shown=shown)

    @ui.get("/persons/{user_id}")
    def person(request: Request, who: Viewer, user_id: Id) -> HTMLResponse:
        return person_page(request, who, user_id)

    @ui.post("/persons/{user_id}/civic-no")
    def reveal(
        request: Request, who: Viewer, user_id: Id, csrf: Annotated[str | None, Form()] = None
    ) -> HTMLResponse:
        checked(request, csrf)
        if not who.may_see_civic_no:
            raise Refused(403, "civic-no")
        with store.connect() as conn:
            number = views.civic_no(conn, who.schools, user_id)
        if number is None:
            return person_page(request, who, user_id)  # not there, or protected: never shown
        trail.record(who.actor, "civic-no-shown", user_id, _address(request), strict=True)
        return person_page(request, who, user_id, shown=number)

    # -- settings and the audit log --------------------------------------------------------------

    @ui.get("/settings")
    def settings_page(request: Request, who: Viewer) -> HTMLResponse:
        with store.connect() as conn:
            names = views.school_names(conn, who.schools)
        mine = set(names.values()) if who.schools is not None else None
        return render(
            request, "settings.html", who, rows=settings_rows(settings, settings_file, mine),
            settings_file=str(settings_file) if settings_file else None,
            database=store.display if who.schools is None else None,
        )  # fmt: skip

    @ui.get("/audit")
    def audit(
        request: Request, who: Viewer, before: Annotated[int | None, Query(ge=1)] = None
    ) -> HTMLResponse:
        if who.schools is not None or who.role != "org-admin":
            raise Refused(403, "audit")
        entries = access.audit_page(store, PAGE + 1, before)
        more = len(entries) > PAGE
        return render(
            request, "audit.html", who, entries=entries[:PAGE],
            before=entries[PAGE - 1]["id"] if more else None,
        )  # fmt: skip

    return ui


class Refused(Exception):
    """A request the viewer may not make (403), said on a page."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


def settings_rows(
    settings: Settings, settings_file: Path | None, schools: set[str] | None
) -> list[dict[str, str]]:
    """Every effective setting, with where its value came from (the file or the default);
    secrets are named by where they are read from, never shown. ``schools``: a school-admin's
    school names (the per-school entries of other schools are left out)."""
    rows: list[dict[str, str]] = []

    def row(key: str, value: Any, origin: str) -> None:
        text = json.dumps(value, ensure_ascii=False, default=str)
        rows.append({"key": key, "value": text, "origin": origin})

    def walk(model: BaseModel, prefix: str) -> None:
        for name in type(model).model_fields:
            value = getattr(model, name)
            key = f"{prefix}{name}"
            origin = "file" if name in model.model_fields_set else "default"
            if isinstance(value, BaseModel):
                walk(value, f"{key}.")
            elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
                for item in value:  # [[schools]]
                    if schools is None or getattr(item, "name", None) in schools:
                        walk(item, f"{key}[{getattr(item, 'name', '')}].")
            elif (
                isinstance(value, dict)
                and value
                and all(isinstance(v, BaseModel) for v in value.values())
            ):
                for school, item in value.items():  # [locks.schools."NAME"]
                    if schools is None or school in schools:
                        walk(item, f"{key}.{school}.")
            else:
                row(key, value, origin)

    walk(settings, "")
    return rows


def refused_page(request: Request, exc: Refused) -> HTMLResponse:
    """A refusal as a page."""
    return render(request, "error.html", None, exc.status, message=exc.why)
