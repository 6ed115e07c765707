"""Pin failure reports from existing pinning libraries: TrustKit and RFC 7469.

The format is detected from the body. A TrustKit report (iOS or Android)
carries TrustKit's ``app-*`` and ``trustkit-*`` keys. An RFC 7469 (HPKP)
report, or one from a custom client that reuses its keys, has a hostname and
known pins or a certificate chain but no app keys. Either becomes one
``pin_failure`` event.
"""

from collections.abc import Iterator
from datetime import date

from service.core.settings import Settings
from service.ingest.chains import ChainCertificate, read_chain
from service.ingest.device_time import parse_date_part, parse_device_time
from service.ingest.events import (
    IncomingEvent,
    ParsedReport,
    Source,
    UnrecognisedReport,
)
from service.ingest.report_fields import (
    Report,
    ReportFormatError,
    bool_or_none,
    int_or_none,
    normalise_hostname,
    read_hostname,
    read_list,
    string_or_none,
)
from service.ingest.trustkit import (
    is_trustkit,
    read_app,
    read_install_id,
    read_sdk,
)
from service.pins.pins import PinError, normalize_pin

HPKP_KEYS = frozenset(
    {"known-pins", "served-certificate-chain", "validated-certificate-chain"}
)
EXPIRY_KEYS = ("known-pins-expiration-date", "effective-expiration-date")
# TrustKit's validation-result: 1 when no pin matched, 2 when the OS rejected
# the chain (often interception or a captive portal), other values are rare.
RESULTS = {1: "pin_mismatch", 2: "chain_untrusted"}

# A pinset contains a handful of pins, so the cap only bounds a hostile report.
MAX_KNOWN_PINS = 100
# The width of the column that keeps the device time as reported.
MAX_TIME_TEXT_LENGTH = 64
MAX_VALIDATION_RESULT = 2**31 - 1


def parse_report(body: object, settings: Settings) -> ParsedReport | UnrecognisedReport:
    """Recognise a TrustKit or RFC 7469 report and convert it to one pin failure.

    ``body`` is the decoded JSON value. Never raises: a value that is no known
    report comes back as an ``UnrecognisedReport`` whose reason names the
    problem.
    """
    if not isinstance(body, dict):
        kind = _json_type(body)
        return UnrecognisedReport(f"the report is a JSON {kind}, not an object")
    try:
        return _parse_object(body, settings)
    except ReportFormatError as exc:
        return UnrecognisedReport(str(exc))


def _parse_object(body: Report, settings: Settings) -> ParsedReport:
    hostname = read_hostname(body)
    source = _detect_source(body)
    app = read_app(body) if source == "trustkit" else None
    known_pins = read_known_pins(read_list(body, "known-pins"))
    chain = _served_chain(body, settings)

    event = _event(body, source, hostname, chain, known_pins)
    if source == "hpkp":
        return ParsedReport(app=None, install_id=None, sdk=None, event=event)
    return ParsedReport(app, read_install_id(body), read_sdk(body), event)


def _detect_source(body: Report) -> Source:
    if is_trustkit(body):
        return "trustkit"
    if HPKP_KEYS.isdisjoint(body):
        raise ReportFormatError(
            "the report has no known-pins and no certificate chain, so it is "
            "neither a TrustKit nor an RFC 7469 report"
        )
    return "hpkp"


def _served_chain(body: Report, settings: Settings) -> list[ChainCertificate]:
    """Read the served chain, or the validated one when no served one is readable.

    TrustKit for iOS sends only the validated chain, and other clients may send
    an empty or null served chain.
    """
    served = read_list(body, "served-certificate-chain")
    validated = read_list(body, "validated-certificate-chain")
    return read_chain(served, settings) or read_chain(validated, settings)


def read_known_pins(entries: list[object]) -> list[str]:
    """Return the canonical pins of a ``known-pins`` array, in order, once each.

    Entries are HPKP directives such as ``pin-sha256="<base64>"``, or any pin
    form that ``parse_pin`` reads. Other directives (``max-age=...``) and
    unreadable pins are dropped, because a client never resends a report and
    one bad pin must not cost the rest.
    """
    pins: list[str] = []
    for directive in _directives(entries):
        pin = _read_pin(directive)
        if pin is not None and pin not in pins:
            pins.append(pin)
        if len(pins) == MAX_KNOWN_PINS:
            break
    return pins


def _directives(entries: list[object]) -> Iterator[str]:
    # Some clients join a whole Public-Key-Pins header value into one entry.
    for entry in entries:
        if isinstance(entry, str):
            yield from entry.split(";")


def _read_pin(directive: str) -> str | None:
    # Quotes escaped once more than JSON needs (pin-sha256=\"...\") still count.
    try:
        return normalize_pin(directive.replace('\\"', '"'))
    except PinError:
        return None


def _event(
    body: Report,
    source: Source,
    hostname: str,
    chain: list[ChainCertificate],
    known_pins: list[str],
) -> IncomingEvent:
    validation_result = int_or_none(body, "validation-result", 0, MAX_VALIDATION_RESULT)
    time_text = string_or_none(body, "date-time", MAX_TIME_TEXT_LENGTH)
    return IncomingEvent(
        source=source,
        type="pin_failure",
        hostname=hostname,
        device_time_text=time_text,
        device_time=parse_device_time(time_text) if time_text else None,
        # TrustKit always sends port 0, which means unknown.
        port=int_or_none(body, "port", 1, 65535),
        noted_hostname=_noted_hostname(body),
        include_subdomains=bool_or_none(body, "include-subdomains"),
        served_chain=[certificate.der for certificate in chain],
        served_pins=[certificate.pin for certificate in chain],
        known_pins=known_pins,
        pinset_expires=_pinset_expiry(body),
        enforced=bool_or_none(body, "enforce-pinning"),
        result=_result(source, validation_result),
        validation_result=validation_result,
    )


def _noted_hostname(body: Report) -> str | None:
    value = body.get("noted-hostname")
    return normalise_hostname(value) if isinstance(value, str) else None


def _pinset_expiry(body: Report) -> date | None:
    for key in EXPIRY_KEYS:
        text = string_or_none(body, key, MAX_TIME_TEXT_LENGTH)
        expires = parse_date_part(text) if text else None
        if expires is not None:
            return expires
    return None


def _result(source: Source, validation_result: int | None) -> str:
    if validation_result is None:
        # RFC 7469 clients send a report only when pin validation failed.
        return "pin_mismatch" if source == "hpkp" else "other"
    return RESULTS.get(validation_result, "other")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return f"value of type {type(value).__name__}"
