"""Hostile and malformed bodies get a precise 4xx, never a server error."""

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.core.errors import PinwatchError
from service.ingest.native import parse_native
from service.registry.models import Domain
from tests.certs import Chain
from tests.conftest import make_settings
from tests.ingest.payloads import check_event, events_body, failure_event

NUL = "a\x00b"
# Parsing never touches the database, so any URL will do.
PARSE_SETTINGS = make_settings("sqlite://")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
EVENT_FIELDS = [
    "id",
    "type",
    "time",
    "hostname",
    "port",
    "noted_hostname",
    "served_chain",
    "known_pins",
    "pinset_expires",
    "enforced",
    "action",
    "result",
    "network",
    "served_pins",
    "matched_pin",
    "count",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EVENT_FIELDS), json_values)
def test_any_field_value_is_handled(field: str, value: Any) -> None:
    body = events_body(check_event(), {**check_event(), field: value})

    batch = parse_native(body, PARSE_SETTINGS)

    assert len(batch.events) + len(batch.rejected) == 2


@settings(max_examples=300)
@given(json_values)
def test_any_document_is_parsed_or_rejected(document: Any) -> None:
    status = 202
    try:
        parse_native(document, PARSE_SETTINGS)
    except PinwatchError as exc:
        status = exc.status_code

    assert status in (202, 400, 413, 422)


def hostile_bodies(chain: Chain) -> list[dict[str, Any]]:
    body_with_nul_sdk = events_body(check_event())
    body_with_nul_sdk["sdk"] = NUL
    return [
        events_body(check_event(id=NUL)),
        events_body(check_event(hostname=NUL)),
        events_body(check_event(time=NUL)),
        events_body(check_event(matched_pin=NUL)),
        events_body(failure_event(chain, noted_hostname=NUL)),
        events_body(failure_event(chain, network={"type": NUL})),
        events_body(failure_event(chain, served_chain=[NUL])),
        events_body(check_event(), version=NUL),
        events_body(check_event(), install_id=NUL),
        events_body(check_event(), bundle_id=NUL),
        events_body(check_event(), platform=NUL),
        body_with_nul_sdk,
        events_body(check_event(count=2**70)),
        events_body(check_event(pinset_expires="9999-99-99")),
        events_body(failure_event(chain, time="0001-01-01T00:00:00+23:59")),
    ]


def test_hostile_events_get_4xx_or_202(
    client: TestClient, key: str, domain: Domain, chain: Chain
) -> None:
    for body in hostile_bodies(chain):
        response = client.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})

        assert response.status_code < 500, body


@pytest.mark.parametrize(
    "field",
    ["app-version", "app-vendor-id", "trustkit-version", "date-time", "hostname"],
)
def test_reports_with_nul_get_4xx_or_202(
    client: TestClient, key: str, domain: Domain, chain: Chain, field: str
) -> None:
    report = {
        "app-bundle-id": "com.example.bank",
        "app-platform": "ANDROID",
        "app-version": "1.0",
        "hostname": "api.example.com",
        "known-pins": [f'pin-sha256="{chain.leaf.pin}"'],
        "served-certificate-chain": chain.pems(),
        field: NUL,
    }

    response = client.post(
        "/v1/reports", params={"key": key}, content=orjson.dumps(report)
    )

    assert response.status_code < 500
