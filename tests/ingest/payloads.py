"""Builders of native event bodies and helpers to post them."""

import itertools
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.certs import Chain

_ids = itertools.count(1)

VERSION = "4.2.0"
INSTALL_ID = "install-0001"
# The device time of every event, close to the receive time, so that the
# classifier finds no clock skew.
DEVICE_TIME = datetime.now(UTC).replace(microsecond=0).isoformat()


def new_id() -> str:
    return f"event-{next(_ids):06d}"


def check_event(hostname: str = "api.example.com", **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": new_id(),
        "type": "pin_check",
        "time": DEVICE_TIME,
        "hostname": hostname,
        "count": 1,
    }
    event.update(fields)
    return event


def failure_event(
    chain: Chain, hostname: str = "api.example.com", **fields: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "id": new_id(),
        "type": "pin_failure",
        "time": DEVICE_TIME,
        "hostname": hostname,
        "port": 443,
        "served_chain": chain.pems(),
        "result": "pin_mismatch",
        "action": "blocked",
    }
    event.update(fields)
    return event


def events_body(
    *events: Any,
    version: str = VERSION,
    install_id: str = INSTALL_ID,
    platform: str = "android",
    bundle_id: str = "com.example.bank",
) -> dict[str, Any]:
    return {
        "app": {"bundle_id": bundle_id, "platform": platform, "version": version},
        "install_id": install_id,
        "sdk": "pinwatch-android 1.0.0",
        "events": list(events),
    }


def post_events(client: TestClient, key: str, body: Any) -> Response:
    return client.post("/v1/events", json=body, headers={"X-Pinwatch-Key": key})


def error_code(response: Response) -> str:
    code: str = response.json()["error"]["code"]
    return code
