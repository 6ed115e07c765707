"""Registry input that gets its own error code: hostnames, pin text, certificates."""

import re

from cryptography import x509

from service.core.errors import InvalidInput
from service.ingest.context import UNREGISTERED
from service.pins.certificates import CertificateError, load_pem_bundle
from service.pins.pins import PinError, normalize_pin

MAX_HOSTNAME_LENGTH = 253
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _invalid_hostname(text: str, reason: str) -> InvalidInput:
    return InvalidInput(
        f"hostname {text!r} is invalid: {reason}", code="invalid_hostname"
    )


def _ascii_hostname(text: str, name: str) -> str:
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise _invalid_hostname(
            text, "it is not a valid internationalised name"
        ) from exc


def normalize_hostname(text: str) -> str:
    """Return a hostname in lower case without a trailing dot, or raise InvalidInput.

    Names in Unicode are converted to their ASCII (punycode) form. Wildcards
    are rejected: a domain registered with ``include_subdomains`` covers them.
    """
    name = text.strip().lower().removesuffix(".")
    if not name:
        raise _invalid_hostname(text, "it is empty")
    if "*" in name:
        raise _invalid_hostname(
            text,
            "wildcards are not allowed; register the parent domain with "
            "include_subdomains instead",
        )
    name = _ascii_hostname(text, name)
    if name == UNREGISTERED:
        # Metrics and incidents use this name for hosts of no registered domain.
        raise _invalid_hostname(text, f"{UNREGISTERED!r} is a reserved name")
    if len(name) > MAX_HOSTNAME_LENGTH:
        raise _invalid_hostname(
            text, f"it is longer than {MAX_HOSTNAME_LENGTH} characters"
        )
    for label in name.split("."):
        if not _LABEL.fullmatch(label):
            raise _invalid_hostname(
                text,
                f"label {label!r} must be 1 to 63 letters, digits or inner hyphens",
            )
    return name


def canonical_pin(text: str, field: str = "pin") -> str:
    """Normalise pin text, or raise InvalidInput with code ``invalid_pin``."""
    try:
        return normalize_pin(text)
    except PinError as exc:
        raise InvalidInput(
            f"{field} is invalid: {exc}",
            code="invalid_pin",
            details=[{"field": field, "message": str(exc)}],
        ) from exc


def single_certificate(text: str) -> x509.Certificate:
    """Load exactly one certificate (PEM or base64 DER), or raise InvalidInput."""
    try:
        certificates = load_pem_bundle(text)
    except CertificateError as exc:
        raise InvalidInput(
            f"certificate is invalid: {exc}", code="invalid_certificate"
        ) from exc
    if len(certificates) != 1:
        raise InvalidInput(
            f"certificate is invalid: the text contains {len(certificates)} "
            "certificates; send only the certificate whose key is pinned",
            code="invalid_certificate",
        )
    return certificates[0]
