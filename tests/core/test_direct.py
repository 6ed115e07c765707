"""Tests of endpoints served ahead of FastAPI's middleware and router."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.core.direct import DirectRoutes, Endpoint, ExceptionHandler
from service.core.errors import PinwatchError, Unauthorized


async def accepted(_request: Request) -> Response:
    return Response(status_code=202)


async def unauthorized(_request: Request) -> Response:
    raise Unauthorized("The ingest key is invalid.", code="invalid_key")


async def broken(_request: Request) -> Response:
    raise RuntimeError("endpoint bug")


def respond_with(status: int) -> Callable[[Request, Exception], Response]:
    def handle(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"handled": type(exc).__name__}, status_code=status)

    return handle


def direct_client(endpoint: Endpoint, raise_errors: bool = True) -> TestClient:
    async def pinwatch_errors(request: Request, exc: Exception) -> Response:
        return respond_with(400)(request, exc)

    handlers: dict[type, ExceptionHandler] = {
        PinwatchError: pinwatch_errors,
        Exception: respond_with(500),
    }
    routes = DirectRoutes({("POST", "/v1/events"): endpoint}, handlers)
    return TestClient(routes, raise_server_exceptions=raise_errors)


def test_serves_only_its_methods_and_paths() -> None:
    routes = DirectRoutes({("POST", "/v1/events"): accepted}, {})

    assert routes.serves({"type": "http", "method": "POST", "path": "/v1/events"})
    assert not routes.serves({"type": "http", "method": "GET", "path": "/v1/events"})
    assert not routes.serves({"type": "http", "method": "POST", "path": "/v1/events/"})
    assert not routes.serves({"type": "lifespan"})


def test_returns_the_endpoint_response() -> None:
    response = direct_client(accepted).post("/v1/events")

    assert response.status_code == 202


def test_error_gets_the_handler_of_its_closest_class() -> None:
    response = direct_client(unauthorized).post("/v1/events")

    assert response.status_code == 400
    assert response.json() == {"handled": "Unauthorized"}


def test_unexpected_error_responds_then_raises() -> None:
    with pytest.raises(RuntimeError, match="endpoint bug"):
        direct_client(broken).post("/v1/events")

    response = direct_client(broken, raise_errors=False).post("/v1/events")
    assert response.status_code == 500
    assert response.json() == {"handled": "RuntimeError"}


def test_handler_added_later_applies() -> None:
    handlers: dict[type, ExceptionHandler] = {}
    routes = DirectRoutes({("POST", "/v1/events"): unauthorized}, handlers)
    handlers[Unauthorized] = respond_with(401)

    response = TestClient(routes).post("/v1/events")

    assert response.status_code == 401
    assert response.json() == {"handled": "Unauthorized"}


def test_error_without_handler_propagates() -> None:
    routes = DirectRoutes({("POST", "/v1/events"): broken}, {})

    with pytest.raises(RuntimeError, match="endpoint bug"):
        TestClient(routes).post("/v1/events")


def test_ingest_error_has_envelope_and_request_id(client: TestClient) -> None:
    response = client.post("/v1/events", content=b"{}")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "missing_key"
    assert len(response.headers["x-request-id"]) == 32


def test_other_methods_of_ingest_paths_reach_the_router(client: TestClient) -> None:
    response = client.get("/v1/events")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert "x-request-id" in response.headers
