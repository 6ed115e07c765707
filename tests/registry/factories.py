"""Factories that build registry state through the API, as clients do."""

import base64
from typing import Any

from fastapi.testclient import TestClient

APP_REF = "ios:com.example.bank"
HOSTNAME = "api.example.com"


def pin_of(byte: int) -> str:
    """Return a canonical pin whose 32 bytes all equal ``byte``."""
    return base64.b64encode(bytes([byte]) * 32).decode()


CURRENT_PIN = pin_of(1)
BACKUP_PIN = pin_of(2)


def register_app(
    client: TestClient, headers: dict[str, str], ref: str = APP_REF
) -> dict[str, Any]:
    platform, _, bundle_id = ref.partition(":")
    body = {"platform": platform, "bundle_id": bundle_id, "name": "Bank"}
    response = client.post("/v1/apps", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def register_domain(
    client: TestClient,
    headers: dict[str, str],
    hostname: str = HOSTNAME,
    **body: Any,
) -> dict[str, Any]:
    response = client.put(f"/v1/domains/{hostname}", json=body, headers=headers)
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def add_pin(
    client: TestClient,
    headers: dict[str, str],
    pin: str,
    role: str = "backup",
    hostname: str = HOSTNAME,
) -> dict[str, Any]:
    body = {"pin": pin, "role": role}
    response = client.post(f"/v1/domains/{hostname}/pins", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def register_rotation_domain(client: TestClient, headers: dict[str, str]) -> None:
    """Register the default domain with one current and one backup pin."""
    register_domain(client, headers)
    add_pin(client, headers, CURRENT_PIN, role="current")
    add_pin(client, headers, BACKUP_PIN, role="backup")


def put_release(
    client: TestClient,
    headers: dict[str, str],
    body: dict[str, Any],
    version: str = "4.2.0",
    ref: str = APP_REF,
) -> Any:
    return client.put(f"/v1/apps/{ref}/releases/{version}", json=body, headers=headers)


def warning_codes(body: dict[str, Any]) -> list[str]:
    return [warning["code"] for warning in body["warnings"]]
