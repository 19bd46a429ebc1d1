"""The SS 12000 API client against answers no well-behaved provider gives (issue 10): each stops
the read with a sentence naming the endpoint, never a traceback and never a partial read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

import httpx
import pytest

from schoolsync.domain.settings import ApiSettings
from schoolsync.errors import ConfigError
from schoolsync.sources.ss12000.api import ReadFailed, check_url, read_api

BASE = "https://sis.test/v2.0"
SECRET = "s3cret-for-the-client-tests"


def settings(**extra: object) -> ApiSettings:
    return ApiSettings(
        token_url="https://idp.test/token",
        client_id="c",
        client_secret_env="TEST_API_CLIENT_SECRET",
        max_attempts=3,
        **extra,  # type: ignore[arg-type]
    )


def read(handler: Callable[[httpx.Request], httpx.Response], tmp_path: Path) -> None:
    read_api(
        BASE,
        tmp_path / "bundle",
        settings(),
        date(2025, 10, 15),
        transport=httpx.MockTransport(handler),
        sleep=lambda _s: None,
    )


def token_or(page: Callable[[httpx.Request], httpx.Response]) -> Callable[..., httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            return httpx.Response(
                200, json={"access_token": "at-3f9c2e7d81b0", "token_type": "Bearer"}
            )
        return page(request)

    return handler


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_API_CLIENT_SECRET", SECRET)


def test_a_page_token_given_again_stops_the_read(tmp_path: Path) -> None:
    page = {"data": [{"id": "a"}], "pageToken": "again"}
    with pytest.raises(ReadFailed, match=r"/organisations do not end: page 2 names a page token"):
        read(token_or(lambda _r: httpx.Response(200, json=page)), tmp_path)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"<html>maintenance</html>", "is not an SS 12000 page"),
        (b'[{"id": "a"}]', "is not an SS 12000 page"),
        (b'{"data": [1, 2]}', "whose record 1 is not an object"),
        (b'{"data": {"id": "a"}}', "is not an SS 12000 page"),
    ],
)
def test_an_answer_without_the_standards_shape_stops_the_read(
    tmp_path: Path, body: bytes, why: str
) -> None:
    with pytest.raises(ReadFailed, match=why) as caught:
        read(token_or(lambda _r: httpx.Response(200, content=body)), tmp_path)
    assert "/organisations (page 1)" in caught.value.message


def test_a_refusal_names_the_endpoint_and_the_providers_message(tmp_path: Path) -> None:
    answer = {"code": "BadRequest", "message": "okänd parameter"}
    with pytest.raises(ReadFailed) as caught:
        read(token_or(lambda _r: httpx.Response(400, json=answer)), tmp_path)
    assert "/organisations (page 1) with 400 Bad Request: okänd parameter" in str(caught.value)


def test_a_token_answer_without_a_token_is_a_sentence(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>login</html>")

    with pytest.raises(ReadFailed, match="answered without an access token"):
        read(handler, tmp_path)


def test_retries_are_bounded_and_the_last_answer_is_named(tmp_path: Path) -> None:
    calls = []

    def page(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, json={"code": "Unavailable", "message": "underhåll"})

    with pytest.raises(ReadFailed) as caught:
        read(token_or(page), tmp_path)
    assert len(calls) == 3
    assert "failed 3 time(s); the last answer was: 503 Service Unavailable: underhåll" in str(
        caught.value
    )


def test_a_secret_the_provider_echoes_is_not_repeated(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_client", "error_description": f"bad secret {SECRET}"}
        return httpx.Response(401, content=json.dumps(body).encode())

    with pytest.raises(ReadFailed) as caught:
        read(handler, tmp_path)
    assert SECRET not in str(caught.value) and "bad secret ***" in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://sis.example.invalid/v2.0", "ftp://sis.test/v2.0", "https:///v2.0"]
)
def test_only_https_or_loopback_http_is_read(url: str) -> None:
    with pytest.raises(ConfigError):
        check_url(url)
    assert check_url("http://127.0.0.1:8080/v2.0/") == "http://127.0.0.1:8080/v2.0"
    assert check_url("http://[::1]/v2.0") == "http://[::1]/v2.0"


def test_the_token_is_kept_for_its_lifetime_and_renewed_before_it_ends() -> None:
    from schoolsync.sources.ss12000.api import ApiSession

    issued: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/token":
            issued.append(1)
            return httpx.Response(
                200, json={"access_token": f"at-{len(issued):012d}", "expires_in": "600"}
            )
        assert request.headers["Authorization"] == f"Bearer at-{len(issued):012d}"
        return httpx.Response(200, json={"data": [], "pageToken": None})

    now = [1000.0]
    session = ApiSession(
        BASE, settings(), SECRET, transport=httpx.MockTransport(handler), clock=lambda: now[0]
    )
    session.get("persons", [])
    now[0] += 500  # within its 600 s, a minute before its end
    session.get("persons", [])
    assert len(issued) == 1
    now[0] += 50  # less than a minute left: a new one first
    session.get("persons", [])
    assert len(issued) == 2
    session.close()
