"""Read the candidate pins of a preflight request from a chain or pin text."""

from service.core.errors import InvalidInput
from service.core.settings import Settings
from service.pins.certificates import CertificateError, load_certificate, spki_pin
from service.pins.pins import PinError, display_pin, is_placeholder, normalize_pin
from service.readiness.schemas import PreflightRequest


def candidate_pins(
    body: PreflightRequest, settings: Settings
) -> tuple[list[str], list[str]]:
    """Return the canonical pins of the candidate and warnings about them.

    Raises InvalidInput unless exactly one of ``chain`` and ``pins`` is given
    and every entry in it is readable.
    """
    if body.chain is not None and body.pins is not None:
        raise InvalidInput("Send either 'chain' or 'pins', not both.")
    if body.chain is not None:
        pins = _chain_pins(body.chain, settings)
    elif body.pins is not None:
        pins = _text_pins(body.pins)
    else:
        raise InvalidInput(
            "Missing candidate: send 'chain' (PEM certificates) or 'pins' (pin text)."
        )
    return pins, _warnings(pins)


def _chain_pins(chain: list[str], settings: Settings) -> list[str]:
    if not chain:
        raise InvalidInput("The chain is empty: send at least one certificate.")
    limit = settings.max_chain_certificates
    if len(chain) > limit:
        raise InvalidInput(
            f"The chain has {len(chain)} certificates; the maximum is {limit}."
        )
    return [_certificate_pin(index, text, settings) for index, text in enumerate(chain)]


def _certificate_pin(index: int, text: str, settings: Settings) -> str:
    try:
        certificate = load_certificate(text, settings.max_certificate_bytes)
    except CertificateError as exc:
        raise InvalidInput(
            f"Certificate {index} of the chain is invalid: {exc}.",
            code="invalid_certificate",
            details=[{"field": f"chain.{index}", "message": str(exc)}],
        ) from exc
    return spki_pin(certificate)


def _text_pins(texts: list[str]) -> list[str]:
    if not texts:
        raise InvalidInput("The pin list is empty: send at least one pin.")
    return [_text_pin(index, text) for index, text in enumerate(texts)]


def _text_pin(index: int, text: str) -> str:
    try:
        return normalize_pin(text)
    except PinError as exc:
        raise InvalidInput(
            f"Pin {index} is invalid: {exc}.",
            code="invalid_pin",
            details=[{"field": f"pins.{index}", "message": str(exc)}],
        ) from exc


def _warnings(pins: list[str]) -> list[str]:
    warnings = []
    seen: set[str] = set()
    for pin in pins:
        if is_placeholder(pin):
            warnings.append(
                f"{display_pin(pin)} is an all-zero placeholder and counts as nothing."
            )
        elif pin in seen:
            warnings.append(
                f"{display_pin(pin)} appears more than once; it counts once."
            )
        seen.add(pin)
    return warnings
