"""Certificates: load any PEM style or base64 DER, and compute SPKI pins."""

import base64
import binascii
import hashlib
import re
import warnings
from functools import lru_cache
from pathlib import Path

import certifi
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.utils import CryptographyDeprecationWarning

from service.pins.pins import pin_text

MAX_CERTIFICATE_BYTES = 64 * 1024

_PEM_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.DOTALL
)
_WHITESPACE = re.compile(r"\s+")


class CertificateError(ValueError):
    """Text or bytes that do not hold a readable X.509 certificate."""


def _decode_body(body: str) -> bytes:
    # PEM arrives with CRLF or LF line ends at 64 or 76 columns, and JSON
    # encoders may have written "/" as "\/". None of that belongs to the data.
    compact = _WHITESPACE.sub("", body).replace("\\/", "/").replace("\\n", "")
    compact = compact.replace("\\r", "")
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CertificateError("certificate is not valid base64") from exc


def certificate_der(
    value: str | bytes, max_bytes: int = MAX_CERTIFICATE_BYTES
) -> bytes:
    """Return the DER bytes of one certificate given as PEM, base64 DER or DER."""
    if isinstance(value, bytes):
        if value[:1] == b"\x30":
            der = value
        else:
            try:
                value = value.decode("ascii")
            except UnicodeDecodeError as exc:
                raise CertificateError("certificate is neither DER nor PEM") from exc
    if isinstance(value, str):
        if len(value) > max_bytes * 2:
            raise CertificateError(f"certificate text exceeds {max_bytes} bytes")
        match = _PEM_BLOCK.search(value)
        der = _decode_body(match.group(1) if match else value)
    if not der:
        raise CertificateError("certificate is empty")
    if len(der) > max_bytes:
        raise CertificateError(
            f"certificate is {len(der)} bytes, over the {max_bytes}-byte limit"
        )
    return der


def load_certificate(
    value: str | bytes, max_bytes: int = MAX_CERTIFICATE_BYTES
) -> x509.Certificate:
    der = certificate_der(value, max_bytes)
    try:
        # Real certificates, some public roots among them, break rules such as
        # the positive serial number of RFC 5280. cryptography warns about each
        # and announces a ValueError in a future release, which is handled
        # below, so the warning adds nothing that a caller can act on.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            certificate = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CertificateError(
            "certificate is not a valid X.509 DER structure"
        ) from exc
    _check_decodable(certificate)
    return certificate


UNDECODABLE = (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType)


def _check_decodable(certificate: x509.Certificate) -> None:
    """Raise ``CertificateError`` unless the names and extensions decode.

    cryptography decodes them only when they are first read. A name that is
    not valid UTF-8, for one, would otherwise fail much later, while a stored
    failure is analysed.
    """
    for part in ("subject", "issuer", "extensions"):
        try:
            getattr(certificate, part)
        except (
            ValueError,
            x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType,
        ) as exc:
            raise CertificateError(
                f"certificate {part} cannot be decoded: {exc}"
            ) from exc


def load_pem_bundle(text: str) -> list[x509.Certificate]:
    """Load every certificate of a PEM file (a chain or a bundle of roots)."""
    blocks = _PEM_BLOCK.findall(text)
    if not blocks:
        return [load_certificate(text)]
    return [
        load_certificate(f"-----BEGIN CERTIFICATE-----{block}-----END CERTIFICATE-----")
        for block in blocks
    ]


def spki_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


def spki_pin(certificate: x509.Certificate) -> str:
    """Return the canonical pin: SHA-256 of the DER SubjectPublicKeyInfo."""
    return pin_text(hashlib.sha256(spki_der(certificate)).digest())


def certificate_sha256(certificate: x509.Certificate) -> str:
    """Return the SHA-256 of the whole certificate, base64 (its fingerprint)."""
    return pin_text(hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest())


def public_key_sha256(certificate: x509.Certificate) -> str:
    """Return the SHA-256 of the raw key bits without the SPKI wrapper.

    Some tools print this by mistake, and it is not a valid pin. For RSA it
    hashes the PKCS#1 key, for EC the uncompressed point, for EdDSA the raw
    key. Other key types have no bare form, so the SPKI pin is returned.
    """
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        raw = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        raw = key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    else:
        raw = spki_der(certificate)
    return pin_text(hashlib.sha256(raw).digest())


@lru_cache(maxsize=1)
def public_root_certificates() -> tuple[x509.Certificate, ...]:
    """Return every Mozilla root certificate shipped by certifi."""
    text = Path(certifi.where()).read_text(encoding="ascii")
    return tuple(load_pem_bundle(text))


@lru_cache(maxsize=1)
def public_roots() -> dict[str, x509.Certificate]:
    """Return the Mozilla roots shipped by certifi, keyed by their SPKI pin.

    Roots that share a key (re-issued roots) appear once, under that key's pin.
    """
    return {spki_pin(root): root for root in public_root_certificates()}
