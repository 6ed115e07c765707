"""``pinwatch pin FILE|TEXT``: print the canonical pin of a certificate or pin text."""

import argparse
import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from service.pins.certificates import (
    CertificateError,
    load_certificate,
    load_pem_bundle,
    spki_pin,
)
from service.pins.pins import PinError, display_pin, normalize_pin

PEM_MARKER = "-----BEGIN CERTIFICATE-----"


def register(subparsers: Any) -> None:
    pin = subparsers.add_parser(
        "pin",
        help="print the SPKI pin of a certificate file, or normalise pin text",
    )
    pin.add_argument(
        "value", help="a PEM or DER certificate file, PEM text, or pin text"
    )
    pin.set_defaults(handler=run_pin)


def pins_of_file(path: Path) -> list[tuple[str, str]]:
    """Return (pin, subject) for every certificate in a PEM or DER file."""
    data = path.read_bytes()
    if data[:1] == b"\x30":
        return pins_of_certificates([load_certificate(data)])
    return pins_of_pem(data.decode("ascii", errors="replace"))


def pins_of_pem(text: str) -> list[tuple[str, str]]:
    return pins_of_certificates(load_pem_bundle(text))


def pins_of_certificates(
    certificates: list[x509.Certificate],
) -> list[tuple[str, str]]:
    return [(spki_pin(cert), cert.subject.rfc4514_string()) for cert in certificates]


def _is_file(value: str) -> bool:
    # A long PEM or pin text passed as an argument can be an invalid path
    # (a name over the length limit), which is not a file either.
    try:
        return Path(value).is_file()
    except (OSError, ValueError):
        return False


def _print_certificate_pins(pins: list[tuple[str, str]]) -> None:
    for pin, subject in pins:
        print(f"{display_pin(pin)}  {subject}")


def _normalize_argument(value: str) -> str:
    try:
        return normalize_pin(value)
    except PinError as exc:
        raise PinError(
            f"{value!r} is not a file, and not valid pin text: {exc}"
        ) from exc


def run_pin(args: argparse.Namespace) -> int:
    value: str = args.value
    try:
        if _is_file(value):
            pins = pins_of_file(Path(value))
        elif PEM_MARKER in value:
            pins = pins_of_pem(value)
        else:
            print(display_pin(_normalize_argument(value)))
            return 0
    except OSError as exc:
        print(f"pinwatch: cannot read {value}: {exc.strerror}", file=sys.stderr)
        return 2
    except (PinError, CertificateError) as exc:
        print(f"pinwatch: {exc}", file=sys.stderr)
        return 2
    # Printing stays outside the try, so a closed stdout is not reported as a
    # file that cannot be read.
    _print_certificate_pins(pins)
    return 0
