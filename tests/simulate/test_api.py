import httpx
import pytest
from fastapi.testclient import TestClient

from service.simulate.api import PinwatchApi, SimulationError

BATCH = {
    "app": {"bundle_id": "com.example.bank", "platform": "ios", "version": "1.0"},
    "install_id": "install-1",
    "events": [],
}


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def test_unknown_ingest_key_raises_with_error_code(
    client: TestClient, admin_token: str
) -> None:
    api = PinwatchApi(client, admin_token)

    with pytest.raises(SimulationError, match="HTTP 401 invalid_key"):
        api.send_events("pwk_unknown", BATCH, compress=False)


def test_key_for_unknown_app_fails(client: TestClient, admin_token: str) -> None:
    api = PinwatchApi(client, admin_token)

    with pytest.raises(SimulationError, match="app_not_found"):
        api.create_ingest_key("ios:com.example.missing")


def test_unknown_domain_reads_as_none(client: TestClient, admin_token: str) -> None:
    api = PinwatchApi(client, admin_token)

    assert api.get_domain("api.example.com") is None


def test_unreachable_server_raises_simulation_error() -> None:
    transport = httpx.MockTransport(refuse_connection)
    with httpx.Client(base_url="http://127.0.0.1:9", transport=transport) as http:
        api = PinwatchApi(http, "pwt_example")

        with pytest.raises(SimulationError, match="connection refused"):
            api.get_domain("api.example.com")


def test_error_without_envelope_shows_the_body() -> None:
    transport = httpx.MockTransport(lambda _request: httpx.Response(502, text="bad"))
    with httpx.Client(base_url="http://127.0.0.1:9", transport=transport) as http:
        api = PinwatchApi(http, "pwt_example")

        with pytest.raises(SimulationError, match="HTTP 502 bad"):
            api.send_report("pwk_example", b"{}", chunked=False)
