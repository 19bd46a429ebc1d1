"""The ``[[jobs]]`` that ``schoolsync serve`` runs on a schedule, one at a time.

Each job is a sync of its sources at the times its cron line names, in ``[schedule] timezone``
(APScheduler's cron triggers compute the times). Jobs run one after another in one thread of the
service, each under the directory's run lock like any sync (a CLI run that holds it is waited
for). When the service starts, a job whose last fire time passed while it was down (or that
never ran) runs once (``[schedule] catch_up``). After each run, ``[notify]`` is told what the run
calls for, as ``sync --notify`` does. Each job's last start, run and outcome are kept in the
directory (``scheduled_jobs``).

The clock and the waiting are the scheduler's arguments, so a test runs a week of nights in
milliseconds.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from schoolsync import logs
from schoolsync.domain.settings import JobSetting, Settings
from schoolsync.errors import ConfigError, SchoolsyncError
from schoolsync.store import schema as t
from schoolsync.store.db import Store

Clock = Callable[[], datetime]
Wait = Callable[[float], bool]  # waits up to the seconds given; True: stop


_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def cron_weekdays(field: str) -> str:
    """A crontab weekday field in APScheduler's words: crontab counts from Sunday (0 and 7),
    APScheduler from Monday, so numbers become names (``1-5`` is ``mon,tue,wed,thu,fri``)."""
    if field.strip() in ("*", "?"):
        return "*"
    days: set[int] = set()
    for part in field.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            first, last = 0, 6
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = _day(a), _day(b)
            if first > last:
                raise ValueError(f"{body} is not a weekday range (Sunday is 0: sun-tue, 5-7)")
        else:
            first = last = _day(body)
            if step_text:
                last = 6
        days.update(d % 7 for d in range(first, last + 1, step))
    return ",".join(_DAYS[d] for d in sorted(days))


def _day(text: str) -> int:
    text = text.strip().lower()
    if text.isdigit():
        if int(text) > 7:
            raise ValueError(f"{text} is not a weekday (0-7, 0 and 7 are Sunday)")
        return int(text)
    if text[:3] in _DAYS:
        return _DAYS.index(text[:3])
    raise ValueError(f"{text!r} is not a weekday")


def triggers(job: JobSetting, zone: ZoneInfo) -> list[Any]:
    """The job's cron line as APScheduler triggers (crontab's weekdays, see
    :func:`cron_weekdays`). When both the day of the month and the weekday are given, crontab
    fires on either (``0 3 1 * 1``: the 1st, and every Monday): two triggers then.

    Raises:
        ValueError: When the line cannot be read.
    """
    minute, hour, day, month, weekday = job.cron.split()
    days = cron_weekdays(weekday)
    pairs = [(day, days)]
    if day not in ("*", "?") and days != "*":
        pairs = [(day, "*"), ("*", days)]
    return [
        CronTrigger(minute=minute, hour=hour, day=d, month=month, day_of_week=w, timezone=zone)
        for d, w in pairs
    ]


def next_fire(job: JobSetting, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The job's first fire time at or after ``after``.

    Around a clock change the triggers are helped: on the night summer time ends, the times of
    the repeated hour (02:00–02:59) run in its first pass only (as cron does), and a time a
    trigger gives before ``after`` (it can, in the repeated hour) is passed over. Times are
    compared in UTC: aware times of one zone compare by their wall clock in Python, which the
    repeated hour makes wrong.
    """
    start = after.astimezone(UTC)
    found: list[datetime] = []
    for cron in triggers(job, zone):
        moment = start
        for _ in range(48):
            nxt: datetime | None = cron.get_next_fire_time(None, moment.astimezone(zone))
            if nxt is None:
                break
            at = nxt.astimezone(UTC)
            # The second pass of the repeated hour (fold 1): its times ran in the first pass.
            repeated = at.astimezone(zone).fold == 1
            if at >= start and not repeated:
                found.append(at)
                break
            moment = max(moment, at) + timedelta(minutes=1)
    return min(found).astimezone(zone) if found else None


def fire_times(
    job: JobSetting, zone: ZoneInfo, after: datetime, until: datetime
) -> Iterator[datetime]:
    """The times the job fires after ``after`` up to ``until``."""
    moment = after
    while (nxt := next_fire(job, zone, moment)) is not None and nxt <= until:
        yield nxt
        moment = nxt.astimezone(UTC) + timedelta(seconds=1)  # UTC: see next_fire


def last_fire(job: JobSetting, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The job's last fire time at or before ``now`` (within the last 32 days)."""
    found = None
    for when in fire_times(job, zone, now - timedelta(days=32), now):
        found = when
    return found


@dataclass(frozen=True)
class Outcome:
    """A scheduled run: the job, when it began, the run and how it went."""

    job: str
    started: datetime
    run_id: int | None
    status: str  # applied | held | failed | planned
    notice: str | None  # the subject of the notice sent, if any


Runner = Callable[[JobSetting, date], dict[str, Any]]

# The rows of ``scheduled_jobs`` that are no job's: when a notice and a digest were last sent
# (a job's name cannot begin with a bracket).
NOTICE_SENT, DIGEST_SENT = "(notice)", "(digest)"


class Scheduler:
    """Runs the jobs at their times, one at a time, and tells ``[notify]``."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        clock: Clock | None = None,
        wait: Wait | None = None,
        runner: Runner | None = None,
    ) -> None:
        self.store, self.settings = store, settings
        self.zone = ZoneInfo(settings.schedule.timezone)
        for job in settings.jobs:  # a line that cannot be read stops the start, not a night
            try:
                triggers(job, self.zone)
            except ValueError as exc:
                raise ConfigError(
                    f"The job {job.name!r} has the cron line {job.cron!r}, which cannot be read: "
                    f"{exc}.",
                    'Write five fields: minute hour day month weekday, e.g. "30 2 * * 1-5".',
                ) from exc
        self.clock = clock or (lambda: datetime.now(UTC))
        self._stop = threading.Event()
        self.wait = wait or self._stop.wait
        self.runner = runner or self._sync
        self.outcomes: list[Outcome] = []

    # -- what ran when -------------------------------------------------------------------------

    def last_started(self) -> dict[str, datetime]:
        j = t.scheduled_jobs.c
        with self.store.connect() as conn:
            rows = conn.execute(sa.select(j.name, j.last_started_at)).all()
        return {name: at if at.tzinfo else at.replace(tzinfo=UTC) for name, at in rows}

    def _record(self, outcome: Outcome) -> None:
        j = t.scheduled_jobs.c
        values = {
            "last_started_at": outcome.started,
            "last_run_id": outcome.run_id,
            "last_status": outcome.status,
        }
        with self.store.transaction("recording a scheduled run") as conn:
            done = conn.execute(
                sa.update(t.scheduled_jobs).where(j.name == outcome.job).values(**values)
            )
            if done.rowcount == 0:
                conn.execute(sa.insert(t.scheduled_jobs).values(name=outcome.job, **values))

    # -- running -------------------------------------------------------------------------------

    def _sync(self, job: JobSetting, today: date) -> dict[str, Any]:
        from schoolsync.engine.run import sync
        from schoolsync.sources.detect import as_source

        sources = []
        for text in job.sources:
            matches = sorted(glob.glob(text)) if any(ch in text for ch in "*?[") else [text]
            sources += [as_source(m) for m in matches]
        if not sources:
            raise SchoolsyncError(
                f"The job {job.name!r} found no source: nothing matches {', '.join(job.sources)}.",
                "Check [[jobs]] sources.",
            )
        result = sync(self.store, sources, self.settings, today, wait=3600, full_read=job.full)
        return result.as_report()

    def run(self, job: JobSetting) -> Outcome:
        """Run one job now, record it and send its notice."""
        from schoolsync.notify import notify_run

        started = self.clock()
        today = started.astimezone(self.zone).date()
        try:
            report = self.runner(job, today)
        except Exception as exc:  # the service goes on: the next night is another run
            report = {"status": "failed", "error": type(exc).__name__, "issues": [], "run_id": None}
        try:
            notice, _failures = notify_run(self.store, self.settings.notify, report, job.name)
        except Exception:  # a notifier never stops the schedule
            notice = None
        run_id = int(report["run_id"]) if report.get("run_id") else None
        logs.event(
            f"job {job.name}: run {run_id} {report['status']}",
            job=job.name,
            run_id=run_id,
            status=report["status"],
            notice=notice.kind if notice else None,
        )
        outcome = Outcome(
            job.name, started, run_id, report["status"], notice.subject if notice else None
        )
        with contextlib.suppress(SchoolsyncError):  # out of reach: the run's notice said so
            self._record(outcome)
            if notice is not None:
                self._mark(NOTICE_SENT, started)
            self._maybe_digest(started)
        self.outcomes.append(outcome)
        return outcome

    def _mark(self, name: str, when: datetime) -> None:
        self._record(Outcome(name, when, None, "sent", None))

    def _maybe_digest(self, now: datetime) -> None:
        """``[notify] digest = "weekly"``: seven days without a notice (or a digest) send one
        "all is well" with the number of runs since."""
        if self.settings.notify.digest != "weekly":
            return
        from schoolsync.notify import Notice, deliver

        marks = self.last_started()
        since = max(
            (m for m in (marks.get(NOTICE_SENT), marks.get(DIGEST_SENT)) if m), default=None
        )
        if since is None:
            self._mark(DIGEST_SENT, now)  # the week begins
            return
        if now - since < timedelta(days=7):
            return
        r = t.runs.c
        with self.store.connect() as conn:
            runs = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.runs)
                .where(r.kind == "sync", r.started_at >= since)
            ).scalar_one()
        day = since.astimezone(self.zone).date().isoformat()
        subject = f"schoolsync: all is well ({runs} run(s) since {day}, none needed a person)"
        base = self.settings.notify.base_url
        link = f"{base.rstrip('/')}/runs" if base else None
        lines = (subject.removeprefix("schoolsync: ") + ".",)
        deliver(self.settings.notify, Notice("digest", subject, lines, None, link))
        self._mark(DIGEST_SENT, now)

    def catch_up(self) -> list[Outcome]:
        """Run once each job whose last fire time passed without a run (the service was down,
        or the job is new)."""
        if not self.settings.schedule.catch_up:
            return []
        now, last = self.clock(), self.last_started()
        out = []
        for job in self.settings.jobs:
            fired = last_fire(job, self.zone, now)
            never = job.name not in last  # a new job runs once at start, whatever its line
            if never or (fired is not None and last[job.name] < fired):
                out.append(self.run(job))
        return out

    def loop(self, until: datetime | None = None) -> None:
        """Catch up, then run the jobs at their times until stopped (or past ``until``). Fire
        times missed while a run went on are one run (the one that follows), not a backlog; a
        failure is logged and the schedule goes on."""
        self._guarded(self.catch_up)
        after = self.clock().astimezone(UTC)
        while until is None or after < until:
            upcoming = sorted(
                (when.astimezone(UTC), i, job)
                for i, job in enumerate(self.settings.jobs)
                if (when := next_fire(job, self.zone, after)) is not None
            )
            if not upcoming:
                return
            when = upcoming[0][0]
            if until is not None and when > until:
                return
            seconds = max(0.0, (when - self.clock()).total_seconds())
            if self.wait(seconds):
                return  # stopped
            for fire, _, job in upcoming:
                if fire == when:
                    self._guarded(functools.partial(self.run, job))
            after = max(when + timedelta(seconds=1), self.clock().astimezone(UTC))

    def _guarded(self, work: Callable[[], Any]) -> None:
        try:
            work()
        except Exception as exc:  # the schedule never stops on one night's failure
            logs.event(
                f"the schedule met {type(exc).__name__}; it goes on",
                logging.ERROR,
                error=type(exc).__name__,
            )

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.loop, name="schoolsync-schedule", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
