from collections.abc import Callable

import httpx
import pytest
from pydantic import BaseModel

from service import client as http_client
from service.client import (
    ClientError,
    open_client,
    parse_response,
    request_json,
    run_command,
)

Handler = Callable[[httpx.Request], httpx.Response]


def use_handler(monkeypatch: pytest.MonkeyPatch, handler: Handler) -> None:
    monkeypatch.setenv("PINWATCH_TOKEN", "pwt_example")
    monkeypatch.setattr(
        http_client, "default_transport", lambda: httpx.MockTransport(handler)
    )


def test_open_client_without_token_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    with pytest.raises(ClientError, match="PINWATCH_TOKEN is not set"):
        open_client(None)


def test_missing_token_names_needed_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINWATCH_TOKEN", raising=False)

    with pytest.raises(ClientError, match="--role admin"):
        open_client(None, role="admin")


def test_client_sends_bearer_token(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    use_handler(monkeypatch, handle)
    monkeypatch.delenv("PINWATCH_URL", raising=False)

    with open_client(None) as client:
        body = request_json(client, "GET", "/v1/apps")

    assert body == {"ok": True}
    assert seen[0].headers["Authorization"] == "Bearer pwt_example"
    assert str(seen[0].url) == "http://127.0.0.1:8000/v1/apps"


def test_url_comes_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={})

    use_handler(monkeypatch, handle)
    monkeypatch.setenv("PINWATCH_URL", "http://127.0.0.1:9000")

    with open_client(None) as client:
        request_json(client, "GET", "/healthz")
    with open_client("http://127.0.0.1:9100") as client:
        request_json(client, "GET", "/healthz")

    assert seen[0].url.port == 9000
    assert seen[1].url.port == 9100


def test_error_envelope_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = {
        "error": {
            "code": "invalid_pin",
            "message": "Pin 0 is invalid.",
            "details": [{"field": "pins.0", "message": "pin is empty"}],
        }
    }
    use_handler(monkeypatch, lambda request: httpx.Response(422, json=envelope))

    with open_client(None) as client, pytest.raises(ClientError) as caught:
        request_json(client, "POST", "/v1/domains/a/preflight", json={})

    assert str(caught.value) == (
        "HTTP 422 invalid_pin: Pin 0 is invalid. (pins.0: pin is empty)"
    )


def test_error_without_envelope_uses_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    use_handler(monkeypatch, lambda request: httpx.Response(502, text="<html>"))

    with open_client(None) as client, pytest.raises(ClientError) as caught:
        request_json(client, "GET", "/v1/apps")

    assert str(caught.value) == "HTTP 502 Bad Gateway"


def test_body_that_is_not_json_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    use_handler(monkeypatch, lambda request: httpx.Response(200, text="hello"))

    with open_client(None) as client, pytest.raises(ClientError, match="not JSON"):
        request_json(client, "GET", "/v1/apps")


def test_timeout_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def time_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    use_handler(monkeypatch, time_out)

    with open_client(None) as client, pytest.raises(ClientError, match="timed out"):
        request_json(client, "GET", "/v1/apps")


def test_run_command_prints_error_and_returns_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail() -> int:
        raise ClientError("something failed")

    status = run_command(fail)

    assert status == 2
    assert capsys.readouterr().err == "pinwatch: something failed\n"


class Greeting(BaseModel):
    text: str


def test_parse_response_returns_model() -> None:
    greeting = parse_response(Greeting, {"text": "hello"})

    assert greeting == Greeting(text="hello")


def test_parse_response_names_model_on_mismatch() -> None:
    with pytest.raises(ClientError) as caught:
        parse_response(Greeting, {"text": 1})

    assert str(caught.value) == (
        "the server response is not a valid Greeting: 1 invalid field"
    )
