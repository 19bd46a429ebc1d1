"""The settings' model (``schoolsync.toml``): which units feed which school, and how the rules
behave. Checked with pydantic; every setting has a default. :mod:`schoolsync.settings` reads the
file.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolSetting(_Section):
    """One directory school fed by one or more register units (R4.2)."""

    name: str = Field(min_length=1, max_length=250)  # a school's name in the directory
    units: list[str] = Field(min_length=1)
    mentor_source: Literal["assignment", "none"] | None = None

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class SyncSettings(_Section):
    """The ``[sync]`` table."""

    departure_units: list[str] = Field(default_factory=list)
    visibility_lead_days: int = Field(default=15, ge=0, le=366)
    group_naming: Literal["register", "ted", "procapita"] = "register"
    procapita_template: str = "KLA.{class}_{subject}"
    mentor_source: Literal["assignment", "none"] = "assignment"
    protected_identity: Literal["exclude", "pseudonymise"] = "exclude"


class LockLimits(_Section):
    """Mass-change limits (R10): a run that ends more than BOTH the share and the count of a
    school's active users (or memberships) is held."""

    max_ended_users_percent: float | None = Field(default=None, ge=0, le=100)
    max_ended_users_count: int | None = Field(default=None, ge=0)
    max_ended_memberships_percent: float | None = Field(default=None, ge=0, le=100)
    max_ended_memberships_count: int | None = Field(default=None, ge=0)


class LockSettings(_Section):
    """The ``[locks]`` table (R10 safety locks), with per-school overrides by school name."""

    max_ended_users_percent: float = Field(default=10.0, ge=0, le=100)
    max_ended_users_count: int = Field(default=20, ge=0)
    max_ended_memberships_percent: float = Field(default=10.0, ge=0, le=100)
    max_ended_memberships_count: int = Field(default=50, ge=0)
    schools: dict[str, LockLimits] = Field(default_factory=dict)

    def limits(self, school: str) -> tuple[float, int, float, int]:
        """(users %, users count, memberships %, memberships count) for one school."""
        own = self.schools.get(school, LockLimits())

        def pick(name: str) -> Any:
            value = getattr(own, name)
            return getattr(self, name) if value is None else value

        return (
            pick("max_ended_users_percent"),
            pick("max_ended_users_count"),
            pick("max_ended_memberships_percent"),
            pick("max_ended_memberships_count"),
        )


class SourceSettings(_Section):
    """The ``[sources]`` table: limits on what is read."""

    max_file_mb: int = Field(default=4096, ge=1, le=1024 * 1024)

    @property
    def max_file_bytes(self) -> int:
        """The largest file read, in bytes."""
        return self.max_file_mb * 1024 * 1024


class ApiSettings(_Section):
    """The ``[ss12000]`` table: how a live SS 12000:2020 API is read (a SOURCE that is a URL).

    The client secret itself is never a setting: it is read from the environment variable
    ``client_secret_env`` names, or from the file ``client_secret_file`` names.
    """

    token_url: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    client_secret_file: str | None = None
    scope: str = ""
    token_auth: Literal["basic", "form"] = "basic"  # how the client id and secret are sent
    page_size: int = Field(default=500, ge=1, le=10_000)
    calendar_days_back: int = Field(default=7, ge=0, le=366)
    calendar_days_ahead: int = Field(default=60, ge=0, le=731)
    calendar_window_days: int = Field(default=7, ge=1, le=366)
    organisations: list[str] = Field(default_factory=list)  # school units to read; [] = all
    full_read_every_days: int = Field(default=7, ge=1, le=366)
    # An incremental read asks for what changed since the last read began, less this: clock
    # skew, and changes the provider commits late.
    overlap_minutes: int = Field(default=10, ge=0, le=24 * 60)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    max_attempts: int = Field(default=6, ge=1, le=50)  # per request, the first one included
    max_retry_wait_seconds: float = Field(default=120.0, ge=0, le=3600)

    @field_validator("token_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// address")
        return value


class RosteringSettings(_Section):
    """The ``[rostering]`` table: what the OneRoster and SDS exports give other platforms."""

    # The huvudman: OneRoster's and SDS's org of type district, above every school.
    organisation_name: str = Field(default="Huvudman", min_length=1, max_length=250)
    # A user's login (OneRoster username, SDS username): "email", "eppn" (the first
    # eduPersonPrincipalName), "external:CONTEXT" (the externalIdentifier of that context, e.g. an
    # Active Directory sAMAccountName) or "id" (the directory's id).
    username: str = "email"
    # Birth dates and sex: OneRoster demographics.csv, SDS demographics.csv. Off: not exported.
    demographics: bool = False

    @field_validator("username")
    @classmethod
    def _login(cls, value: str) -> str:
        if value in ("email", "eppn", "id") or (
            value.startswith("external:") and value.removeprefix("external:").strip()
        ):
            return value
        raise ValueError('must be "email", "eppn", "id" or "external:CONTEXT"')


_CRON_FIELD = r"[0-9A-Za-z*/,\-?LW#]+"


class JobSetting(_Section):
    """One ``[[jobs]]`` entry: what ``serve`` syncs, and when."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[^(\s]")
    sources: list[str] = Field(min_length=1)  # as ``sync SOURCE…`` takes them
    # A crontab line's five fields (minute hour day month weekday), in [schedule] timezone.
    cron: str
    full: bool = False  # an SS 12000 API read whole, not what changed (a weekly full read)

    @field_validator("cron")
    @classmethod
    def _crontab(cls, value: str) -> str:
        if not re.fullmatch(rf"\s*{_CRON_FIELD}(\s+{_CRON_FIELD}){{4}}\s*", value):
            raise ValueError(
                "must be a crontab line of five fields, minute hour day month weekday, such as "
                '"30 2 * * *" (every night at 02:30)'
            )
        return " ".join(value.split())


class ScheduleSettings(_Section):
    """The ``[schedule]`` table: how ``serve`` runs the ``[[jobs]]``."""

    timezone: str = "Europe/Stockholm"
    catch_up: bool = True  # a run missed while the service was down runs once at start

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError, "Europe" (a folder)
            raise ValueError(f"{value!r} is not a time zone (such as Europe/Stockholm)") from None
        return value


class EmailSettings(_Section):
    """``[notify.email]``: SMTP with STARTTLS (or implicit TLS on port 465)."""

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    sender: str | None = None
    recipients: list[str] = Field(default_factory=list)
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)

    @field_validator("recipients", "sender")
    @classmethod
    def _addresses(cls, value: Any) -> Any:
        for address in value if isinstance(value, list) else [value]:
            if address is not None and (not re.fullmatch(r"[^@\s]+@[^@\s]+", address)):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


class WebhookSettings(_Section):
    """``[notify.webhook]``: a JSON POST signed with HMAC-SHA256, retried."""

    url: str | None = None
    secret_env: str | None = None
    secret_file: str | None = None
    attempts: int = Field(default=5, ge=1, le=10)
    timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        loopback = ("http://127.0.0.1", "http://localhost", "http://[::1]")
        if value is not None and not (value.startswith("https://") or value.startswith(loopback)):
            raise ValueError("must be an https:// address (http:// only on this machine)")
        return value


Notice = Literal["held", "failed", "new-issues"]
NOTICES: tuple[Notice, ...] = ("held", "failed", "new-issues")


class NotifySettings(_Section):
    """``[notify]``: whom to tell when a run needs a person."""

    base_url: str | None = None  # the web interface, for links to runs
    on: list[Notice] = Field(default_factory=lambda: list(NOTICES))
    # "weekly": after seven days without a notice, one "all is well" (under serve's schedule).
    digest: Literal["never", "weekly"] = "never"
    email: EmailSettings = Field(default_factory=EmailSettings)
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)


class ReportSettings(_Section):
    """``[reports]``: who gets each school's report by e-mail (``report --school S --send``)."""

    recipients: dict[str, list[str]] = Field(default_factory=dict)  # school name: addresses


class RetentionSettings(_Section):
    """The ``[retention]`` table: how long the run history keeps its detail (``vacuum``)."""

    change_log_days: int = Field(default=400, ge=1, le=100 * 366)


class Settings(_Section):
    """All settings."""

    schools: list[SchoolSetting] = Field(default_factory=list)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    locks: LockSettings = Field(default_factory=LockSettings)
    sources: SourceSettings = Field(default_factory=SourceSettings)
    ss12000: ApiSettings = Field(default_factory=ApiSettings)
    rostering: RosteringSettings = Field(default_factory=RosteringSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    jobs: list[JobSetting] = Field(default_factory=list)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)

    @field_validator("jobs")
    @classmethod
    def _one_name_each(cls, jobs: list[JobSetting]) -> list[JobSetting]:
        names = [j.name for j in jobs]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"the job name {twice[0]!r} is used twice")
        return jobs

    @field_validator("schools")
    @classmethod
    def _unique(cls, schools: list[SchoolSetting]) -> list[SchoolSetting]:
        names: set[str] = set()
        units: set[str] = set()
        for school in schools:
            if school.name in names:
                raise ValueError(f"the school name {school.name!r} is used twice")
            names.add(school.name)
            for unit in school.units:
                key = unit.strip().lower()
                if key in units:
                    raise ValueError(f"the unit {unit!r} is given to two schools")
                units.add(key)
        return schools
