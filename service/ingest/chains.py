"""Certificate chains that clients report, read within the size limits."""

from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

from service.core.settings import Settings
from service.pins.certificates import load_certificate, spki_pin


@dataclass(frozen=True)
class ChainCertificate:
    """One readable certificate of a chain: its DER bytes and its SPKI pin."""

    der: bytes
    pin: str


def read_chain(entries: list[object], settings: Settings) -> list[ChainCertificate]:
    """Read the certificates of a reported chain, leaf first.

    Only the first ``max_chain_certificates`` entries are read. An entry that
    is not a string, not a readable certificate, or over
    ``max_certificate_bytes`` is skipped, so one bad entry costs only itself.
    """
    chain: list[ChainCertificate] = []
    for entry in entries[: settings.max_chain_certificates]:
        certificate = read_certificate(entry, settings.max_certificate_bytes)
        if certificate is not None:
            chain.append(certificate)
    return chain


def read_certificate(entry: object, max_bytes: int) -> ChainCertificate | None:
    """Read one PEM or base64 DER certificate, or return None if it is unreadable."""
    if not isinstance(entry, str):
        return None
    try:
        certificate = load_certificate(entry, max_bytes)
        pin = spki_pin(certificate)
    except (ValueError, UnsupportedAlgorithm):
        # ValueError covers CertificateError and keys cryptography cannot
        # decode; UnsupportedAlgorithm covers key types it does not know.
        return None
    return ChainCertificate(certificate.public_bytes(Encoding.DER), pin)
