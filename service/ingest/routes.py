"""Ingest endpoints: native events and reports of existing pinning libraries."""

from typing import Any

from fastapi import APIRouter, Request, Response

from service.core.errors import (
    STORAGE_ERRORS,
    PinwatchError,
    error_responses,
    storage_unavailable,
)
from service.core.requests import request_id_of
from service.ingest.accept import IngestResponse
from service.ingest.body import check_json_media_type, read_body
from service.ingest.keys import admit_key, require_key
from service.ingest.ratelimit import check_rate_limit, ingest_limiter
from service.ingest.schemas import EventsAccepted, ReportAccepted
from service.ingest.writer import IngestWriter

router = APIRouter(tags=["ingest"])

# Browsers and web views send reports cross-origin. A report carries an
# ingest key, which ships inside apps, and no cookies, so any origin may post
# one.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": (
        "Content-Type, Content-Encoding, Authorization, X-Pinwatch-Key"
    ),
    "Access-Control-Max-Age": "86400",
}

EVENTS_EXAMPLE: dict[str, Any] = {
    "app": {"bundle_id": "com.example.bank", "platform": "android", "version": "4.2.0"},
    "install_id": "3f0c2a4e-0d5b-4a59-9c1e-5b1f6e1d2a77",
    "events": [
        {
            "id": "6f9c1e0a-2b7d-4c3e-8a51-0e2f4d6b8c90",
            "type": "pin_check",
            "time": "2026-05-01T12:00:00Z",
            "hostname": "api.example.com",
            "matched_pin": "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "count": 12,
        }
    ],
}


# The two POST endpoints take no dependencies and return a ready response,
# because the application serves them directly (see service/core/direct.py).


async def _admit(request: Request) -> str:
    """Return the hash of the request's key once it is valid and within its rate."""
    key_id, key_hash = await admit_key(request, require_key(request))
    check_rate_limit(ingest_limiter(request.app), key_id)
    return key_hash


async def _submit(request: Request, key_hash: str, report: bool) -> IngestResponse:
    """Read the body and wait until the ingest writer has stored it."""
    state = request.app.state
    body = await read_body(request, state.settings)
    writer: IngestWriter = state.ingest_writer
    return await writer.submit(key_hash, body, report, request_id_of(request.scope))


def _accepted(
    accepted: IngestResponse, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        accepted.model_dump_json(),
        status_code=202,
        media_type="application/json",
        headers=headers,
    )


def _with_cors(error: PinwatchError) -> PinwatchError:
    """Add the CORS headers to an error of ``POST /v1/reports``.

    A browser hides a response without them, and with it the error and its
    Retry-After.
    """
    error.headers = {**CORS_HEADERS, **error.headers}
    return error


def _json_body(example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"example": example}},
        }
    }


@router.post(
    "/v1/events",
    status_code=202,
    response_model=EventsAccepted,
    responses=error_responses(400, 401, 403, 413, 415, 422, 429, 503),
    openapi_extra=_json_body(EVENTS_EXAMPLE),
)
async def post_events(request: Request) -> Response:
    """Receive pin failures and pin check summaries from an app install.

    The ingest key goes in the `X-Pinwatch-Key` header, as
    `Authorization: Bearer pwk_...`, or as the `key` query parameter. The body
    is JSON, optionally sent with `Content-Encoding: gzip`, holding `app`
    (`bundle_id`, `platform`, `version`, `build`), `install_id` (1 to 128
    characters), an optional `sdk` and up to `PINWATCH_MAX_EVENTS_PER_REQUEST`
    `events` (default 1000). An event is a
    `pin_failure` with its `served_chain` (PEM or base64 DER, leaf first), or
    a `pin_check` that counts `count` successful validations since the
    previous one. Without `app`, send the version as a top-level `version`.

    Each event `id` is stored once: a repeated id counts under `duplicates`.
    A bad event is listed under `rejected` with its index and a code, and
    does not stop the others. A `202` means the accepted events are committed.

    Each ingest key may send `PINWATCH_INGEST_RATE_PER_SECOND` requests a
    second (default 50) in bursts of up to `PINWATCH_INGEST_RATE_BURST`
    (default 200) to each server process. Past that the response is `429`
    with `Retry-After` in seconds.
    """
    key_hash = await _admit(request)
    check_json_media_type(request)
    return _accepted(await _submit(request, key_hash, report=False))


@router.post(
    "/v1/reports",
    status_code=202,
    response_model=ReportAccepted,
    responses=error_responses(400, 401, 403, 413, 415, 429, 503),
    openapi_extra=_json_body(
        {
            "app-bundle-id": "com.example.bank",
            "app-version": "4.2.0",
            "app-platform": "IOS",
            "app-vendor-id": "9A1F0C2E-5B7D-4E3C-8A51-0E2F4D6B8C90",
            "trustkit-version": "3.0.3",
            "hostname": "api.example.com",
            "port": 0,
            "validation-result": 1,
            "known-pins": ['pin-sha256="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'],
            "validated-certificate-chain": ["-----BEGIN CERTIFICATE-----..."],
        }
    ),
)
async def post_reports(request: Request) -> Response:
    """Receive a pin failure report from TrustKit (iOS, Android) or an RFC 7469 client.

    Pass the ingest key as `?key=pwk_...`, because TrustKit on iOS cannot add
    headers; the header forms of `POST /v1/events` work too. The format is
    detected from the body, and the report is stored as one pin failure.
    These clients carry no event id and send the same report again after each
    relaunch, so every report counts as an occurrence. Unique installs and
    incidents are counted apart from occurrences.

    A body that is JSON but no known report format is kept in quarantine,
    cut to a size limit, and gets `202` with `quarantined: 1`. Only a body that
    is not JSON gets `400`. Reports share the ingest key's rate limit with
    `POST /v1/events`. Every response allows any origin, errors included,
    except an unexpected `500`.
    """
    try:
        key_hash = await _admit(request)
        response = await _submit(request, key_hash, report=True)
    except PinwatchError as error:
        _with_cors(error)
        raise
    except STORAGE_ERRORS as exc:
        raise _with_cors(storage_unavailable(exc)) from exc
    return _accepted(response, CORS_HEADERS)


@router.options("/v1/reports", status_code=204, include_in_schema=False)
async def preflight_reports() -> Response:
    """Allow cross-origin report posts from any origin."""
    return Response(status_code=204, headers=CORS_HEADERS)


# The endpoints that the application serves ahead of FastAPI (service/core/direct.py).
DIRECT = {("POST", "/v1/events"): post_events, ("POST", "/v1/reports"): post_reports}
