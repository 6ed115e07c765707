"""One native event, validated and converted to an ``IncomingEvent``."""

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding
from pydantic import ValidationError

from service.core.settings import Settings
from service.ingest.chains import ChainCertificate
from service.ingest.events import IncomingEvent
from service.ingest.native_models import CheckIn, EventIn, FailureIn
from service.pins.certificates import load_certificate, spki_pin
from service.pins.pins import PinError, normalize_pin

_MODELS: dict[str, type[FailureIn] | type[CheckIn]] = {
    "pin_failure": FailureIn,
    "pin_check": CheckIn,
}


class EventRejected(Exception):
    """An event that cannot be stored, with the code and message for the client."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validation_message(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error["loc"])
    return f"{field}: {error['msg']}" if field else error["msg"]


# Certificates by their text as sent, shared by the events of one request,
# because a batch usually repeats the same chain.
CertificateCache = dict[str, ChainCertificate]


@lru_cache(maxsize=4096)
def _canonical_pin(text: str) -> str:
    # Pin text is at most 200 characters, so the cache stays below 1 MB.
    return normalize_pin(text)


def _pin(text: str, field: str) -> str:
    try:
        return _canonical_pin(text)
    except PinError as exc:
        raise EventRejected("invalid_pin", f"{field}: {exc}") from exc


def _pins(texts: list[str], field: str) -> list[str]:
    """Return the canonical pins of a list, in order, once each."""
    try:
        return list(dict.fromkeys(map(_canonical_pin, texts)))
    except PinError:
        # Only now build the field names, to name the first invalid pin.
        for position, text in enumerate(texts):
            _pin(text, f"{field}[{position}]")
        raise


def _certificate(
    entry: str, settings: Settings, cache: CertificateCache
) -> ChainCertificate:
    cached = cache.get(entry)
    if cached is not None:
        return cached
    certificate = load_certificate(entry, settings.max_certificate_bytes)
    loaded = ChainCertificate(
        certificate.public_bytes(Encoding.DER), spki_pin(certificate)
    )
    cache[entry] = loaded
    return loaded


def _chain(
    entries: list[str], settings: Settings, cache: CertificateCache
) -> tuple[list[bytes], list[str]]:
    """Return the DER bytes and the distinct SPKI pins of a served chain."""
    limit = settings.max_chain_certificates
    if len(entries) > limit:
        raise EventRejected(
            "chain_too_long",
            f"served_chain has {len(entries)} certificates, over the limit of {limit}",
        )
    chain: list[bytes] = []
    pins: list[str] = []
    for position, entry in enumerate(entries):
        try:
            certificate = _certificate(entry, settings, cache)
        except (ValueError, UnsupportedAlgorithm) as exc:
            message = f"served_chain[{position}]: {exc}"
            raise EventRejected("invalid_certificate", message) from exc
        chain.append(certificate.der)
        if certificate.pin not in pins:
            pins.append(certificate.pin)
    return chain, pins


def _device_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.upper()).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise EventRejected("invalid_event", f"time: {exc}") from exc


def _common(event: EventIn) -> dict[str, Any]:
    return {
        "source": "native",
        "hostname": event.hostname,
        "event_id": event.id,
        "device_time_text": event.time,
        "device_time": _device_time(event.time),
        "known_pins": _pins(event.known_pins, "known_pins"),
        "pinset_expires": event.pinset_expires,
        "enforced": event.enforced,
    }


def _failure(
    event: FailureIn, settings: Settings, cache: CertificateCache
) -> IncomingEvent:
    chain, served_pins = _chain(event.served_chain, settings, cache)
    network = event.network.model_dump(exclude_none=True) if event.network else {}
    return IncomingEvent(
        type="pin_failure",
        port=event.port or None,
        noted_hostname=event.noted_hostname,
        served_chain=chain,
        served_pins=served_pins,
        action=event.action,
        result=event.result,
        network=network,
        **_common(event),
    )


def _check(event: CheckIn) -> IncomingEvent:
    matched = _pin(event.matched_pin, "matched_pin") if event.matched_pin else None
    return IncomingEvent(
        type="pin_check",
        served_pins=_pins(event.served_pins, "served_pins"),
        matched_pin=matched,
        count=event.count,
        **_common(event),
    )


def parse_event(
    raw: object, settings: Settings, cache: CertificateCache | None = None
) -> IncomingEvent:
    """Validate one raw event, raising ``EventRejected`` when it cannot be stored."""
    if not isinstance(raw, dict):
        raise EventRejected("invalid_event", "the event is not a JSON object")
    kind = raw.get("type")
    model = _MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise EventRejected(
            "unknown_event_type", "type must be pin_failure or pin_check"
        )

    try:
        event = model.model_validate(raw)
    except ValidationError as exc:
        raise EventRejected("invalid_event", _validation_message(exc)) from exc
    if isinstance(event, FailureIn):
        return _failure(event, settings, {} if cache is None else cache)
    return _check(event)
