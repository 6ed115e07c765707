"""The HTTP calls a simulation makes: registry set-up, ingest and readiness."""

import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from service.client import ClientError, request_json
from service.pins.pins import url_pin

# TrustKit for Android streams its report; 1 KiB pieces make the request chunked.
_CHUNK_BYTES = 1024
# Ingest returns 429 past the per-key rate limit and 503 while the database is
# unavailable, both with Retry-After. A simulated app waits and sends again.
_RETRY_STATUSES = (429, 503)
_MAX_ATTEMPTS = 20
_MAX_RETRY_WAIT_SECONDS = 10.0


class SimulationError(ClientError):
    """A failed set-up step, or an ingest response the simulation cannot go on with."""


@dataclass(frozen=True)
class EventsResponse:
    """The counts that ``POST /v1/events`` returned for one batch."""

    accepted: int
    duplicates: int
    rejected: int


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), _CHUNK_BYTES):
        yield body[start : start + _CHUNK_BYTES]


def _retry_wait(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("Retry-After", "1"))
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), _MAX_RETRY_WAIT_SECONDS)


def _domain_path(hostname: str) -> str:
    return "/v1/domains/" + quote(hostname, safe="")


def _error(response: httpx.Response, action: str) -> SimulationError:
    try:
        error = response.json()["error"]
        detail = f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        detail = response.text[:200]
    return SimulationError(f"{action} failed with HTTP {response.status_code} {detail}")


class PinwatchApi:
    """Registry, ingest and readiness calls over one pooled ``httpx.Client``.

    Registry calls carry the API token. Ingest calls carry an app's ingest key
    instead: native batches in the ``X-Pinwatch-Key`` header, TrustKit reports
    in ``?key=``, because TrustKit cannot add headers. The client must not send
    a default ``Authorization`` header, which the ingest endpoints would read
    as the key.
    """

    def __init__(self, http: httpx.Client, token: str) -> None:
        self.http = http
        self._auth = {"Authorization": f"Bearer {token}"}

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SimulationError(f"{method} {path} failed: {exc}") from exc

    def _ingest(
        self, path: str, make_content: Callable[[], Any], **kwargs: Any
    ) -> httpx.Response:
        """Post to an ingest path, waiting out 429 and 503 for their Retry-After."""
        for _attempt in range(_MAX_ATTEMPTS - 1):
            response = self._send("POST", path, content=make_content(), **kwargs)
            if response.status_code not in _RETRY_STATUSES:
                return response
            time.sleep(_retry_wait(response))
        return self._send("POST", path, content=make_content(), **kwargs)

    def _admin(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return request_json(self.http, method, path, headers=self._auth, **kwargs)
        except ClientError as exc:
            raise SimulationError(f"{method} {path} failed: {exc}") from exc

    def ensure_app(self, platform: str, bundle_id: str, name: str) -> None:
        """Register an app unless it is registered already."""
        body = {"bundle_id": bundle_id, "platform": platform, "name": name}
        response = self._send("POST", "/v1/apps", json=body, headers=self._auth)
        if response.status_code != 409 and response.is_error:
            raise _error(response, f"registering app {platform}:{bundle_id}")

    def create_ingest_key(self, app_ref: str) -> str:
        created = self._admin("POST", f"/v1/apps/{app_ref}/keys")
        key: str = created["key"]
        return key

    def get_domain(self, hostname: str) -> dict[str, Any] | None:
        """Return the registered domain with its pins, or None when unknown."""
        response = self._send("GET", _domain_path(hostname), headers=self._auth)
        if response.status_code == 404:
            return None
        if response.is_error:
            raise _error(response, f"reading domain {hostname}")
        domain: dict[str, Any] = response.json()
        return domain

    def put_domain(
        self, hostname: str, owner_team: str, policy: dict[str, Any]
    ) -> None:
        body = {"include_subdomains": False, "owner_team": owner_team, "policy": policy}
        self._admin("PUT", _domain_path(hostname), json=body)

    def ensure_pin(
        self, hostname: str, pin: str, certificate_pem: str, role: str, label: str
    ) -> None:
        """Register a pin from its certificate, or set its role if it exists."""
        body = {"certificate": certificate_pem, "role": role, "label": label}
        path = _domain_path(hostname) + "/pins"
        response = self._send("POST", path, json=body, headers=self._auth)
        if response.status_code == 409:
            change = {"role": role, "label": label}
            self._admin("PATCH", f"{path}/{url_pin(pin)}", json=change)
        elif response.is_error:
            raise _error(response, f"registering the {role} pin of {hostname}")

    def declare_release(
        self, app_ref: str, version: str, pins: dict[str, list[str]]
    ) -> None:
        body = {"pins": pins, "pinset_expires": None}
        self._admin("PUT", f"/v1/apps/{app_ref}/releases/{version}", json=body)

    def readiness(self, hostname: str) -> dict[str, Any]:
        report: dict[str, Any] = self._admin(
            "GET", _domain_path(hostname) + "/readiness"
        )
        return report

    def send_events(
        self, key: str, batch: dict[str, Any], compress: bool
    ) -> EventsResponse:
        """Post one native batch, gzip-compressed if ``compress``; return its counts."""
        body = json.dumps(batch, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Pinwatch-Key": key}
        if compress:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        response = self._ingest("/v1/events", lambda: body, headers=headers)
        if response.status_code != 202:
            raise _error(response, "posting events")
        counts = response.json()
        return EventsResponse(
            accepted=counts["accepted"],
            duplicates=counts["duplicates"],
            rejected=len(counts["rejected"]),
        )

    def send_report(self, key: str, body: bytes, chunked: bool) -> None:
        """Post one TrustKit report as the library does, streamed when ``chunked``."""
        headers = {"Content-Type": "application/json"}
        response = self._ingest(
            "/v1/reports",
            lambda: _chunks(body) if chunked else body,
            params={"key": key},
            headers=headers,
        )
        if response.is_error:
            raise _error(response, "posting a report")
