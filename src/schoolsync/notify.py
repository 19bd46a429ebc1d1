"""Telling a person when a run needs one: e-mail (SMTP with STARTTLS) and a signed webhook.

A notice is sent for a held run, a failed run, or issues that are new since the run before
(``[notify] on``); a quiet run sends nothing. A notice holds a short summary (the run, its
outcome, counts of changes and issues by code, the lock's sentence for a held run) and a link to
the run in the web interface (``[notify] base_url``). It never holds a personnummer or a name:
issue messages name persons, so a notice gives their codes and counts only, and the web
interface (signed in, by role) shows the rest. Protected persons are therefore never in one.

The webhook's body is JSON, signed with HMAC-SHA256 of the body under the shared secret, in the
header ``X-Schoolsync-Signature: sha256=<hex>``, with the time in ``X-Schoolsync-Timestamp``
(part of what is signed: ``<timestamp>.<body>``); it is retried with backoff on a network error
or a 5xx/429 answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from schoolsync.domain.settings import EmailSettings, NotifySettings, WebhookSettings
from schoolsync.errors import ConfigError, SchoolsyncError
from schoolsync.store import schema as t
from schoolsync.store.db import Store

SIGNATURE = "X-Schoolsync-Signature"
TIMESTAMP = "X-Schoolsync-Timestamp"
DELIVERY = "X-Schoolsync-Delivery"


class NotifyError(SchoolsyncError):
    """A notice could not be sent (the message says where and why; never a secret)."""


@dataclass(frozen=True)
class Notice:
    """What a run gives a person to act on."""

    kind: str  # held | failed | new-issues | digest | test
    subject: str
    lines: tuple[str, ...]
    run_id: int | None = None
    link: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def text(self) -> str:
        body = "\n".join(self.lines)
        return body + (f"\n\nSee the run: {self.link}\n" if self.link else "\n")

    def payload(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "run_id": self.run_id,
            "link": self.link,
            "summary": list(self.lines),
            **self.data,
        }


def run_link(settings: NotifySettings, run_id: int | None) -> str | None:
    if not settings.base_url or run_id is None:
        return None
    return f"{settings.base_url.rstrip('/')}/runs/{run_id}"


def notice_for(
    report: dict[str, Any],
    previous_issues: Sequence[tuple[str, str]],
    settings: NotifySettings,
    job: str = "",
) -> Notice | None:
    """The notice a run report calls for, or None for a quiet run.

    Args:
        report: The run report (``sync --json``'s shape).
        previous_issues: (code, subject) of the issues of the applied run before it; an issue
            whose code and subject are not among them is new.
        settings: ``[notify]``.
        job: The scheduled job's name, if any.
    """
    status = report["status"]
    run_id = int(report["run_id"]) if report.get("run_id") else None
    issues = report.get("issues", [])
    before = set(previous_issues)
    new = [i for i in issues if (i["code"], i["subject"]) not in before
           and i.get("severity") in ("error", "warning")]  # fmt: skip
    kind = (
        "held"
        if status == "held"
        else "failed"
        if status == "failed"
        else "new-issues"
        if new
        else None
    )
    if kind is None or kind not in settings.on:
        return None
    what = f"{job}: " if job else ""
    counts = Counter(i["code"] for i in (new if kind == "new-issues" else issues))
    severities = Counter(i["severity"] for i in issues)
    changes = sum(n for kinds in report.get("changes", {}).values() for n in kinds.values())
    subject = {
        "held": f"schoolsync: {what}run {run_id} was held, nothing applied",
        "failed": f"schoolsync: {what}the run failed, nothing applied",
        "new-issues": f"schoolsync: {what}run {run_id} found {sum(counts.values())} new issue(s)",
    }[kind]
    lines = [subject.removeprefix("schoolsync: ") + "."]
    if kind == "held":
        locks = [i for i in issues if i["code"].startswith("lock-")]
        lines.append(
            f"A safety lock held it ({', '.join(sorted({i['code'] for i in locks})) or 'a lock'})"
            f". Check the export; if the change is real, approve it: schoolsync runs approve "
            f"{run_id}, or in the web interface."
        )
    if kind == "failed":
        # Never the error's own text: a sentence about a damaged file may quote a line of it.
        why = report.get("error") or "an error"
        lines.append(f"It stopped on {why} before anything was applied. See why with: "
                     f"schoolsync runs (the failed run), or in the service's log.")  # fmt: skip
    lines.append(
        f"Changes: {changes:,}. Issues: "
        + (", ".join(f"{n} {s}" for s, n in sorted(severities.items())) or "none")
        + "."
    )
    if counts:
        label = "New issues by code" if kind == "new-issues" else "Issues by code"
        lines.append(f"{label}: " + ", ".join(f"{c} {n}" for c, n in sorted(counts.items())) + ".")
    return Notice(
        kind,
        subject,
        tuple(lines),
        run_id,
        run_link(settings, run_id),
        {"status": status, "job": job, "codes": dict(counts)},
    )


def read_secret(env: str | None, file: str | None, what: str) -> str | None:
    """A secret from the environment variable or the file a setting names (None: neither is
    set). The message of a failure names where it was looked for, never the secret."""
    if env:
        value = os.environ.get(env, "").strip()
        if not value:
            raise ConfigError(
                f"The environment variable {env} ({what}_env) is not set or empty.",
                "Set it before schoolsync starts.",
            )
        return value
    if file:
        try:
            value = Path(file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"The file {file} ({what}_file) cannot be read "
                f"({getattr(exc, 'strerror', None) or type(exc).__name__}).",
                "Check the path and that schoolsync may read it.",
            ) from exc
        if not value:
            raise ConfigError(f"The file {file} ({what}_file) is empty.")
        return value
    return None


def email_ready(email: EmailSettings) -> bool:
    return bool(email.host and email.recipients)


def send_email(email: EmailSettings, notice: Notice, recipients: Sequence[str] = ()) -> None:
    """Send the notice by SMTP: STARTTLS on a plain port (refused when the server offers none,
    unless ``starttls = false``), implicit TLS on 465.

    Raises:
        NotifyError: When the server cannot be reached or refuses the message.
    """
    to = list(recipients or email.recipients)
    msg = EmailMessage()
    msg["Subject"] = notice.subject
    msg["From"] = email.sender or f"schoolsync@{email.host}"
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=(email.sender or "schoolsync@localhost").split("@")[-1])
    msg.set_content(notice.text())
    password = read_secret(email.password_env, email.password_file, "[notify.email] password")
    if email.username and password is None:
        raise ConfigError(
            "[notify.email] has a username but neither password_env nor password_file.",
            "Set where the password is read from, or remove the username.",
        )
    if email.username and not email.starttls and email.port != 465:
        raise ConfigError(
            "[notify.email] would send its password unencrypted (starttls = false, port "
            f"{email.port}), so no e-mail was sent.",
            "Use STARTTLS or port 465; starttls = false only for a relay without a login.",
        )
    where = f"{email.host}:{email.port}"
    try:
        if email.port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                email.host or "",
                email.port,
                timeout=email.timeout_seconds,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(email.host or "", email.port, timeout=email.timeout_seconds)
        with smtp:
            smtp.ehlo()
            if email.starttls and email.port != 465:
                if not smtp.has_extn("starttls"):
                    raise NotifyError(
                        f"The mail server {where} offers no STARTTLS, so no e-mail was sent.",
                        "Use a server that does, or set [notify.email] starttls = false.",
                    )
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if email.username and password is not None:
                smtp.login(email.username, password)
            smtp.send_message(msg, to_addrs=to)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(
            f"The e-mail could not be sent through {where}: {type(exc).__name__}"
            f"{': ' + str(exc.args[0]) if exc.args and isinstance(exc.args[0], str) else ''}.",
            "Check [notify.email] host, port and credentials; schoolsync doctor --send-test "
            "tries again.",
        ) from exc


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: HMAC-SHA256 of ``<timestamp>.<body>``, hex."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def send_webhook(
    hook: WebhookSettings,
    notice: Notice,
    *,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = None,
) -> int:
    """POST the notice as signed JSON, retrying a network error or a 5xx/429 answer with
    backoff (1, 2, 4 … seconds, at most 60; a 429's ``Retry-After`` when it gives seconds),
    ``attempts`` in all, each with the same ``X-Schoolsync-Delivery`` id; returns the number of
    attempts.

    Raises:
        NotifyError: When every attempt failed, or the receiver refused it (4xx).
    """
    secret = read_secret(hook.secret_env, hook.secret_file, "[notify.webhook] secret")
    if secret is None:
        raise ConfigError(
            "[notify.webhook] has a url but neither secret_env nor secret_file: the receiver "
            "could not tell a notice from a forgery.",
            "Set a shared secret in both.",
        )
    body = json.dumps(notice.payload(), ensure_ascii=False, sort_keys=True).encode()
    delivery = uuid.uuid4().hex  # the same on every attempt: a receiver can drop a repeat
    last = ""
    with httpx.Client(timeout=hook.timeout_seconds, transport=transport) as client:
        for attempt in range(1, hook.attempts + 1):
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                TIMESTAMP: stamp,
                SIGNATURE: sign(secret, stamp, body),
                DELIVERY: delivery,
                "User-Agent": "schoolsync",
            }
            pause = min(60.0, 2.0 ** (attempt - 1))
            try:
                answer = client.post(hook.url or "", content=body, headers=headers)
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            else:
                if answer.is_success:
                    return attempt
                last = f"HTTP {answer.status_code}"
                if answer.status_code < 500 and answer.status_code != 429:
                    raise NotifyError(
                        f"The webhook {_origin(hook.url)} refused the notice ({last}).",
                        "Check the receiver's address and its shared secret.",
                    )
                asked = answer.headers.get("Retry-After", "")
                if asked.isdigit():
                    pause = min(60.0, float(asked))
            if attempt < hook.attempts:
                (sleep or time.sleep)(pause)
    raise NotifyError(
        f"The webhook {_origin(hook.url)} did not take the notice in {hook.attempts} attempt(s) "
        f"(last: {last}).",
        "Check that the receiver is up; the next notice is sent as usual.",
    )


def _origin(url: str | None) -> str:
    """A webhook address without its path or query (they may hold a token)."""
    try:
        parsed = httpx.URL(url or "")
    except httpx.InvalidURL:
        return "(an address that cannot be read)"
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}" + (f":{parsed.port}" if parsed.port else "")


def deliver(settings: NotifySettings, notice: Notice) -> list[str]:
    """Send a notice to every notifier set up; returns the failures' sentences (a notifier that
    fails does not stop the others)."""
    failures = []
    for ready, what, send in (
        (email_ready(settings.email), "The e-mail", lambda: send_email(settings.email, notice)),
        (bool(settings.webhook.url), "The webhook", lambda: send_webhook(settings.webhook, notice)),
    ):
        if not ready:
            continue
        try:
            send()
        except SchoolsyncError as exc:
            failures.append(str(exc))
        except Exception as exc:  # a notifier never hides the run's own outcome
            failures.append(f"{what} could not be sent ({type(exc).__name__}).")
    return failures


def previous_issues(store: Store, run_id: int | None) -> list[tuple[str, str]]:
    """(code, subject) of the issues of the last applied sync before ``run_id``: what a run's
    issues are new against."""
    r, i = t.runs.c, t.run_issues.c
    with store.connect() as conn:
        query = sa.select(r.id).where(r.kind == "sync", r.status == "applied")
        if run_id is not None:
            query = query.where(r.id < run_id)
        before = conn.execute(query.order_by(r.id.desc()).limit(1)).scalar()
        if before is None:
            return []
        return [(code, subject) for code, subject in
                conn.execute(sa.select(i.code, i.subject).where(i.run_id == before))]  # fmt: skip


def notify_run(
    store: Store, settings: NotifySettings, report: dict[str, Any], job: str = ""
) -> tuple[Notice | None, list[str]]:
    """Send what a run report calls for (nothing for a quiet run); returns the notice and the
    failures' sentences."""
    run_id = int(report["run_id"]) if report.get("run_id") else None
    try:
        before = previous_issues(store, run_id)
    except Exception:  # no directory yet (a first run that failed), or none readable
        before = []
    notice = notice_for(report, before, settings, job)
    if notice is None:
        return None, []
    return notice, deliver(settings, notice)
