"""Incident ids: failure signatures in the form used in URLs.

A signature is stored as standard base64 of a 32-byte SHA-256, whose ``/``
and ``+`` do not fit a path segment, so the API shows it as URL-safe base64
without padding and accepts either form (or hex).
"""

from service.pins.pins import PinError, normalize_pin, url_pin


def signature_id(signature: str) -> str:
    """Return the URL-safe id of a stored signature."""
    try:
        return url_pin(normalize_pin(signature))
    except PinError:
        return signature


def stored_forms(text: str) -> list[str]:
    """Return the stored signatures an id from a URL may stand for."""
    try:
        canonical = normalize_pin(text)
    except PinError:
        return [text]
    return list(dict.fromkeys([canonical, text]))
