"""Pin failure reports written byte for byte as TrustKit and RFC 7469 clients do.

The formats follow TrustKit for iOS (``TSKPinFailureReport``), TrustKit for
Android (``PinningFailureReport``) and the report of RFC 7469, section 3.
Key order is fixed here: NSJSONSerialization writes keys in an unspecified
order, and org.json on Android writes them in insertion order.
"""

import base64
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

PEM_HEADER = "-----BEGIN CERTIFICATE-----"
PEM_FOOTER = "-----END CERTIFICATE-----"
ASCII_DIGITS = "0123456789"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
DEVANAGARI_DIGITS = "०१२३४५६७८९"


def base64_lines(der: bytes, width: int) -> list[str]:
    """Return the base64 of ``der`` cut into lines of ``width`` characters."""
    text = base64.b64encode(der).decode("ascii")
    return [text[start : start + width] for start in range(0, len(text), width)]


def _der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(Encoding.DER)


def ios_pem(certificate: x509.Certificate) -> str:
    """Return PEM as TrustKit for iOS writes it: 64 columns, CRLF inside the body.

    NSData's 64-column base64 without a line-end option ends lines with CRLF
    and has no final line end. TrustKit adds the header and footer with LF.
    """
    body = "\r\n".join(base64_lines(_der(certificate), 64))
    return f"{PEM_HEADER}\n{body}\n{PEM_FOOTER}"


def android_pem(certificate: x509.Certificate) -> str:
    """Return PEM as TrustKit for Android writes it: 76 columns, LF after each line.

    Android's ``Base64.DEFAULT`` ends every line, the last one too, with LF.
    """
    body = "".join(line + "\n" for line in base64_lines(_der(certificate), 76))
    return f"{PEM_HEADER}\n{body}{PEM_FOOTER}\n"


def hpkp_pem(certificate: x509.Certificate) -> str:
    """Return PEM in the RFC 7468 layout (64 columns, LF) without a final LF."""
    body = "\n".join(base64_lines(_der(certificate), 64))
    return f"{PEM_HEADER}\n{body}\n{PEM_FOOTER}"


def pin_directives(pins: Sequence[str]) -> list[str]:
    """Return each canonical pin as the directive ``pin-sha256="<base64>"``."""
    return [f'pin-sha256="{pin}"' for pin in pins]


def local_digits(text: str, digits: str) -> str:
    """Write the ASCII digits of ``text`` with the ten digits of a locale."""
    if len(digits) != 10:
        raise ValueError(f"digits must list ten characters, not {len(digits)}")
    return text.translate(str.maketrans(ASCII_DIGITS, digits))


def _utc_text(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(value: dict[str, object], escape_slashes: bool) -> bytes:
    # Compact, with non-ASCII characters written as UTF-8, as both libraries do.
    # NSJSONSerialization and Android's org.json also write "/" as "\/".
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if escape_slashes:
        # "/" can only occur inside JSON strings, where "\/" is a valid escape.
        text = text.replace("/", "\\/")
    return text.encode("utf-8")


def ios_report(
    *,
    bundle_id: str,
    app_version: str,
    vendor_id: str,
    hostname: str,
    validated_chain: Sequence[x509.Certificate],
    known_pins: Sequence[str],
    time: datetime,
    noted_hostname: str | None = None,
    include_subdomains: bool = False,
    enforce_pinning: bool = True,
    validation_result: int = 1,
    pinset_expires: date | None = None,
    platform_version: str = "17.5.1",
    trustkit_version: str = "3.0.3",
) -> bytes:
    """Return the body TrustKit for iOS uploads after a pin validation failure.

    ``time`` is written in UTC; a naive ``time`` is taken as UTC already.
    """
    expires = pinset_expires.isoformat() if pinset_expires else None
    report: dict[str, object] = {
        "app-bundle-id": bundle_id,
        "app-version": app_version,
        "app-platform": "IOS",
        "app-platform-version": platform_version,
        "app-vendor-id": vendor_id,
        "trustkit-version": trustkit_version,
        "date-time": _utc_text(time),
        "hostname": hostname,
        "port": 0,
        "noted-hostname": noted_hostname or hostname,
        "include-subdomains": include_subdomains,
        "enforce-pinning": enforce_pinning,
        "validated-certificate-chain": [ios_pem(item) for item in validated_chain],
        "known-pins": pin_directives(known_pins),
        "validation-result": validation_result,
        "known-pins-expiration-date": expires,
    }
    return _json(report, escape_slashes=True)


def android_report(
    *,
    bundle_id: str,
    app_version: str,
    vendor_id: str,
    hostname: str,
    served_chain: Sequence[x509.Certificate],
    validated_chain: Sequence[x509.Certificate],
    known_pins: Sequence[str],
    local_time: datetime,
    digits: str = ASCII_DIGITS,
    noted_hostname: str | None = None,
    include_subdomains: bool = False,
    enforce_pinning: bool = True,
    validation_result: int = 1,
    trustkit_version: str = "1.1.5",
) -> bytes:
    """Return the body TrustKit for Android posts after a pin validation failure.

    ``date-time`` is the wall-clock time of ``local_time`` followed by ``Z``
    (Android's date formatter writes the Z literally) and uses ``digits``,
    the locale's digits, for example ``ARABIC_INDIC_DIGITS``.
    """
    stamp = local_time.strftime("%Y-%m-%dT%H:%M:%S")
    report: dict[str, object] = {
        "app-bundle-id": bundle_id,
        "app-version": app_version,
        "app-vendor-id": vendor_id,
        "app-platform": "ANDROID",
        "trustkit-version": trustkit_version,
        "hostname": hostname,
        "port": 0,
        "noted-hostname": noted_hostname or hostname,
        "include-subdomains": include_subdomains,
        "enforce-pinning": enforce_pinning,
        "validation-result": validation_result,
        "date-time": local_digits(stamp, digits) + "Z",
        "validated-certificate-chain": [android_pem(c) for c in validated_chain],
        "served-certificate-chain": [android_pem(c) for c in served_chain],
        "known-pins": pin_directives(known_pins),
    }
    return _json(report, escape_slashes=True)


def hpkp_report(
    *,
    hostname: str,
    served_chain: Sequence[x509.Certificate] | None,
    validated_chain: Sequence[x509.Certificate] | None,
    known_pins: Sequence[str] | None,
    time: datetime,
    effective_expiration: datetime | None = None,
    port: int = 443,
    noted_hostname: str | None = None,
    include_subdomains: bool = False,
) -> bytes:
    """Return an RFC 7469 pin validation failure report.

    A chain or pin list given as None is written as ``null``, as some
    clients do. Times are written in UTC.
    """
    expires = _utc_text(effective_expiration) if effective_expiration else None
    report: dict[str, object] = {
        "date-time": _utc_text(time),
        "hostname": hostname,
        "port": port,
        "effective-expiration-date": expires,
        "include-subdomains": include_subdomains,
        "noted-hostname": noted_hostname or hostname,
        "served-certificate-chain": _pem_list(served_chain),
        "validated-certificate-chain": _pem_list(validated_chain),
        "known-pins": pin_directives(known_pins) if known_pins is not None else None,
    }
    return _json(report, escape_slashes=False)


def _pem_list(chain: Sequence[x509.Certificate] | None) -> list[str] | None:
    return None if chain is None else [hpkp_pem(item) for item in chain]
