"""Scheduled runs (issue 13): the jobs fire at their cron times in Swedish time, a run missed
while the service was down runs once at start, and a week of nights with a fake clock: each night
one sync of the changing export, notices only for the nights that need a person."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schoolsync.domain.settings import JobSetting, Settings
from schoolsync.schedule import Scheduler, fire_times, last_fire
from schoolsync.store.db import Store
from tests.cli.conftest import Inbox
from tests.conftest import invoke

STOCKHOLM = ZoneInfo("Europe/Stockholm")
NIGHTLY = JobSetting(name="register", sources=["x"], cron="30 2 * * *")


def test_jobs_fire_at_their_cron_times_in_swedish_time_across_a_clock_change() -> None:
    # Summer time ends on 26 October 2025 at 03:00: that night 02:30 comes twice and runs once
    # (the first, 00:30 UTC, as cron does); after it 02:30 is 01:30 UTC.
    start = datetime(2025, 10, 24, 12, tzinfo=UTC)
    times = list(fire_times(NIGHTLY, STOCKHOLM, start, start + timedelta(days=4)))
    assert [t.astimezone(UTC).strftime("%d %H:%M") for t in times] == [
        "25 00:30", "26 00:30", "27 01:30", "28 01:30"
    ]  # fmt: skip
    weekdays = JobSetting(name="schedules", sources=["x"], cron="45 2 * * 1-5")
    week = list(fire_times(weekdays, STOCKHOLM, start, start + timedelta(days=7)))
    assert [t.astimezone(STOCKHOLM).strftime("%a") for t in week] == [
        "Mon", "Tue", "Wed", "Thu", "Fri"
    ]  # fmt: skip
    assert last_fire(NIGHTLY, STOCKHOLM, datetime(2025, 10, 27, 9, tzinfo=UTC)) == datetime(
        2025, 10, 27, 2, 30, tzinfo=STOCKHOLM
    )


class FakeClock:
    """The time, moved on by waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.waits: list[float] = []
        self.on_wait: list[Any] = []

    def __call__(self) -> datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += timedelta(seconds=seconds)
        for hook in self.on_wait:
            hook(self.now)
        return False


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[Store]:
    store = Store(f"sqlite:///{tmp_path / 'directory.db'}")
    store.migrate()
    yield store
    store.dispose()


def test_a_run_missed_while_the_service_was_down_runs_once_at_start(directory: Store) -> None:
    settings = Settings(jobs=[NIGHTLY])
    ran: list[date] = []

    def runner(job: JobSetting, today: date) -> dict[str, Any]:
        ran.append(today)
        return {"status": "applied", "run_id": None, "issues": [], "changes": {}}

    clock = FakeClock(datetime(2025, 10, 13, 1, 0, tzinfo=UTC))  # Monday 03:00 in Stockholm
    first = Scheduler(directory, settings, clock=clock, wait=clock.wait, runner=runner)
    assert [o.job for o in first.catch_up()] == ["register"]  # never ran: runs once
    assert first.catch_up() == []  # and not again
    clock.now += timedelta(days=3)  # the service was down for three nights
    again = Scheduler(directory, settings, clock=clock, wait=clock.wait, runner=runner)
    assert len(again.catch_up()) == 1  # the missed nights are one run, not three
    assert ran == [date(2025, 10, 13), date(2025, 10, 16)]
    off = Settings(jobs=[NIGHTLY], schedule={"catch_up": False})  # type: ignore[arg-type]
    clock.now += timedelta(days=1)
    assert Scheduler(directory, off, clock=clock, wait=clock.wait, runner=runner).catch_up() == []


def test_a_week_of_nights_syncs_each_night_and_tells_only_what_needs_a_person(
    directory: Store, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    bundle = tmp_path / "kommun"
    size = os.environ.get("SCHOOLSYNC_SCHEDULE_TEST_SIZE", "tiny")  # medium: 28,000 persons
    made = invoke("--today", "2025-10-13", "generate", "--size", size, "--out", str(bundle))
    assert made.code == 0, made.err
    duties = (bundle / "duties.json").read_bytes()
    settings = Settings.model_validate({
        "jobs": [{"name": "register", "sources": [str(bundle)], "cron": "30 2 * * *"}],
        "notify": {"base_url": "https://schoolsync.kommun.invalid",
                   "email": {"host": "127.0.0.1", "port": port, "starttls": False,
                             "recipients": ["it@kommun.invalid"]}},
    })  # fmt: skip
    clock = FakeClock(datetime(2025, 10, 13, 10, 0, tzinfo=UTC))  # Monday noon; none ran
    # Wednesday's export lost its duties (a failed export: the run is held); Thursday's is whole
    # again; on Saturday a student is renamed (a change, no issue: quiet).

    def export_of_the_night(now: datetime) -> None:
        day = now.astimezone(STOCKHOLM).date()
        (bundle / "duties.json").unlink(missing_ok=True)
        if day != date(2025, 10, 15):
            (bundle / "duties.json").write_bytes(duties)
        if day == date(2025, 10, 18):
            page = next((bundle / "persons").glob("*.json"))
            text = page.read_text("utf-8")
            page.write_text(text.replace('"familyName": "', '"familyName": "Ny', 1), "utf-8")

    clock.on_wait.append(export_of_the_night)
    scheduler = Scheduler(directory, settings, clock=clock, wait=clock.wait)
    scheduler.loop(until=datetime(2025, 10, 20, 10, 0, tzinfo=UTC))
    outcomes = scheduler.outcomes
    # Monday's catch-up, then every night at 02:30 Tuesday to Monday.
    assert [o.started.astimezone(STOCKHOLM).strftime("%a %H:%M") for o in outcomes] == [
        "Mon 12:00", "Tue 02:30", "Wed 02:30", "Thu 02:30", "Fri 02:30", "Sat 02:30",
        "Sun 02:30", "Mon 02:30",
    ]  # fmt: skip
    assert [o.status for o in outcomes] == ["applied", "applied", "held"] + ["applied"] * 5
    told = [o.notice for o in outcomes]
    assert told[0] and "new issue" in told[0]  # the first read: its issues are all new
    assert told[2] and "was held" in told[2]
    assert [n for i, n in enumerate(told) if i not in (0, 2)] == [None] * 6  # quiet nights
    assert [m[1]["Subject"] for m in inbox.messages] == [told[0], told[2]]
    assert "https://schoolsync.kommun.invalid/runs/3" in inbox.messages[1][1].get_payload()
    saturday = outcomes[5]
    shown = invoke("--db", str(directory.url), "runs", "show", str(saturday.run_id), "--json")
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["changes"]["users"]["updated"] == 1  # the rename, quietly
    # The clock was never waited on for longer than to the next night.
    assert max(clock.waits) <= 24 * 3600
    shutil.rmtree(bundle)


def test_a_weekly_digest_says_all_is_well_after_seven_quiet_days(
    directory: Store, tmp_path: Path, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    bundle = tmp_path / "kommun"
    made = invoke("--today", "2025-10-13", "generate", "--size", "tiny", "--out", str(bundle),
                  "--no-faults")  # fmt: skip
    assert made.code == 0, made.err
    settings = Settings.model_validate({
        "jobs": [{"name": "register", "sources": [str(bundle)], "cron": "30 2 * * *"}],
        "notify": {"digest": "weekly", "base_url": "https://schoolsync.kommun.invalid",
                   "email": {"host": "127.0.0.1", "port": port, "starttls": False,
                             "recipients": ["it@kommun.invalid"]}},
    })  # fmt: skip
    clock = FakeClock(datetime(2025, 10, 13, 10, 0, tzinfo=UTC))
    scheduler = Scheduler(directory, settings, clock=clock, wait=clock.wait)
    scheduler.loop(until=datetime(2025, 10, 24, 10, 0, tzinfo=UTC))
    assert all(o.notice is None for o in scheduler.outcomes)  # a clean register: quiet nights
    subjects = [m[1]["Subject"] for m in inbox.messages]
    assert len(subjects) == 1 and "all is well (" in subjects[0], subjects
    assert "run(s) since 2025-10-13, none needed a person" in subjects[0]
    assert "https://schoolsync.kommun.invalid/runs" in inbox.messages[0][1].get_payload()


def test_serve_runs_the_jobs_and_catches_up_a_missed_night_at_start(tmp_path: Path) -> None:
    """The real service: started with a job that has never run, it runs it at once."""
    import subprocess
    import sys
    import time

    bundle = tmp_path / "kommun"
    assert (
        invoke("--today", "2025-10-13", "generate", "--size", "tiny", "--out", str(bundle)).code
        == 0
    )
    settings = tmp_path / "schoolsync.toml"
    settings.write_text(f'[[jobs]]\nname = "register"\nsources = ["{bundle}"]\n'
                        'cron = "30 2 * * *"\n', "utf-8")  # fmt: skip
    url = f"sqlite:///{tmp_path / 'directory.db'}"
    assert invoke("--db", url, "init").code == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "schoolsync", "--db", url, "--config", str(settings), "serve",
           "--port", str(port)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        store = Store(url)
        try:
            for _ in range(300):
                with store.connect() as conn:
                    import sqlalchemy as sa

                    rows = conn.execute(
                        sa.text(
                            "SELECT name, last_status FROM scheduled_jobs WHERE name = 'register'"
                        )
                    ).all()
                if rows:
                    break
                time.sleep(0.1)
        finally:
            store.dispose()
        assert [tuple(r) for r in rows] == [("register", "applied")]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=15)
    assert "Running the jobs register (30 2 * * *), Europe/Stockholm time." in err
    assert "job register: run 1 applied" in err  # the service's log, at info


def local_times(cron: str, start: datetime, days: int) -> list[str]:
    job = JobSetting(name="j", sources=["x"], cron=cron)
    return [t.astimezone(STOCKHOLM).strftime("%m-%d %a %H:%M%z")
            for t in fire_times(job, STOCKHOLM, start, start + timedelta(days=days))]  # fmt: skip


def test_cron_lines_fire_as_crontab_says() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    # Weekday names and a range through Sunday; crontab's OR of a day and a weekday.
    assert [t[6:9] for t in local_times("0 3 * * sun-tue", start, 7)] == ["Sun", "Mon", "Tue"]
    both = local_times("0 3 1 * 1", start, 40)
    assert [t[:5] for t in both] == ["01-01", "01-05", "01-12", "01-19", "01-26", "02-01",
                                     "02-02", "02-09"]  # fmt: skip
    # The night summer time ends (25 October 2026): after the repeated hour, every time runs.
    night = datetime(2026, 10, 24, 22, tzinfo=UTC)
    assert local_times("30 2,3 * * *", night, 1.5)[:3] == [
        "10-25 Sun 02:30+0200", "10-25 Sun 03:30+0100", "10-26 Mon 02:30+0100"
    ]  # fmt: skip
    assert len(local_times("*/20 2-3 * * *", night, 0.4)) == 6  # 02:00 … 03:40, 02:xx once
    with pytest.raises(ValueError, match="not a weekday range"):
        local_times("0 3 * * fri-mon", start, 1)


def test_a_line_that_cannot_be_read_stops_the_start_and_a_long_run_is_no_backlog(
    directory: Store,
) -> None:
    from schoolsync.errors import ConfigError

    bad = Settings(jobs=[JobSetting(name="x", sources=["x"], cron="0 3 * * fri-mon")])
    with pytest.raises(ConfigError, match="cannot be read"):
        Scheduler(directory, bad)
    every = JobSetting(name="often", sources=["x"], cron="*/15 * * * *")
    clock = FakeClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    starts: list[datetime] = []

    def slow(job: JobSetting, today: date) -> dict[str, Any]:
        starts.append(clock.now)
        clock.now += timedelta(hours=1)  # each run takes an hour
        return {"status": "applied", "run_id": None, "issues": [], "changes": {}}

    scheduler = Scheduler(directory, Settings(jobs=[every]), clock=clock, wait=clock.wait,
                          runner=slow)  # fmt: skip
    scheduler.loop(until=datetime(2026, 1, 5, 12, 0, tzinfo=UTC))
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert len(starts) <= 5 and all(g >= timedelta(hours=1) for g in gaps), starts
