"""``pinwatch pin FILE|TEXT``: print the canonical pin of a certificate or pin text."""

import argparse
from pathlib import Path
from typing import Any

from service.pins.certificates import CertificateError, load_pem_bundle, spki_pin
from service.pins.pins import PinError, display_pin, normalize_pin


def register(subparsers: Any) -> None:
    pin = subparsers.add_parser(
        "pin",
        help="print the SPKI pin of a certificate file, or normalise pin text",
    )
    pin.add_argument("value", help="a PEM or DER certificate file, or pin text")
    pin.set_defaults(handler=run_pin)


def pins_of_file(path: Path) -> list[tuple[str, str]]:
    """Return (pin, subject) for every certificate in a PEM or DER file."""
    data = path.read_bytes()
    if data[:1] == b"\x30":
        from service.pins.certificates import load_certificate

        certificates = [load_certificate(data)]
    else:
        certificates = load_pem_bundle(data.decode("ascii", errors="replace"))
    return [(spki_pin(cert), cert.subject.rfc4514_string()) for cert in certificates]


def run_pin(args: argparse.Namespace) -> int:
    path = Path(args.value)
    try:
        if path.is_file():
            for pin, subject in pins_of_file(path):
                print(f"{display_pin(pin)}  {subject}")
        else:
            print(display_pin(normalize_pin(args.value)))
    except (PinError, CertificateError) as exc:
        print(f"pinwatch: {exc}")
        return 2
    return 0
