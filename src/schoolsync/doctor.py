"""``schoolsync doctor``: is everything in place for unattended runs? One check a line.

The checks, in order: the settings file (readable, known keys and values); the settings against
the directory (lock overrides, ``[[schools]]`` units and departure units that the last read does
not have); the database (reachable, migrated, writable, its size and the free space beside it);
each job's sources (a folder that is a complete bundle, a schedule file that can be read, an
SS 12000 API that gives a token and answers every endpoint a sync reads); the schedule (each
job's cron line, its next run); the notifiers (set up completely; with ``--send-test`` a test
e-mail and a test webhook). Nothing is changed: the write check is rolled back, and a directory
that needs an upgrade is reported, not upgraded.
"""

from __future__ import annotations

import glob
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from schoolsync.domain.settings import JobSetting, Settings
from schoolsync.errors import SchoolsyncError
from schoolsync.settings import load_settings
from schoolsync.store import schema as t
from schoolsync.store.db import Store

MIN_FREE_BYTES = 500 * 1024 * 1024  # and at least the database's size again (a bulk rewrite)
API_ENDPOINTS = ("organisations", "persons", "groups", "duties", "activities")


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: what was checked, whether it is fine, what to do."""

    area: str
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def run_checks(
    config: Path | None, db_url: str, today: date, *, send_test: bool = False
) -> list[Check]:
    """Every check; the settings-dependent ones are skipped (and said so) when the settings
    cannot be read."""
    checks: list[Check] = []
    try:
        settings = load_settings(config)
        where = str(config) if config else "schoolsync.toml (or the defaults)"
        checks.append(Check("settings", "file", True, f"{where}: read, every key known"))
    except SchoolsyncError as exc:
        checks.append(Check("settings", "file", False, exc.message, exc.hint))
        settings = None
    store = Store(db_url, migrate=False)
    try:
        db_ok = list(_database(store))
        checks += db_ok
        if settings is not None:
            if all(c.ok for c in db_ok):
                checks += _settings_against_directory(store, settings)
            for job in settings.jobs:
                checks += _sources(job, settings)
            checks += _schedule(settings)
            checks += _notifiers(settings, send_test)
    finally:
        store.dispose()
    return checks


# -- the database ------------------------------------------------------------------------------


def _database(store: Store) -> Iterator[Check]:
    try:
        revision = store.revision()
    except SchoolsyncError as exc:
        yield Check("database", "reachable", False, exc.message, exc.hint)
        return
    if revision is None:
        yield Check(
            "database",
            "reachable",
            False,
            f"There is no directory at {store.display}.",
            "Make one with: schoolsync init (or the first sync makes it).",
        )
        return
    yield Check("database", "reachable", True, store.display)
    head = store.head()
    if revision != head:
        yield Check(
            "database",
            "migrated",
            False,
            f"The directory is at schema revision {revision}; this schoolsync's is {head}.",
            "Upgrade it: schoolsync init (the next command upgrades it too).",
        )
        return
    yield Check("database", "migrated", True, f"schema revision {head}")
    try:
        with store.engine.connect() as conn, conn.begin() as tx:
            if store.is_sqlite:  # another writer: do not wait for it
                conn.exec_driver_sql("PRAGMA busy_timeout=1000")
            else:
                conn.exec_driver_sql("SET LOCAL lock_timeout = '1s'")
            conn.execute(sa.insert(t.service_keys).values(name="doctor-probe", value="-"))
            tx.rollback()
        yield Check("database", "writable", True, "a write was made and rolled back")
    except sa.exc.OperationalError as exc:
        busy = "locked" in str(exc).lower() or "lock timeout" in str(exc).lower()
        if busy:
            yield Check(
                "database",
                "writable",
                True,
                "a run is writing the directory just now; the write check was skipped",
            )
        else:
            yield Check(
                "database",
                "writable",
                False,
                f"The directory cannot be written: {type(exc.orig).__name__}.",
                "Check the database user's rights (or the SQLite file's and its folder's).",
            )
    except sa.exc.SQLAlchemyError as exc:
        yield Check(
            "database",
            "writable",
            False,
            f"The directory cannot be written: {type(getattr(exc, 'orig', None) or exc).__name__}.",
            "Check the database user's rights (or the SQLite file's and its folder's).",
        )
    path = store.sqlite_path
    if path is not None:
        size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
        free = shutil.disk_usage(path.parent).free
        enough = free >= max(MIN_FREE_BYTES, size)
        yield Check(
            "database",
            "space",
            enough,
            f"{_size(size)}, {_size(free)} free beside it",
            ""
            if enough
            else "Free some space: a big run needs at least the directory's "
            "size again (and 500 MB).",
        )
    else:
        with store.engine.connect() as conn:
            pg_size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
        yield Check(
            "database",
            "space",
            True,
            f"{_size(float(pg_size or 0))} (the server's free space is the server's to watch)",
        )


# -- the settings against the directory --------------------------------------------------------


def _key(unit: str) -> str:
    """A unit as the planner matches it: case and surrounding spaces aside."""
    return unit.strip().lower()


def _known_units(store: Store, settings: Settings) -> tuple[set[str], bool]:
    """The units the last read had (as :func:`_key` gives them): the directory's, those of the jobs'
    bundle folders and of the last applied sync's, and those an SS 12000 API's read left in its
    stored picture; and whether any of those besides the directory's (which holds no departure
    unit) could be read."""
    known: set[str] = set()
    complete = False
    folders: list[str] = []
    with store.connect() as conn:
        for register_id, code in conn.execute(
            sa.select(t.school_units.c.register_id, t.school_units.c.code)
        ):
            known.update(_key(x) for x in (register_id, code) if x)
        r = t.runs.c
        last = conn.execute(
            sa.select(r.sources)
            .where(r.kind == "sync", r.status == "applied")
            .order_by(r.id.desc())
            .limit(1)
        ).scalar()
        for source in last or []:
            if isinstance(source, dict) and source.get("path"):
                folders.append(str(source["path"]))
        rec = t.register_records.c
        for body in conn.execute(
            sa.select(rec.body).where(rec.endpoint == "organisations")
        ).scalars():
            known.update(_unit_keys(body))
            complete = True
    folders += [s for job in settings.jobs for s in job.sources]
    for folder in folders:
        orgs = Path(folder) / "organisations.json"
        if orgs.is_file():
            try:
                doc = json.loads(orgs.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            items = doc.get("data", []) if isinstance(doc, dict) else doc
            for item in items if isinstance(items, list) else []:
                known.update(_unit_keys(item))
                complete = True
    return known, complete


def _unit_keys(record: object) -> set[str]:
    if isinstance(record, str):
        try:
            record = json.loads(record)
        except ValueError:
            return set()
    if not isinstance(record, dict):
        return set()
    return {_key(str(v)) for v in (record.get("id"), record.get("schoolUnitCode")) if v}


def _settings_against_directory(store: Store, settings: Settings) -> list[Check]:
    found = list(_mismatches(store, settings))
    if found:
        return found
    return [
        Check(
            "settings",
            "against the directory",
            True,
            f"{len(settings.locks.schools)} lock override(s), {len(settings.schools)} "
            f"[[schools]], {len(settings.sync.departure_units)} departure unit(s) checked",
        )
    ]


def _mismatches(store: Store, settings: Settings) -> Iterator[Check]:
    with store.connect() as conn:
        schools = set(conn.execute(sa.select(t.schools.c.name)).scalars())
    if not schools:
        return  # nothing read yet: names and units cannot be checked against a read
    for name in settings.locks.schools:
        if name not in schools:
            yield Check(
                "settings",
                f'[locks.schools."{name}"]',
                False,
                f"The lock override names the school {name!r}, which the directory does "
                f"not have, so it applies to nothing.",
                "Write the school's name as `schoolsync export` shows it, or remove the override.",
            )
    known, complete = _known_units(store, settings)
    for school in settings.schools:
        missing = [u for u in school.units if _key(u) not in known]
        if missing:
            yield Check(
                "settings",
                f'[[schools]] "{school.name}"',
                False,
                f"Its unit(s) {', '.join(missing)} are not in the last read of the register.",
                "Check the skolenhetskod or id; a unit closed in the register can be "
                "removed from the setting.",
            )
    gone = [u for u in settings.sync.departure_units if _key(u) not in known]
    if gone and complete:
        yield Check(
            "settings",
            "[sync] departure_units",
            False,
            f"The departure unit(s) {', '.join(gone)} are not in the last read of the "
            f"register, so no enrolment there is taken as leaving.",
            "Check the codes with the register's administrator.",
        )


# -- the jobs' sources -------------------------------------------------------------------------


def _sources(job: JobSetting, settings: Settings) -> Iterator[Check]:
    from schoolsync.sources.ss12000.api import is_api_url

    for source in job.sources:
        name = f'job "{job.name}": {source}'
        if is_api_url(source):
            yield _api(name, source, settings)
            continue
        paths = sorted(glob.glob(source)) if any(ch in source for ch in "*?[") else [source]
        if not paths:
            yield Check(
                "source",
                name,
                False,
                "No file matches the pattern.",
                "Check the pattern and that the exports are written there.",
            )
            continue
        for text in paths:
            yield _path(f'job "{job.name}": {text}', Path(text))


def _path(name: str, path: Path) -> Check:
    if path.is_dir():
        if not (path / "organisations.json").is_file():
            return Check(
                "source",
                name,
                False,
                "The folder is not a complete SS 12000 bundle: it has no organisations.json.",
                "Point the job at the folder the export writes, once it is complete.",
            )
        has_persons = (path / "persons.json").is_file() or any((path / "persons").glob("*.json"))
        if not has_persons:
            return Check(
                "source",
                name,
                False,
                "The bundle has no persons (persons.json or persons/*.json).",
                "Export the register again.",
            )
        files = len(list(path.glob("*.json"))) + len(list((path / "persons").glob("*.json")))
        return Check("source", name, True, f"an SS 12000 bundle of {files} file(s)")
    if path.is_file():
        try:
            with path.open("rb") as f:
                f.read(1)
        except OSError as exc:
            return Check(
                "source",
                name,
                False,
                f"The file cannot be read: {exc.strerror}.",
                "Check that schoolsync may read it.",
            )
        return Check("source", name, True, f"a file of {_size(path.stat().st_size)}")
    return Check(
        "source",
        name,
        False,
        "There is no such file or folder.",
        "Check the path in [[jobs]] sources.",
    )


def _api(name: str, url: str, settings: Settings) -> Check:
    from schoolsync.sources.ss12000.api import ApiSession, client_secret

    try:
        session = ApiSession(url, settings.ss12000, client_secret(settings.ss12000))
    except SchoolsyncError as exc:
        return Check("source", name, False, exc.message, exc.hint)
    try:
        refused = []
        for endpoint in API_ENDPOINTS:
            answer = session.get(endpoint, [("limit", "1")])
            if answer.status_code in (401, 403):
                refused.append(f"{endpoint} ({answer.status_code})")
            elif answer.status_code in (404, 501):
                continue  # not offered: a sync leaves that kind out too
            elif answer.status_code >= 400:
                return Check(
                    "source",
                    name,
                    False,
                    f"GET {endpoint} answered {answer.status_code}.",
                    "Ask the provider whether the API is up.",
                )
    except SchoolsyncError as exc:
        return Check("source", name, False, exc.message, exc.hint)
    finally:
        session.close()
    if refused:
        return Check(
            "source",
            name,
            False,
            f"A token was given, but the API refuses {', '.join(refused)}: the client's "
            f"scopes do not cover what a sync reads.",
            f"Ask the provider to give the client read access to {', '.join(API_ENDPOINTS)}.",
        )
    return Check("source", name, True, f"a token, and {', '.join(API_ENDPOINTS)} answer")


# -- the schedule and the notifiers ------------------------------------------------------------


def _schedule(settings: Settings) -> Iterator[Check]:
    from schoolsync.schedule import next_fire

    try:
        zone = ZoneInfo(settings.schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        yield Check(
            "schedule",
            "[schedule] timezone",
            False,
            f"{settings.schedule.timezone!r} is not a time zone.",
            'Write one such as "Europe/Stockholm".',
        )
        return
    if not settings.jobs:
        yield Check("schedule", "[[jobs]]", True, "no jobs: serve runs no syncs of its own")
        return
    now = datetime.now(UTC)
    for job in settings.jobs:
        try:
            nxt = next_fire(job, zone, now)
        except ValueError as exc:
            yield Check(
                "schedule",
                f'job "{job.name}"',
                False,
                f"The cron line {job.cron!r} cannot be read: {exc}.",
                'Write five fields: minute hour day month weekday, e.g. "30 2 * * *".',
            )
            continue
        when = nxt.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z") if nxt else "never"
        yield Check(
            "schedule",
            f'job "{job.name}"',
            nxt is not None,
            f"{job.cron}: next {when}",
            "" if nxt else "The line never fires; check it.",
        )


def _notifiers(settings: Settings, send_test: bool) -> Iterator[Check]:
    from schoolsync.notify import Notice, email_ready, send_email, send_webhook

    n = settings.notify
    test = Notice(
        "test",
        "schoolsync: a test notice (schoolsync doctor --send-test)",
        ("This is a test notice from schoolsync doctor. Nothing needs doing.",),
    )
    email = n.email
    if email.host or email.recipients:
        if not email_ready(email):
            yield Check(
                "notify",
                "e-mail",
                False,
                "[notify.email] needs both host and recipients.",
                "Set the missing one, or remove [notify.email].",
            )
        elif (
            problem := _secret_problem(
                email.password_env, email.password_file, "[notify.email] password"
            )
        ) is not None:
            yield problem
        elif send_test:
            try:
                send_email(email, test)
                yield Check(
                    "notify",
                    "e-mail",
                    True,
                    f"a test e-mail went to {len(email.recipients)} recipient(s) through "
                    f"{email.host}:{email.port}",
                )
            except SchoolsyncError as exc:
                yield Check("notify", "e-mail", False, exc.message, exc.hint)
            except Exception as exc:  # the doctor reports, never crashes
                yield Check(
                    "notify",
                    "e-mail",
                    False,
                    f"The test e-mail failed ({type(exc).__name__}).",
                    "Check [notify.email].",
                )
        else:
            yield Check(
                "notify",
                "e-mail",
                True,
                f"{email.host}:{email.port}, {len(email.recipients)} recipient(s) (send a "
                f"test with --send-test)",
            )
    if n.webhook.url:
        problem = _secret_problem(
            n.webhook.secret_env, n.webhook.secret_file, "[notify.webhook] secret"
        )
        if problem is not None:
            yield problem
        elif send_test:
            try:
                tries = send_webhook(n.webhook, test)
                yield Check(
                    "notify", "webhook", True, f"a signed test notice was taken (attempt {tries})"
                )
            except SchoolsyncError as exc:
                yield Check("notify", "webhook", False, exc.message, exc.hint)
            except Exception as exc:  # the doctor reports, never crashes
                yield Check(
                    "notify",
                    "webhook",
                    False,
                    f"The test notice failed ({type(exc).__name__}).",
                    "Check [notify.webhook] url.",
                )
        else:
            ready = bool(n.webhook.secret_env or n.webhook.secret_file)
            yield Check(
                "notify",
                "webhook",
                ready,
                "a url and a shared secret" if ready else "a url but no shared secret.",
                "" if ready else "Set [notify.webhook] secret_env or secret_file.",
            )
    if not (email.host or email.recipients or n.webhook.url):
        yield Check(
            "notify",
            "notifiers",
            True,
            "none set up: held and failed runs are seen only in the web interface and "
            "`schoolsync runs`",
        )


def _secret_problem(env: str | None, file: str | None, what: str) -> Check | None:
    """A check that fails when a secret the settings name cannot be had (unset, unreadable)."""
    from schoolsync.notify import read_secret

    try:
        read_secret(env, file, what)
    except SchoolsyncError as exc:
        return Check("notify", what, False, exc.message, exc.hint)
    return None
