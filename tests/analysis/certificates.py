"""Certificate helpers for failure analysis tests, beside ``tests.certs``."""

from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from service.analysis import chains
from service.pins.certificates import public_roots, spki_pin
from tests.certs import NOW, Issued, new_key


def public_root(common_name: str) -> x509.Certificate:
    """Return a real Mozilla root from certifi by its common name."""
    for root in public_roots().values():
        names = root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if names and names[0].value == common_name:
            return root
    raise LookupError(f"certifi ships no root named {common_name!r}")


def issue_with_name(subject: x509.Name, *, ca: bool = True) -> Issued:
    """Issue a self-signed certificate with an exact subject name.

    It copies a real root's name without its key, as a forged root would.
    """
    key = new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def trust_as_public(monkeypatch: pytest.MonkeyPatch, *roots: Issued) -> None:
    """Make generated roots count as Mozilla roots, beside the real ones.

    No test can hold the key of a real public root, so a chain issued by one
    is only possible with a generated root added to the list.
    """
    extended = dict(public_roots())
    extended.update({root.pin: root.certificate for root in roots})

    def extended_roots() -> dict[str, x509.Certificate]:
        return extended

    monkeypatch.setattr(chains, "public_roots", extended_roots)


def pins(*issued: Issued) -> list[str]:
    return [spki_pin(item.certificate) for item in issued]
