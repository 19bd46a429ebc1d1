"""Signing in to the web interface: sessions, CSRF tokens, and login throttling.

- **Sessions** are Starlette's signed cookie (itsdangerous): ``HttpOnly``, ``SameSite=Lax``,
  ``Secure`` except when served on a loopback address over plain http. The cookie holds the user
  name, the user's session epoch (raised when the password changes or the user is disabled, which
  ends every older session), a CSRF token, and when the session began. It is signed again on every
  answer, so it lapses after ``IDLE_MINUTES`` without a request, and after ``MAX_HOURS`` in all.
- **CSRF:** every form carries the session's token (and htmx sends it as ``X-CSRF-Token``); a POST
  without the right one is refused with 403. Sign-in has its token too (login CSRF).
- **Throttling:** after ``ACCOUNT_FAILURES`` failed sign-ins to one account, or
  ``ADDRESS_FAILURES`` from one address, within ``WINDOW``, further tries are refused until the
  window has passed. Counted in the serving process (one ``serve`` process per directory is the
  documented set-up).
"""

from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from fastapi import Request

IDLE_MINUTES = 30
MAX_HOURS = 12
ACCOUNT_FAILURES = 5
ADDRESS_FAILURES = 20
WINDOW = 15 * 60  # seconds


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    session: dict[str, Any] = request.session
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(request: Request, presented: str | None) -> bool:
    """Whether a form's (or htmx header's) token is the session's."""
    token = request.session.get("csrf")
    given = presented or request.headers.get("x-csrf-token") or ""
    return isinstance(token, str) and hmac.compare_digest(token.encode(), given.encode())


def begin(request: Request, username: str, epoch: int, now: float) -> None:
    """Start a signed-in session (a new CSRF token, so one from before sign-in is worth
    nothing after it)."""
    language = request.session.get("lang")
    request.session.clear()
    request.session.update(user=username, epoch=epoch, began=now, csrf=secrets.token_urlsafe(32))
    if language:
        request.session["lang"] = language


def signed_in(request: Request, now: float) -> tuple[str, int] | None:
    """The session's user and epoch, unless it has run longer than ``MAX_HOURS`` (the idle
    lapse is the cookie's own age, checked by the signature)."""
    session = request.session
    user, epoch, began = session.get("user"), session.get("epoch"), session.get("began")
    if not isinstance(user, str) or not isinstance(epoch, int):
        return None
    if not isinstance(began, int | float):
        return None
    if now - began > MAX_HOURS * 3600:
        session.clear()
        return None
    return user, epoch


def end(request: Request) -> None:
    """Sign out: the session is emptied (the browser drops the cookie)."""
    request.session.clear()


class Throttle:
    """Failed sign-ins per account and per address, within a sliding window."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures[key]
        while times and now - times[0] >= WINDOW:
            times.popleft()
        return times

    def attempt(self, account: str, address: str) -> int:
        """Begin a sign-in to ``account`` from ``address``: the seconds until one may be tried
        (0: now, and the attempt is counted as failed until :meth:`succeeded` says otherwise,
        so parallel tries cannot slip past the limit while a password is being checked)."""
        now = self._clock()
        keys = ((f"a:{account.casefold()}", ACCOUNT_FAILURES), (f"i:{address}", ADDRESS_FAILURES))
        with self._lock:
            waits = []
            for key, limit in keys:
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(max(1, math.ceil(times[0] + WINDOW - now)))
            if waits:
                return max(waits)
            for key, _ in keys:
                self._failures[key].append(now)
            return 0

    def succeeded(self, account: str, address: str) -> None:
        """A right password: the account's failures are cleared, and this attempt is taken
        back from the address's count."""
        with self._lock:
            self._failures.pop(f"a:{account.casefold()}", None)
            times = self._failures.get(f"i:{address}")
            if times:
                times.pop()
