"""schemathesis against the REST API's own OpenAPI (issue 11): every route, with generated
parameters and the org-admin's token, answers as the document says (no 500, the documented
status codes and shapes)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from schoolsync.domain.settings import Settings
from schoolsync.store import access
from schoolsync.store.db import Store
from schoolsync.web.app import create_app
from tests.conftest import EXAMPLE_BUNDLE, TODAY, Directory


@pytest.fixture(scope="module")
def app_and_token(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'directory.db'}"
    assert Directory(url).sync(EXAMPLE_BUNDLE).status == "applied"
    store = Store(url)
    token = access.add_token(store, "schemathesis", "read-only", [])
    return create_app(store, Settings(), lambda: TODAY), token


def test_every_route_answers_as_its_openapi_says(app_and_token: tuple[object, str]) -> None:
    app, token = app_and_token
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    checked = []
    for found in schema.get_all_operations():
        operation = found.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        check()
        checked.append(operation.label)
    assert len(checked) >= 11  # every route of the document was exercised
