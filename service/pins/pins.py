"""Pin text: one normaliser for every form a pin is written in.

A pin is the SHA-256 of a certificate's DER-encoded SubjectPublicKeyInfo. Its
canonical text is standard base64 with padding (44 characters); people see it
as ``sha256/<base64>``.
"""

import base64
import binascii
import re

PIN_BYTES = 32
PLACEHOLDER = base64.b64encode(bytes(PIN_BYTES)).decode()

_HEX = re.compile(r"^[0-9A-Fa-f]{64}$")
_HEX_WITH_COLONS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){31}$")
_HEX_DIGITS = re.compile(r"^[0-9A-Fa-f:]+$")
# HPKP names the algorithm in the directive: pin-sha256="...", and in old
# drafts pin-sha1="...".
_HPKP = re.compile(r'^pin-([a-z0-9]+)\s*=\s*"([^"]*)"$', re.IGNORECASE)
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
_REJECTED_ALGORITHMS = ("sha1", "md5", "sha384", "sha512", "sha224")
_OTHER_DIGEST_HEX_LENGTHS = (32, 40, 56, 96, 128)


class PinError(ValueError):
    """Pin text that cannot be read as a SHA-256 SPKI pin."""


def _unsupported_algorithm(algorithm: str) -> PinError:
    return PinError(
        f"{algorithm} pins are not supported: a pin is the SHA-256 of the "
        "SubjectPublicKeyInfo"
    )


def _strip_hpkp(text: str) -> str | None:
    match = _HPKP.match(text)
    if match is None:
        return None
    algorithm = match.group(1).lower()
    if algorithm != "sha256":
        raise _unsupported_algorithm(algorithm)
    return match.group(2).strip()


def _strip_prefix(text: str) -> str:
    hpkp_body = _strip_hpkp(text)
    if hpkp_body is not None:
        return hpkp_body
    lowered = text.lower()
    for algorithm in _REJECTED_ALGORITHMS:
        if lowered.startswith((algorithm + "/", algorithm + ":", algorithm + "=")):
            raise _unsupported_algorithm(algorithm)
    for prefix in ("sha256/", "sha256:", "sha-256:", "sha256="):
        if lowered.startswith(prefix):
            return text[len(prefix) :].strip()
    return text


def _decode_base64(text: str) -> bytes:
    if not _BASE64.match(text):
        raise PinError("pin text is neither base64 nor hex")
    if any(char in text for char in "+/") and any(char in text for char in "-_"):
        raise PinError(
            "pin text mixes the standard (+/) and URL-safe (-_) base64 alphabets"
        )
    padded = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PinError("pin text is not valid base64") from exc


def _wrong_length(size: int) -> PinError:
    if size == 20:
        return PinError(
            "pin is 20 bytes, a SHA-1 digest: a pin is the 32-byte SHA-256 of the "
            "SubjectPublicKeyInfo"
        )
    if size == 16:
        return PinError("pin is 16 bytes, an MD5 digest: pins are 32-byte SHA-256")
    return PinError(f"pin is {size} bytes; a SHA-256 pin is exactly 32 bytes")


def _looks_like_hex_digest(body: str) -> bool:
    """Tell a hex digest of another size from base64 that uses only hex letters.

    Colon-separated hex is never base64. Bare hex digits count as a digest
    only at the length of an MD5, SHA-1, SHA-224, SHA-384 or SHA-512 digest,
    none of which is the length of base64 for 32 bytes (43 or 44 characters).
    """
    if not _HEX_DIGITS.match(body):
        return False
    return ":" in body or len(body) in _OTHER_DIGEST_HEX_LENGTHS


def parse_pin(text: str) -> bytes:
    """Read any accepted pin form and return its 32 bytes.

    Accepted: ``sha256/<b64>``, ``pin-sha256="<b64>"``, bare standard or
    URL-safe base64 (padded or not), 64 hex digits in any case with or without
    ``:`` separators, and ``sha256:``/``SHA256:`` prefixes.
    """
    if not isinstance(text, str):
        raise PinError("pin must be a string")
    stripped = text.strip()
    if not stripped:
        raise PinError("pin is empty")
    if len(stripped) > 200:
        raise PinError("pin text is too long to be a pin")
    body = _strip_prefix(stripped)
    if not body:
        raise PinError(f"pin is empty after the prefix of {stripped!r}")
    if _HEX.match(body) or _HEX_WITH_COLONS.match(body):
        return bytes.fromhex(body.replace(":", ""))
    if _looks_like_hex_digest(body):
        raise _wrong_length(len(body.replace(":", "")) // 2)
    digest = _decode_base64(body)
    if len(digest) != PIN_BYTES:
        raise _wrong_length(len(digest))
    return digest


def pin_text(digest: bytes) -> str:
    """Return the canonical text of a pin: padded standard base64."""
    return base64.b64encode(digest).decode()


def normalize_pin(text: str) -> str:
    return pin_text(parse_pin(text))


def display_pin(canonical: str) -> str:
    return f"sha256/{canonical}"


def url_pin(canonical: str) -> str:
    """Return the URL-safe base64 form, for use in a path segment."""
    return base64.urlsafe_b64encode(base64.b64decode(canonical)).decode().rstrip("=")


def is_placeholder(canonical: str) -> bool:
    return canonical == PLACEHOLDER
