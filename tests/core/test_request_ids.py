"""Request ids: a client's own id is kept when it is safe to log."""

import pytest
from fastapi.testclient import TestClient


def request_id(client: TestClient, sent: str) -> str:
    response = client.get("/healthz", headers={"X-Request-Id": sent})
    returned: str = response.headers["x-request-id"]
    return returned


def test_client_request_id_is_kept(client: TestClient) -> None:
    assert request_id(client, "trace-1234.abc_DEF") == "trace-1234.abc_DEF"


@pytest.mark.parametrize(
    "sent",
    [
        "has spaces",
        "x" * 65,
        "pwk_AbCdEf0123456789",
        "pwt_AbCdEf0123456789",
        "trace-pwk_AbCdEf0123456789",
    ],
)
def test_unsafe_request_id_is_replaced(client: TestClient, sent: str) -> None:
    returned = request_id(client, sent)

    assert returned != sent
    assert len(returned) == 32
