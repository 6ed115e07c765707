"""The native body of ``POST /v1/events``, validated into a ``NativeBatch``.

Problems with the request as a whole raise an error. A problem with one event
rejects only that event, with its index and a code, and the rest go on.
"""

from typing import Any

from pydantic import ValidationError

from service.core.errors import BadRequest, InvalidInput, PayloadTooLarge
from service.core.settings import Settings
from service.ingest.events import AppIdentity, NativeBatch, RejectedEvent
from service.ingest.native_events import CertificateCache, EventRejected, parse_event
from service.ingest.native_models import Envelope

# The field of the first validation error decides the error code.
_ENVELOPE_CODES = {
    "install_id": "invalid_install_id",
    "app": "invalid_app",
    "version": "invalid_version",
    "sdk": "invalid_sdk",
}


def _event_list(document: object, settings: Settings) -> list[Any]:
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list):
        raise BadRequest(
            "The body must be a JSON object with an events array.",
            code="missing_events",
        )
    if len(events) > settings.max_events_per_request:
        raise PayloadTooLarge(
            f"The body has {len(events)} events, over the limit of "
            f"{settings.max_events_per_request}: split it into smaller requests.",
            code="too_many_events",
        )
    return events


def _field(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"])


def _envelope(document: dict[str, Any]) -> Envelope:
    try:
        return Envelope.model_validate(document)
    except ValidationError as exc:
        errors = exc.errors()
        details = [{"field": _field(e), "message": e["msg"]} for e in errors]
        first = errors[0]
        raise InvalidInput(
            f"{_field(first)}: {first['msg']}.",
            code=_ENVELOPE_CODES.get(str(first["loc"][0]), "invalid_input"),
            details=details,
        ) from exc


def _app_identity(envelope: Envelope) -> AppIdentity:
    app = envelope.app
    version = (app.version if app else None) or envelope.version
    if not version:
        raise InvalidInput(
            "The app version is missing: send app.version.", code="missing_version"
        )
    if app is None:
        return AppIdentity(platform=None, bundle_id=None, version=version)
    platform = app.platform.lower() if app.platform else None
    return AppIdentity(platform, app.bundle_id, version, app.build)


def event_type_label(raw: object) -> str:
    """Return the ``type`` metric label of a raw event, ``unknown`` when invalid."""
    kind = raw.get("type") if isinstance(raw, dict) else None
    return kind if kind in ("pin_failure", "pin_check") else "unknown"


def rejected_type_labels(document: object, rejected: list[RejectedEvent]) -> list[str]:
    """Return the ``type`` label of each rejected event of a parsed body."""
    raw_events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(raw_events, list):
        return []
    return [event_type_label(raw_events[event.index]) for event in rejected]


def parse_native(document: object, settings: Settings) -> NativeBatch:
    """Validate a decoded ``POST /v1/events`` body.

    Raises ``missing_events`` (400), ``too_many_events`` (413), and
    ``missing_version`` or ``invalid_*`` (422) for the envelope fields.
    """
    raw_events = _event_list(document, settings)
    assert isinstance(document, dict)  # _event_list has raised for anything else
    envelope = _envelope(document)
    batch = NativeBatch(
        app=_app_identity(envelope),
        install_id=envelope.install_id,
        sdk=envelope.sdk,
        events=[],
        rejected=[],
    )

    certificates: CertificateCache = {}
    for index, raw in enumerate(raw_events):
        try:
            batch.events.append((index, parse_event(raw, settings, certificates)))
        except EventRejected as exc:
            batch.rejected.append(RejectedEvent(index, exc.code, exc.message))
    return batch
