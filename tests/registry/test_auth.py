"""Every API route enforces its role; the walk covers routes added later too."""

import re
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from service.app import create_app
from service.core.db import utcnow
from service.registry.auth import require_admin
from service.registry.models import ApiToken
from tests.conftest import make_settings
from tests.ingest.payloads import error_code

# Routes that authenticate with an ingest key, or with nothing at all.
NOT_TOKEN_ROUTES = {
    ("POST", "/v1/events"),
    ("POST", "/v1/reports"),
    ("OPTIONS", "/v1/reports"),
}
# Routes that change the registry, which a reader must never reach.
CONTRACT_ADMIN_ROUTES = {
    ("POST", "/v1/apps"),
    ("POST", "/v1/apps/{app}/keys"),
    ("DELETE", "/v1/apps/{app}/keys/{key_id}"),
    ("PUT", "/v1/apps/{app}/releases/{version}"),
    ("PUT", "/v1/domains/{hostname}"),
    ("POST", "/v1/domains/{hostname}/pins"),
    ("PATCH", "/v1/domains/{hostname}/pins/{pin:path}"),
}
CONTRACT_READER_ROUTES = {
    ("GET", "/v1/apps"),
    ("GET", "/v1/apps/{app}/releases"),
    ("GET", "/v1/domains"),
    ("GET", "/v1/domains/{hostname}"),
    ("GET", "/v1/domains/{hostname}/readiness"),
    ("POST", "/v1/domains/{hostname}/preflight"),
    ("GET", "/v1/domains/{hostname}/failures"),
    ("GET", "/v1/failures/{signature}"),
    ("GET", "/v1/apps/{app}/keys"),
    ("GET", "/v1/audit"),
}
PATH_VALUES = {
    "app": "android:com.example.bank",
    "hostname": "api.example.com",
    "version": "4.2.0",
    "key_id": "key_000000000000",
    "pin": "00" * 32,
}
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")

Endpoint = tuple[str, str]


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Yield every API route, also those of included routers.

    Since FastAPI 0.137 ``include_router`` adds one entry that keeps the
    included router as ``original_router`` instead of copying its routes.
    """
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from api_routes(included.routes)


def dependency_calls(dependant: Any) -> Iterator[Any]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from dependency_calls(dependency)


def v1_endpoints(app: FastAPI) -> dict[Endpoint, APIRoute]:
    return {
        (method, route.path): route
        for route in api_routes(app.routes)
        for method in route.methods
        if route.path.startswith("/v1/")
    }


def admin_endpoints(app: FastAPI) -> set[Endpoint]:
    return {
        endpoint
        for endpoint, route in v1_endpoints(app).items()
        if require_admin in dependency_calls(route.dependant)
    }


def concrete_path(path: str) -> str:
    return _PARAMETER.sub(lambda match: PATH_VALUES.get(match[1], "x"), path)


def call(
    client: TestClient, endpoint: Endpoint, headers: dict[str, str] | None = None
) -> Any:
    method, path = endpoint
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, concrete_path(path), json=body, headers=headers)


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # Only the route table is read, so the database is never opened.
    return create_app(make_settings("sqlite://"))


def test_walk_finds_every_documented_route(app: FastAPI) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith("/v1/")
    }

    walked = {
        (method, re.sub(r":\w+\}", "}", path)) for method, path in v1_endpoints(app)
    }

    assert documented - walked == set()
    assert len(walked) >= 20


def test_contract_admin_routes_require_admin(app: FastAPI) -> None:
    missing = CONTRACT_ADMIN_ROUTES - admin_endpoints(app)

    assert missing == set()


def test_contract_reader_routes_accept_reader(app: FastAPI) -> None:
    admin_only = CONTRACT_READER_ROUTES & admin_endpoints(app)
    missing = CONTRACT_READER_ROUTES - set(v1_endpoints(app))

    assert admin_only == set()
    assert missing == set()


def test_routes_without_credentials_get_401(client: TestClient) -> None:
    endpoints = set(v1_endpoints(client.app)) - NOT_TOKEN_ROUTES

    statuses = {endpoint: call(client, endpoint).status_code for endpoint in endpoints}

    assert {e: s for e, s in statuses.items() if s != 401} == {}
    assert len(statuses) >= 17


def test_routes_without_credentials_name_missing_token(client: TestClient) -> None:
    endpoints = set(v1_endpoints(client.app)) - NOT_TOKEN_ROUTES

    codes = {error_code(call(client, endpoint)) for endpoint in endpoints}

    assert codes == {"missing_token"}


def test_routes_with_ingest_key_get_401(client: TestClient) -> None:
    endpoints = set(v1_endpoints(client.app)) - NOT_TOKEN_ROUTES
    headers = {"Authorization": "Bearer pwk_an-ingest-key-is-no-api-token"}

    statuses = {call(client, endpoint, headers).status_code for endpoint in endpoints}

    assert statuses == {401}


def test_admin_routes_reject_reader(client: TestClient, reader: dict[str, str]) -> None:
    endpoints = admin_endpoints(client.app)

    answers = {endpoint: call(client, endpoint, reader) for endpoint in endpoints}

    assert {e: a.status_code for e, a in answers.items() if a.status_code != 403} == {}
    assert {error_code(answer) for answer in answers.values()} == {"admin_required"}


def test_reader_routes_accept_reader(
    client: TestClient, reader: dict[str, str]
) -> None:
    answers = {e: call(client, e, reader) for e in CONTRACT_READER_ROUTES}

    refused = {
        e: a.status_code for e, a in answers.items() if a.status_code in (401, 403)
    }
    assert refused == {}


def test_revoked_token_gets_403(
    client: TestClient, db: Session, reader_token: str
) -> None:
    db.execute(update(ApiToken).values(revoked_at=utcnow()))
    db.commit()

    response = client.get(
        "/v1/apps", headers={"Authorization": f"Bearer {reader_token}"}
    )

    assert response.status_code == 403
    assert error_code(response) == "token_revoked"
